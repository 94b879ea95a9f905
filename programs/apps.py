from django.apps import AppConfig

from pairing_admin.mail.kinds import register_kinds
from programs import email_kinds
from programs.activity import register_verbs


class ProgramsConfig(AppConfig):
    name = "programs"
    verbose_name = "Programs and participants"

    def ready(self) -> None:
        from programs import emails
        from programs.models import ActivityEvent

        register_verbs(ActivityEvent.Verb)
        # Admins see programs' emails after the other apps' (mail.kinds). The
        # support request goes to our support desk: our wording only.
        register_kinds(
            email_kinds.EmailKind,
            order=30,
            variables=email_kinds.VARIABLES,
            defaults=email_kinds.DEFAULTS,
            required=email_kinds.REQUIRED,
            not_editable={email_kinds.EmailKind.SUPPORT_REQUEST},
        )
        emails.connect()
