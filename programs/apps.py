from django.apps import AppConfig

from programs.activity import register_verbs


class ProgramsConfig(AppConfig):
    name = "programs"
    verbose_name = "Programs and participants"

    def ready(self) -> None:
        from programs.models import ActivityEvent

        register_verbs(ActivityEvent.Verb)
