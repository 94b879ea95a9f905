from django.apps import AppConfig

from invitations.verbs import Verb
from programs.activity import register_verbs


class InvitationsConfig(AppConfig):
    name = "invitations"
    verbose_name = "Invitations and email"

    def ready(self) -> None:
        from anymail.signals import tracking

        from invitations.registration import registration_confirm_email
        from invitations.services import invite_new_mentees
        from invitations.webhooks import on_tracking
        from programs.hooks import register_participants_added, register_registration_requested

        register_verbs(Verb)
        # Provider events (bounces, complaints) arrive through anymail's signal.
        tracking.connect(on_tracking, dispatch_uid="invitations.webhooks.on_tracking")
        # An Evergreen program invites each mentee who registers or is imported.
        register_participants_added(invite_new_mentees)
        # A self-registration waits for its address to be confirmed by email.
        register_registration_requested(registration_confirm_email)
