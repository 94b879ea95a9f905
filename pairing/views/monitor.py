"""Admin pages for monitoring pairings: a pairing's page, End Pairing, Export, health rules.

Access is checked before the method, so an admin of another organization
gets 404 for every method; GET pages only read, every change is a POST that
redirects (plain forms, so all of it works without JavaScript).
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from pairing import export, services
from pairing import health as monitor_health
from pairing.forms import EndForm, RulesForm, SessionForm, monitor_filters
from pairing.models import MentoringSession, MentorRequest, Pairing
from pairing.services import ending
from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.params import row_ids, search_text
from pairing_admin.mail.models import OutboundEmail
from programs.access import program_view
from programs.models import Program

EMAILS_SHOWN = 50


def _active_url(program: Program) -> str:
    return reverse("pairing:active", kwargs={"program_id": program.pk})


def _pairing(program: Program, pairing_id: int) -> Pairing:
    pairing = (
        Pairing.objects.filter(program=program, pk=pairing_id)
        .select_related("mentee", "mentor", "created_by", "ended_by", "request")
        .first()
    )
    if pairing is None:
        raise Http404("No such pairing")
    return pairing


# --- A pairing's page ---------------------------------------------------------------


def _detail_context(program: Program, pairing: Pairing, form: SessionForm | None = None) -> dict:
    sessions = list(
        MentoringSession.objects.filter(pairing=pairing).select_related(
            "logged_by_participant", "logged_by_user"
        )
    )
    requests = list(
        MentorRequest.objects.filter(program=program, mentee=pairing.mentee, mentor=pairing.mentor)
        .select_related("decided_by")
        .order_by("created_at", "id")
    )
    emails = list(
        OutboundEmail.objects.filter(
            program=program, to_email__in=[pairing.mentee.email, pairing.mentor.email]
        )
        .only("id", "kind", "to_email", "to_name", "status", "created_at", "sent_at", "subject")
        .order_by("-created_at", "-id")[:EMAILS_SHOWN]
    )
    today = monitor_health.local_today(program)
    return {
        "program": program,
        "tab": "active",
        "pairing": pairing,
        "sessions": sessions,
        "requests": requests,
        "emails": emails,
        "emails_max": EMAILS_SHOWN,
        "today": today,
        "form": form or SessionForm(initial={"date": today, "minutes": 60}),
    }


@program_view(methods=("GET",))
def pairing_detail(request: HttpRequest, program: Program, pairing_id: int) -> HttpResponse:
    """How the pairing began, requests between the two, sessions, emails, end."""
    pairing = _pairing(program, pairing_id)
    return render(request, "pairing/pairing_detail.html", _detail_context(program, pairing))


@program_view(methods=("POST",))
def session_add(request: HttpRequest, program: Program, pairing_id: int) -> HttpResponse:
    """An admin logs a session on the pairing's page (POST only)."""
    pairing = _pairing(program, pairing_id)
    form = SessionForm(request.POST)
    if form.log(pairing, user=request.user):
        messages.success(request, "Session logged.")
        return redirect("pairing:detail", program_id=program.pk, pairing_id=pairing.pk)
    context = _detail_context(program, pairing, form)
    return render(request, "pairing/pairing_detail.html", context, status=400)


