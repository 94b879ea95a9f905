from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("invitations", "0010_waitlist_returned_email"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboundemail",
            name="claim",
            field=models.CharField(blank=True, db_default="", default="", max_length=32),
        ),
    ]
