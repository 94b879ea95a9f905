"""The participants list walks an index in its order (all, or one role)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('programs', '0017_activity_verbs_registered'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='participant',
            name='programs_pa_program_0b3491_idx',
        ),
        migrations.AddIndex(
            model_name='participant',
            index=models.Index(fields=['program', 'role', 'last_name', 'first_name', 'id'], name='participant_role_name_idx'),
        ),
        migrations.AddIndex(
            model_name='participant',
            index=models.Index(fields=['program', 'last_name', 'first_name', 'id'], name='participant_name_idx'),
        ),
    ]
