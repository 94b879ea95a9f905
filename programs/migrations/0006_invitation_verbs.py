# Activity verbs for invitations (sent, resent); choices only, no schema change.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("programs", "0005_match_weights"),
    ]

    operations = [
        migrations.AlterField(
            model_name="activityevent",
            name="verb",
            field=models.CharField(
                choices=[
                    ("pairing_on", "Turned on pairing"),
                    ("pairing_off", "Turned off pairing"),
                    ("step_done", "Marked a step done"),
                    ("step_undone", "Marked a step not done"),
                    ("integration_changed", "Changed an integration"),
                    ("support_request_sent", "Sent a support request"),
                    ("request_cancelled", "Cancelled a mentor request"),
                    ("paired_by_admin", "Paired a mentee with a mentor"),
                    ("match_weights_changed", "Changed the match weights"),
                    ("invitations_sent", "Sent invitations to pair"),
                    ("invitations_resent", "Resent invitations to pair"),
                ],
                max_length=40,
            ),
        ),
    ]
