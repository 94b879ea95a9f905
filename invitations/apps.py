from django.apps import AppConfig

from invitations.verbs import Verb
from programs.activity import register_verbs


class InvitationsConfig(AppConfig):
    name = "invitations"
    verbose_name = "Invitations"

    def ready(self) -> None:
        from invitations.services import invite_new_mentees
        from programs.hooks import register_participants_added

        register_verbs(Verb)
        # An Evergreen program invites each mentee who registers or is imported.
        register_participants_added(invite_new_mentees)
