"""The participants list walks an index in its order (all, or one role); the search
boxes over participants read a trigram index on PostgreSQL (programs.search_pg)."""

from django.db import migrations, models

from programs.search_pg import install, remove


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
        migrations.RunPython(install, remove),
    ]
