"""programs' side of the email layer: a resent email goes into the activity log."""

from pairing_admin.mail.signals import email_resent
from programs.models import ActivityEvent
from programs.services import activity_record

EMAIL_RESENT = ActivityEvent.Verb.EMAIL_RESENT


def record_email_resent(*, program, user, email, **kwargs) -> None:
    """Receives mail's email_resent, inside the transaction that re-queued the email."""
    activity_record(
        program=program,
        actor=user,
        verb=EMAIL_RESENT,
        detail=f"{email.get_kind_display()} to {email.to_email}",
    )


def connect() -> None:
    email_resent.connect(record_email_resent, dispatch_uid="programs.emails.record_email_resent")
