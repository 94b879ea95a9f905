"""The participants list walks an index in its order (all, or one role); the search
boxes over participants read a trigram index on PostgreSQL (programs.search_pg); the
participants per role are counted as they change (programs.participant_counts)."""

import django.db.models.deletion
from django.db import migrations, models

from programs import participant_counts

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
        migrations.CreateModel(
            name='ParticipantCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('mentee', 'Mentee'), ('mentor', 'Mentor')], max_length=10)),
                ('n', models.IntegerField()),
                ('program', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='programs.program')),
            ],
            options={
                'indexes': [models.Index(fields=['program', 'role'], include=('n',), name='participant_count_idx')],
            },
        ),
        migrations.RunPython(participant_counts.COUNTED.install, participant_counts.COUNTED.remove),
    ]
