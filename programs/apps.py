from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "programs"
    verbose_name = "Programs and participants"

    def ready(self) -> None:
        from programs.activity import register_verbs
        from programs.models import ActivityEvent

        register_verbs(ActivityEvent.Verb)
