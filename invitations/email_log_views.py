"""The email log: every email a program sent (or tried to), and Resend for failed ones."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse

from invitations import outbox
from invitations.models import EmailKind, OutboundEmail
from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.params import row_id, search_text
from programs.access import admin_view, program_for_admin


def _filters(data) -> dict[str, str]:
    status = data.get("status", "")
    kind = data.get("kind", "")
    return {
        "status": status if status in OutboundEmail.Status.values else "",
        "kind": kind if kind in EmailKind.values else "",
        "q": search_text(data.get("q")),
    }


def _log_url(program_id: int, filters: dict[str, str], page: str = "") -> str:
    query = {k: v for k, v in filters.items() if v}
    if row_id(page) not in (None, 1):
        query["page"] = page
    url = reverse("email_log:list", kwargs={"program_id": program_id})
    return f"{url}?{urlencode(query)}" if query else url


@admin_view
def email_log(request: HttpRequest, program_id: int) -> HttpResponse:
    program = program_for_admin(request.user, program_id)
    filters = _filters(request.GET)
    emails = outbox.outbox_log(
        program=program, status=filters["status"], kind=filters["kind"], recipient=filters["q"]
    )
    counts = outbox.outbox_status_counts(program=program)
    page = Paginator(emails, outbox.LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "program": program,
        "page": page,
        "filters": filters,
        "filter_query": urlencode({k: v for k, v in filters.items() if v}),
        "statuses": OutboundEmail.Status.choices,
        "kinds": EmailKind.choices,
        "status_counts": [(label, counts[value]) for value, label in OutboundEmail.Status.choices],
    }
    template = "invitations/email_log.html"
    if request.htmx and request.htmx.target == "email-log-results":
        template += "#results"
    return render(request, template, context)


@admin_view
def email_resend(request: HttpRequest, program_id: int, email_id: int) -> HttpResponse:
    program = program_for_admin(request.user, program_id)  # 404 before 405: reveal nothing
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    back = _log_url(program.pk, _filters(request.POST), request.POST.get("page", ""))
    try:
        row = outbox.outbox_resend(program=program, email_id=email_id, user=request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The email to {row.to_email} is queued to be sent again.")
    return redirect(back)
