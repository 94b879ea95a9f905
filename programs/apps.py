from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate, pre_migrate

from pairing_admin.mail.branding import register_brands
from pairing_admin.mail.kinds import register_kinds
from programs import email_kinds
from programs.activity import register_verbs
from programs.participant_counts import COUNTED


def _drop_triggers(sender, using, **kwargs) -> None:
    COUNTED.before_migrate_sqlite(connections[using])


def _ensure_triggers(sender, using, **kwargs) -> None:
    COUNTED.ensure_sqlite(connections[using])


class ProgramsConfig(AppConfig):
    name = "programs"
    verbose_name = "Programs and participants"

    def ready(self) -> None:
        from programs import branding, emails
        from programs.models import ActivityEvent

        # SQLite refuses to rebuild a table a trigger names: off during a migrate.
        pre_migrate.connect(_drop_triggers, sender=self)
        post_migrate.connect(_ensure_triggers, sender=self)
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
        # Participants' emails carry their program's brand (mail.branding).
        register_brands(
            brand_of=branding.brand_of,
            sender_names=branding.sender_names,
            unbranded_kinds={email_kinds.EmailKind.SUPPORT_REQUEST},
        )
