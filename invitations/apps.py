from django.apps import AppConfig

from invitations import email_kinds
from invitations.verbs import Verb
from pairing_admin.mail.kinds import register_kinds
from programs.activity import register_verbs


class InvitationsConfig(AppConfig):
    name = "invitations"
    verbose_name = "Invitations"

    def ready(self) -> None:
        from invitations.services import invite_new_mentees
        from programs.hooks import register_participants_added

        register_verbs(Verb)
        # Admins see the invitation first among every app's emails (mail.kinds).
        register_kinds(
            email_kinds.EmailKind,
            order=10,
            variables=email_kinds.VARIABLES,
            defaults=email_kinds.DEFAULTS,
            required=email_kinds.REQUIRED,
        )
        # An Evergreen program invites each mentee who registers or is imported.
        register_participants_added(invite_new_mentees)
