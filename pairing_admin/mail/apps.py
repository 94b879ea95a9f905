from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "pairing_admin.mail"
    label = "mail"
    verbose_name = "Email and personal links"

    def ready(self) -> None:
        from anymail.signals import tracking

        from pairing_admin.mail.webhooks import on_tracking

        # Provider events (bounces, complaints) arrive through anymail's signal.
        tracking.connect(on_tracking, dispatch_uid="pairing_admin.mail.webhooks.on_tracking")
