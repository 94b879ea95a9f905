from django.apps import AppConfig


class InvitationsConfig(AppConfig):
    name = "invitations"
    verbose_name = "Invitations and email"

    def ready(self) -> None:
        from anymail.signals import tracking

        from invitations.webhooks import on_tracking

        # Provider events (bounces, complaints) arrive through anymail's signal.
        tracking.connect(on_tracking, dispatch_uid="invitations.webhooks.on_tracking")
