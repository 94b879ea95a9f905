"""Invite all Mentees, Invite to Pair, bulk invite and resend: prompt -> Send Emails -> progress.

Every prompt is a plain page (GET changes nothing), so it works without
JavaScript. Send Emails posts the count the prompt showed; if the count has
changed meanwhile the prompt is shown again with the new number.
"""

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from invitations import selectors, services
from invitations.email_kinds import EmailKind
from invitations.models import InvitationBatch
from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.htmx import render_page
from pairing_admin.lib.params import row_id, row_ids
from pairing_admin.mail.branding import program_name
from pairing_admin.mail.email_templates import sample_url
from pairing_admin.mail.outbox import template_for
from pairing_admin.mail.rendering import render as render_email
from programs.access import program_view
from programs.models import Participant, Program

PROMPT = "invitations/invite_prompt.html"


def _ids(request: HttpRequest) -> list[int]:
    source = request.POST if request.method == "POST" else request.GET
    return sorted(row_ids(source.getlist("mentee")))[: services.MAX_SELECTED]


def _expected(request: HttpRequest) -> int:
    """The number of emails the admin confirmed; -1 when the form lacks it, which
    never matches, so nothing is sent unconfirmed."""
    confirmed = row_id(request.POST.get("expected"))
    return -1 if confirmed is None else confirmed


def _unpaired_url(program: Program, sub: str) -> str:
    return reverse("pairing:unpaired", kwargs={"program_id": program.pk}) + f"?sub={sub}"


def _preview(program: Program, first: Participant | None) -> tuple[str, str, str] | None:
    if first is None:
        return None
    values = {
        "first_name": first.first_name,
        "program_name": program_name(program),
        "organization_name": program.organization.name,
        # The real link is drawn when the email is written; GET writes nothing.
        "preferences_link": sample_url(),
    }
    return render_email(EmailKind.INVITATION, template_for(program, EmailKind.INVITATION), values)


def _prompt(request, program, *, mode: str, pool, ids=None, asked_at=None, problem="", status=200):
    # `pool` is everyone chosen; mentees whose address is suppressed get no
    # email and are shown as skipped (the service counts the same way).
    count, skipped = selectors.prompt_counts(pool)
    first = selectors.sendable(pool).first() if count else None
    blocked = ""
    try:
        services.ensure_can_invite(program)
        services.ensure_none_preparing(program)
    except DomainError as exc:
        blocked = str(exc)
    context = {
        "program": program,
        "mode": mode,
        "count": count,
        "skipped": skipped,
        "first": first,
        "preview": _preview(program, first),
        "ids": ids or [],
        "asked_at": asked_at.isoformat() if asked_at else "",
        "problem": problem,
        "blocked": blocked,
        "back_url": _unpaired_url(program, "invited" if mode == "resend" else "not_invited"),
        "action_url": reverse(f"invite:{mode}", kwargs={"program_id": program.pk}),
    }
    return render(request, PROMPT, context, status=status)


def _refused(request, program, exc: DomainError, sub: str) -> HttpResponse:
    messages.error(request, str(exc))
    return redirect(_unpaired_url(program, sub))


def _sent(request, program, batch) -> HttpResponse:
    emails = f"{batch.total:,} invitation email{'s' if batch.total != 1 else ''}"
    if batch.state == batch.State.PREPARING:
        messages.success(request, f"{emails} are being written and sent; this page shows how far.")
    else:
        messages.success(request, f"{emails} queued for sending.")
    return redirect("invite:batch", program_id=program.pk, batch_id=batch.pk)


@program_view(methods=("GET", "POST"))
def invite_all(request: HttpRequest, program: Program) -> HttpResponse:
    """GET: the Invite all Mentees prompt. POST: Send Emails."""
    pool = selectors.mentees_not_invited(program)
    if request.method == "GET":
        return _prompt(request, program, mode="all", pool=pool)
    try:
        batch = services.invitation_send_all(
            program=program, user=request.user, expected=_expected(request)
        )
    except services.CountChanged as exc:
        return _prompt(request, program, mode="all", pool=pool, problem=str(exc), status=409)
    except DomainError as exc:
        return _refused(request, program, exc, "not_invited")
    return _sent(request, program, batch)


