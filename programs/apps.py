from django.apps import AppConfig

from programs.activity import register_verbs


class ProgramsConfig(AppConfig):
    name = "programs"
    verbose_name = "Programs and participants"

    def ready(self) -> None:
        from programs import emails
        from programs.hooks import register_registration_requested
        from programs.models import ActivityEvent
        from programs.registration_email import registration_confirm_email

        register_verbs(ActivityEvent.Verb)
        emails.connect()
        # A self-registration waits for its address to be confirmed by email.
        register_registration_requested(registration_confirm_email)
