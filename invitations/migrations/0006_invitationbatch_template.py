from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("invitations", "0005_invitation_batch_preparation"),
    ]

    operations = [
        migrations.AddField(
            model_name="invitationbatch",
            name="template",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
