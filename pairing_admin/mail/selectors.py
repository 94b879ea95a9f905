"""Reads of the outbox: a program's email log."""

from django.db import models
from django.db.models import Count, Exists, OuterRef, QuerySet

from pairing_admin.lib.search import words_filter
from pairing_admin.mail.models import OutboundEmail, Suppression

LOG_PAGE_SIZE = 50
Status = OutboundEmail.Status


def outbox_log(
    *, program: models.Model, status: str = "", kind: str = "", recipient: str = ""
) -> QuerySet[OutboundEmail]:
    """The program's emails, newest first, filtered; `suppressed_address` annotated.

    One query per page whatever its size (the pagination count is another).
    """
    emails = (
        OutboundEmail.objects.filter(program=program)
        .only(
            "id", "kind", "to_email", "to_name", "status", "attempts", "last_error",
            "created_at", "sent_at", "program_id",
        )
        .annotate(
            suppressed_address=Exists(Suppression.objects.filter(email=OuterRef("to_email")))
        )
        .order_by("-created_at", "-id")
    )  # fmt: skip
    if status:
        emails = emails.filter(status=status)
    if kind:
        emails = emails.filter(kind=kind)
    if recipient:
        emails = emails.filter(words_filter(recipient, ("to_email", "to_name")))
    return emails


def outbox_status_counts(*, program: models.Model) -> dict[str, int]:
    """How many of the program's emails are in each status (one query)."""
    counts = dict.fromkeys(Status.values, 0)
    rows = (
        OutboundEmail.objects.filter(program=program)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts.update(dict(rows))
    return counts
