"""Sending a support request: the stored request and its email, in one transaction."""

import re
import secrets

from django.db import IntegrityError, transaction

from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.text import one_line
from pairing_admin.mail.outbox import Draft, outbox_add
from programs import services
from programs.email_kinds import EmailKind
from programs.models import Program, SupportRequest

FORM_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


class AlreadySent(DomainError):
    """This form page was sent before, with other words: the new ones were not sent."""

    def __init__(self, earlier: SupportRequest) -> None:
        super().__init__(
            f"This form was already sent as “{earlier.subject}”, so your changes were not "
            "sent. Check them and click Send again to send them as a new request."
        )


def support_form_token() -> str:
    """A fresh one-time token for a support request form page (a hidden field)."""
    return secrets.token_urlsafe(24)


def clean_form_token(raw: str | None) -> str | None:
    """The posted token when it looks like ours, else None (the request is then not deduplicated)."""
    return raw if raw and FORM_TOKEN_RE.fullmatch(raw) else None


@transaction.atomic
def support_request_submit(
    *, program: Program, user, subject: str, message: str, form_token: str | None = None
) -> SupportRequest:
    """Store the request, log it, and queue the email to the organization's advisor.

    Raises DomainError (and writes nothing) when the organization has no
    address to send it to. Replies go straight to the admin (Reply-To).

    With the form's one-time token, a second submit of the same form page returns
    the request the first one wrote, with no second email. Two at once: the
    unique (program, form_token) constraint makes the later insert wait for the
    earlier transaction and then fail, and the later one reads the winner's row.
    The same page sent again with other words (back, edit, send) raises
    AlreadySent rather than dropping them silently.
    """

    def same_or_refuse(earlier: SupportRequest) -> SupportRequest:
        # Compared as support_request_create stores them.
        if (earlier.subject, earlier.message) != (one_line(subject), message.strip()):
            raise AlreadySent(earlier)
        return earlier

    if form_token:
        earlier = SupportRequest.objects.filter(program=program, form_token=form_token).first()
        if earlier is not None:
            return same_or_refuse(earlier)
        try:
            with transaction.atomic():  # a savepoint: the loser's activity line goes too
                request = services.support_request_create(
                    program=program, user=user, subject=subject, message=message
                )
                SupportRequest.objects.filter(pk=request.pk).update(form_token=form_token)
        except IntegrityError:
            return same_or_refuse(
                SupportRequest.objects.get(program=program, form_token=form_token)
            )
    else:
        request = services.support_request_create(
            program=program, user=user, subject=subject, message=message
        )
    admin_email = user.email or ""
    outbox_add(
        [
            Draft(
                kind=EmailKind.SUPPORT_REQUEST,
                key=f"support:{request.pk}",
                to_email=request.to_email,
                reply_to=admin_email,
                values={
                    "first_name": "",
                    "program_name": program.name,
                    "organization_name": program.organization.name,
                    "admin_name": user.get_full_name() or user.get_username(),
                    "admin_email": admin_email,
                    "request_subject": request.subject,
                    "message": request.message,
                },
            )
        ],
        program=program,
    )
    return request
