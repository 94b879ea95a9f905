"""Reads of the outbox: a program's email log."""

from django.core.paginator import Page
from django.db import models
from django.db.models import Count, Exists, OuterRef, QuerySet

from pairing_admin.lib.pagination import IdPaginator
from pairing_admin.lib.search import words_filter
from pairing_admin.mail.models import OutboundEmail, Suppression

LOG_PAGE_SIZE = 50
SEARCH_COUNT_LIMIT = 1000  # a search's total is counted this far ("1,000+ emails")
Status = OutboundEmail.Status


def outbox_log(
    *, program: models.Model, status: str = "", kind: str = "", recipient: str = ""
) -> QuerySet[OutboundEmail]:
    """The program's emails, newest first, filtered; `suppressed_address` annotated.

    One query per page whatever its size (the pagination count is another).
    Each filter and the order have an index (outbox_log_*), so a page reads
    only its own rows.
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
    """How many of the program's emails are in each status (one query).

    COUNT(*), not COUNT(id): the (program, status, ...) index alone answers it,
    without reading the table's rows (100,000 emails: 3 ms against 300 ms).
    """
    counts = dict.fromkeys(Status.values, 0)
    rows = (
        OutboundEmail.objects.filter(program=program)
        .values_list("status")
        .annotate(n=Count("*"))
        .order_by()
    )
    counts.update(dict(rows))
    return counts


def outbox_log_page(
    *, program: models.Model, counts: dict[str, int], page_number, **filters: str
) -> Page:
    """One page of the email log. Filtered by status alone (or not at all), its total
    is already in `counts`; a kind is counted from an index, a search up to
    SEARCH_COUNT_LIMIT (`page.paginator.bounded` says when there are more)."""
    emails = outbox_log(program=program, **filters)
    total, limit = None, None
    if filters.get("recipient"):
        limit = SEARCH_COUNT_LIMIT
    elif not filters.get("kind"):
        status = filters.get("status")
        total = counts[status] if status else sum(counts.values())
    paginator = IdPaginator(emails, LOG_PAGE_SIZE, count=total, count_limit=limit)
    return paginator.get_page(page_number)
