"""Admin pages for monitoring pairings: a pairing's page, End Pairing, Export, health rules.

Access is checked before the method, so an admin of another organization
gets 404 for every method; GET pages only read, every change is a POST that
redirects (plain forms, so all of it works without JavaScript).
"""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from pairing import export, services
from pairing import health as monitor_health
from pairing.models import MentoringSession, MentorRequest, Pairing
from pairing.services import ending, sessions
from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.params import row_ids, search_text
from pairing_admin.mail.models import OutboundEmail
from programs.access import program_view
from programs.models import Program

EMAILS_SHOWN = 50


def monitor_filters(request: HttpRequest) -> dict[str, str]:
    """The Active Pairings filters from the query string (also used by Export)."""
    health = request.GET.get("health", "")
    return {
        "query": search_text(request.GET.get("q")),
        "health": health if health in monitor_health.HEALTH_LABELS else "",
        "sort": request.GET.get("sort", monitor_health.DEFAULT_SORT)[:20],
    }


def filter_query(filters: dict[str, str]) -> str:
    """The filters as a query string, for sort links, pages and Export."""
    params = {"q": filters["query"], "health": filters["health"], "sort": filters["sort"]}
    return urlencode({k: v for k, v in params.items() if v})


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


# --- Forms --------------------------------------------------------------------------


class EndForm(forms.Form):
    reason = forms.CharField(
        label="Reason (seen by admins only)",
        max_length=ending.REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why the pairing ends."},
    )
    notify = forms.BooleanField(
        label="Notify mentee and mentor", required=False, initial=True,
        help_text="Each gets the “Pairing ended” email; the reason is not included.",
    )  # fmt: skip
    do_not_pair_again = forms.BooleanField(
        label="Do not pair again", required=False,
        help_text="This mentee and mentor are never recommended or auto-paired together again "
        "in this program.",
    )  # fmt: skip
    next_step = forms.ChoiceField(
        label="What happens next for the mentee",
        choices=ending.NextStep.choices,
        widget=forms.RadioSelect,
        required=False,
        help_text="The “Pairing ended” email tells the mentee, with their link where one applies.",
    )

    def clean_next_step(self) -> str:
        # A form posted without the choice (an older page, a script) changes nothing more.
        return self.cleaned_data.get("next_step") or ending.NextStep.NOTHING

    def __init__(self, *args, program: Program, **kwargs):
        super().__init__(*args, **kwargs)
        steps = ending.NextStep
        offered = [
            (value, label)
            for value, label in steps.choices
            if (value != steps.WAITLIST or program.waitlist_on)
            and (value != steps.INVITE or program.is_user_led)
        ]
        self.fields["next_step"].choices = offered
        self.fields["next_step"].initial = steps.NOTHING


class SessionForm(forms.Form):
    # <input type="date"> takes only ISO dates (YYYY-MM-DD) and shows nothing
    # for any other value, such as the locale's 07/12/2026.
    date = forms.DateField(
        label="Date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    minutes = forms.IntegerField(
        label="Length (minutes)", min_value=sessions.MINUTES_MIN, max_value=sessions.MINUTES_MAX
    )
    note = forms.CharField(
        label="Note", required=False, max_length=sessions.NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip


class RulesForm(forms.Form):
    first_session_days = forms.IntegerField(label="First session expected within (days)", min_value=1, max_value=365)  # fmt: skip
    recent_days = forms.IntegerField(label="A session expected at least every (days)", min_value=1, max_value=365)  # fmt: skip


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
    if form.is_valid():
        try:
            services.session_log(
                pairing=pairing,
                on=form.cleaned_data["date"],
                minutes=form.cleaned_data["minutes"],
                note=form.cleaned_data["note"],
                user=request.user,
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
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
        Pairing.objects.filter(program=program, pk__in=ids, status=Pairing.Status.ACTIVE)
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
