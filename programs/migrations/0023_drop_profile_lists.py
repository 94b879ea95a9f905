"""The profile lists and the fixed match weights now live in answers and match rules (0022)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("programs", "0022_questions_from_profiles")]

    operations = [
        migrations.RemoveField(model_name="participant", name="goals"),
        migrations.RemoveField(model_name="participant", name="interests"),
        migrations.RemoveField(model_name="participant", name="skills"),
        migrations.RemoveField(model_name="program", name="match_weights"),
    ]
