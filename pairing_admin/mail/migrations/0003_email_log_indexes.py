"""The email log's indexes: its pages read only their own rows (the new indexes are built
before the one they cover is dropped)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0002_kind_registered"),
        ("programs", "0017_activity_verbs_registered"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="outboundemail",
            index=models.Index(
                fields=["program", "created_at", "id"],
                include=("to_email", "to_name"),
                name="outbox_log_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="outboundemail",
            index=models.Index(
                fields=["program", "status", "created_at", "id"], name="outbox_log_status_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="outboundemail",
            index=models.Index(
                fields=["program", "kind", "created_at", "id"], name="outbox_log_kind_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="outboundemail",
            index=models.Index(
                fields=["program", "to_email", "created_at", "id"], name="outbox_recipient_idx"
            ),
        ),
        migrations.RemoveIndex(
            model_name="outboundemail",
            name="outbox_program_status_idx",
        ),
    ]