@program_view(methods=("GET", "POST"))
def invite_selected(request: HttpRequest, program: Program) -> HttpResponse:
    """Invite to Pair (one row) or Perform Bulk Action on Selected -> Invite."""
    ids = _ids(request)
    # Only this program's mentees that are still not invited: anything else
    # in the request is dropped here and re-checked in the service.
    pool = selectors.mentees_not_invited(program).filter(pk__in=ids)
    valid = list(pool.values_list("pk", flat=True))
    if request.method == "GET":
        return _prompt(request, program, mode="selected", pool=pool, ids=valid)
    try:
        batch = services.invitation_send_selected(
            program=program, user=request.user, mentee_ids=ids, expected=_expected(request)
        )
    except services.CountChanged as exc:
        return _prompt(
            request, program, mode="selected", pool=pool, ids=valid, problem=str(exc), status=409
        )
    except DomainError as exc:
        return _refused(request, program, exc, "not_invited")
    return _sent(request, program, batch)


def _asked_at(request: HttpRequest) -> datetime | None:
    try:
        value = datetime.fromisoformat(request.POST.get("asked_at", ""))
    except ValueError:
        return None
    return value if value.tzinfo else None


@program_view(methods=("GET", "POST"))
def invite_resend(request: HttpRequest, program: Program) -> HttpResponse:
    """Resend invitation: its own confirmation, and only to invitations sent before it."""
    ids = _ids(request)
    now = timezone.now()
    if request.method == "GET":
        pool = services.resend_pool(program, ids, now)
        valid = list(pool.values_list("pk", flat=True))
        return _prompt(request, program, mode="resend", pool=pool, ids=valid, asked_at=now)
    asked_at = _asked_at(request) or now
    try:
        batch = services.invitation_resend(
            program=program,
            user=request.user,
            mentee_ids=ids,
            expected=_expected(request),
            asked_at=asked_at,
        )
    except services.CountChanged as exc:
        pool = services.resend_pool(program, ids, now)
        valid = list(pool.values_list("pk", flat=True))
        return _prompt(
            request,
            program,
            mode="resend",
            pool=pool,
            ids=valid,
            asked_at=now,
            problem=str(exc),
            status=409,
        )
    except DomainError as exc:
        return _refused(request, program, exc, "invited")
    return _sent(request, program, batch)


def _batch_or_404(program: Program, batch_id: int) -> InvitationBatch:
    batch = selectors.batch_for_program(program, batch_id)
    if batch is None:
        raise Http404("No such batch")
    return batch


@program_view(methods=("GET",), load=_batch_or_404)
def batch_progress(request: HttpRequest, program: Program, batch: InvitationBatch) -> HttpResponse:
    """The batch's progress; htmx polls the fragment every second until it is done."""
    context = {
        "program": program,
        "batch": batch,
        "progress": selectors.batch_progress(batch),
        "sweep_seconds": settings.OUTBOX_SWEEP_SECONDS,
    }
    return render_page(
        request, "invitations/invite_batch.html", context, partials={"batch-progress": "progress"}
    )


@program_view(methods=("POST",))
def batch_stop(request: HttpRequest, program: Program, batch_id: int) -> HttpResponse:
    """Stop sending a batch: emails not handed to the email service yet are never sent."""
    try:
        stopped = services.invitation_batch_stop(
            program=program, batch_id=batch_id, user=request.user
        )
    except DomainError as exc:
        raise Http404(str(exc)) from None
    if stopped:
        messages.success(
            request,
            f"Stopped: {stopped:,} email{'s' if stopped != 1 else ''} will not be sent. "
            "Mentees whose invitation was not sent are back in Not Invited by Admin.",
        )
    else:
        batch = selectors.batch_for_program(program, batch_id)
        sending = selectors.batch_progress(batch).sending if batch else 0
        if sending:
            messages.info(
                request,
                f"Nothing could be stopped: {sending:,} email{'s' if sending != 1 else ''} "
                f"still pending {'was' if sending == 1 else 'were'} already being handed to "
                "the email service.",
            )
        else:
            messages.info(request, "No email of this batch was waiting to be sent.")
    return redirect(
        reverse("invite:batch", kwargs={"program_id": program.pk, "batch_id": batch_id})
    )