@program_view(methods=("POST",))
def session_cancel(
    request: HttpRequest, program: Program, pairing_id: int, session_id: int
) -> HttpResponse:
    pairing = _pairing(program, pairing_id)
    if not MentoringSession.objects.filter(pairing=pairing, pk=session_id).exists():
        raise Http404("No such session")
    try:
        services.session_cancel(program=program, session_id=session_id, user=request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Session cancelled.")
    return redirect("pairing:detail", program_id=program.pk, pairing_id=pairing.pk)


# --- End Pairing ------------------------------------------------------------------------


@program_view(methods=("GET", "POST"))
def pairing_end(request: HttpRequest, program: Program, pairing_id: int) -> HttpResponse:
    """GET: the confirmation with a reason. POST: End Pairing."""
    pairing = _pairing(program, pairing_id)
    form = EndForm(request.POST or None, program=program)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.pairing_end(
                    program=program,
                    pairing_id=pairing.pk,
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                    notify=form.cleaned_data["notify"],
                    do_not_pair_again=form.cleaned_data["do_not_pair_again"],
                    next_step=form.cleaned_data["next_step"],
                )
            except DomainError as exc:
                form.add_error(None, str(exc))
                status = 409
            else:
                told = " Both have been notified." if form.cleaned_data["notify"] else ""
                messages.success(
                    request,
                    f"Pairing of {pairing.mentee.full_name} with {pairing.mentor.full_name} "
                    f"ended.{told}",
                )
                return redirect(_active_url(program))
    context = {"program": program, "tab": "active", "pairing": pairing, "form": form}
    return render(request, "pairing/end_pairing.html", context, status=status)


def _ids(request: HttpRequest) -> list[int]:
    source = request.POST if request.method == "POST" else request.GET
    return row_ids(source.getlist("pairing")[: ending.BULK_MAX + 1])


@program_view(methods=("GET", "POST"))
def pairing_end_bulk(request: HttpRequest, program: Program) -> HttpResponse:
    """Perform Bulk Action on Selected -> End Pairing: GET confirms, POST ends."""
    ids = _ids(request)
    chosen = list(
        Pairing.objects.filter(program=program, pk__in=ids)
        .active()
        .select_related("mentee", "mentor")
        .order_by("mentee__last_name", "mentee__first_name", "id")[: ending.BULK_MAX]
    )
    form = EndForm(request.POST or None, program=program)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                # Every posted id goes to the service (it ends only this program's active
                # ones), so a second submit learns that they were already ended.
                count = services.pairing_end_bulk(
                    program=program,
                    pairing_ids=ids,
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                    notify=form.cleaned_data["notify"],
                    do_not_pair_again=form.cleaned_data["do_not_pair_again"],
                    next_step=form.cleaned_data["next_step"],
                )
            except DomainError as exc:
                form.add_error(None, str(exc))
                status = 409
            else:
                messages.success(request, f"{count:,} pairing{'s' if count != 1 else ''} ended.")
                return redirect(_active_url(program))
    context = {"program": program, "tab": "active", "chosen": chosen, "form": form}
    return render(request, "pairing/end_bulk.html", context, status=status)


# --- Export -------------------------------------------------------------------------


@program_view(methods=("GET", "HEAD"))
def export_active(request: HttpRequest, program: Program) -> HttpResponse:
    """Export: the active pairings as filtered and sorted on the tab."""
    body = export.active_export(program, **monitor_filters(request))
    return export.csv_response(export.filename_for(program, "active-pairings"), body)


@program_view(methods=("GET", "HEAD"))
def export_unpaired(request: HttpRequest, program: Program) -> HttpResponse:
    body = export.unpaired_export(program)
    return export.csv_response(export.filename_for(program, "unpaired-mentees"), body)


@program_view(methods=("GET", "HEAD"))
def export_requests(request: HttpRequest, program: Program) -> HttpResponse:
    body = export.request_export(
        program, status=request.GET.get("status", ""), query=search_text(request.GET.get("q"))
    )
    return export.csv_response(export.filename_for(program, "requests"), body)


# --- Health rules -------------------------------------------------------------------


@program_view(methods=("GET", "POST"))
def health_rules(request: HttpRequest, program: Program) -> HttpResponse:
    current = monitor_health.rules_for(program)
    form = RulesForm(
        request.POST or None,
        initial={
            "first_session_days": current.first_session_days,
            "recent_days": current.recent_days,
        },
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.health_rules_update(
                    program=program, user=request.user, **form.cleaned_data
                )
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Health rules saved; the Health tab uses them now.")
                return redirect("pairing:health", program_id=program.pk)
    context = {"program": program, "tab": "health", "form": form, "rules": current}
    return render(request, "pairing/health_rules.html", context, status=status)
