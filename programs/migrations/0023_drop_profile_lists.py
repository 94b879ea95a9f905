"""The profile lists and the fixed match weights now live in answers and match rules (0022)."""

from importlib import import_module

from django.db import migrations


# The participants table is rebuilt on SQLite again: the same care as 0021.
_drop_sqlite_triggers = import_module("programs.migrations.0021_questions").drop_sqlite_triggers


class Migration(migrations.Migration):
    dependencies = [("programs", "0022_questions_from_profiles")]

    operations = [
        migrations.RunPython(_drop_sqlite_triggers, _drop_sqlite_triggers),
        migrations.RemoveField(model_name="participant", name="goals"),
        migrations.RemoveField(model_name="participant", name="interests"),
        migrations.RemoveField(model_name="participant", name="skills"),
        migrations.RemoveField(model_name="program", name="match_weights"),
    ]
