"""A program's emails: the email log (with Resend for failed ones) and the template editor."""

from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import TextChoices
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.htmx import render_page
from pairing_admin.lib.params import row_id, search_text
from pairing_admin.mail import email_templates as svc
from pairing_admin.mail import kinds as email_kinds
from pairing_admin.mail import outbox, selectors
from pairing_admin.mail.kinds import REQUIRED, VARIABLES
from pairing_admin.mail.models import OutboundEmail
from pairing_admin.mail.rendering import (
    BODY_MAX,
    SUBJECT_MAX,
    Template,
    TemplateError,
)
from programs.access import program_view
from programs.models import Participant, Program


def _filters(data) -> dict[str, str]:
    status = data.get("status", "")
    kind = data.get("kind", "")
    return {
        "status": status if status in OutboundEmail.Status.values else "",
        "kind": kind if kind in dict(email_kinds.choices()) else "",
        "q": search_text(data.get("q")),
    }


def _log_url(program_id: int, filters: dict[str, str], page: str = "") -> str:
    query = {k: v for k, v in filters.items() if v}
    if row_id(page) not in (None, 1):
        query["page"] = page
    url = reverse("email_log:list", kwargs={"program_id": program_id})
    return f"{url}?{urlencode(query)}" if query else url


@program_view(methods=("GET", "HEAD"))
def email_log(request: HttpRequest, program: Program) -> HttpResponse:
    filters = _filters(request.GET)
    counts = selectors.outbox_status_counts(program=program)
    page = selectors.outbox_log_page(
        program=program,
        counts=counts,
        page_number=request.GET.get("page"),
        status=filters["status"],
        kind=filters["kind"],
        recipient=filters["q"],
    )
    context = {
        "program": program,
        "page": page,
        "filters": filters,
        "filter_query": urlencode({k: v for k, v in filters.items() if v}),
        "statuses": OutboundEmail.Status.choices,
        "kinds": email_kinds.choices(),
        "status_counts": [(label, counts[value]) for value, label in OutboundEmail.Status.choices],
    }
    return render_page(
        request, "programs/email_log.html", context, partials={"email-log-results": "results"}
    )


@program_view(methods=("POST",))
def email_resend(request: HttpRequest, program: Program, email_id: int) -> HttpResponse:
    back = _log_url(program.pk, _filters(request.POST), request.POST.get("page", ""))
    try:
        row = outbox.outbox_resend(program=program, email_id=email_id, user=request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The email to {row.to_email} is queued to be sent again.")
    return redirect(back)


# --- The template editor ------------------------------------------------------------


def _kind(program: Program, kind: str) -> TextChoices:
    if kind not in svc.EDITABLE_KINDS:
        raise Http404("No such email")
    return email_kinds.get(kind)  # the registered kind: its value and label


@program_view(methods=("GET", "HEAD"))
def email_template_list(request: HttpRequest, program: Program) -> HttpResponse:
    return render(
        request,
        "programs/email_template_list.html",
        {"program": program, "rows": svc.email_template_overview(program)},
    )


@program_view(methods=("GET", "POST"), load=_kind)
def email_template_edit(request: HttpRequest, program: Program, kind: TextChoices) -> HttpResponse:
    current = svc.template_for(program, kind)
    participant = None
    participant_id = row_id(request.GET.get("participant") or request.POST.get("participant"))
    if participant_id is not None:
        # Only a participant of this program: never another organization's data.
        participant = Participant.objects.filter(program=program, pk=participant_id).first()
    error = ""
    template = current
    if request.method == "POST":
        template = Template(
            subject=request.POST.get("subject", ""),
            text=request.POST.get("body_text", "").replace("\r\n", "\n"),
            html=request.POST.get("body_html", "").replace("\r\n", "\n"),
        )
        if request.POST.get("action") == "save":
            try:
                svc.email_template_save(
                    program=program, kind=kind, template=template, user=request.user
                )
            except TemplateError as exc:
                error = str(exc)
            else:
                messages.success(request, f"“{kind.label}” email saved.")
                return redirect("email_templates:edit", program_id=program.pk, kind=kind.value)
    preview = None
    if not error:
        try:
            preview = svc.template_preview(
                program=program, kind=kind, template=template, participant=participant
            )
        except TemplateError as exc:
            error = str(exc)
    context = {
        "program": program,
        "kind": kind,
        "template": template,
        "variables": VARIABLES[kind].items(),
        "required": REQUIRED.get(kind, ()),
        "subject_max": SUBJECT_MAX,
        "body_max": BODY_MAX,
        "error": error,
        "preview": preview,
        "participant": participant,
        # The first 100 by name: the participants list's own order and index.
        "participants": Participant.objects.filter(program=program)
        .order_by("last_name", "first_name", "id")
        .only("first_name", "last_name", "role")[:100],
        "is_custom": program.email_templates.filter(kind=kind).exists(),
    }
    return render(
        request, "programs/email_template_edit.html", context, status=400 if error else 200
    )


@program_view(methods=("POST",), load=_kind)
def email_template_reset(request: HttpRequest, program: Program, kind: TextChoices) -> HttpResponse:
    svc.email_template_reset(program=program, kind=kind)
    messages.success(request, f"“{kind.label}” email reset to the default.")
    return redirect("email_templates:edit", program_id=program.pk, kind=kind.value)
