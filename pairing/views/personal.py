"""The personal page, "My mentoring" (no login): one place for a person's requests, pairings,
profile and availability, at /me/<token>/ with a HOME link.

The link rules of pairing/views/links.py hold here too: GET and HEAD only look, each action
is a POST of its own, the token opens this page and its actions only, and an unknown or
expired token gets the one neutral page. A HOME link is reusable until it expires (30
days); it is minted by a POST (from another emailed link's page, or by email from /me/),
never by a GET.
"""

from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from pairing import personal_selectors, services
from pairing.forms import AwayForm, HomeLinkForm, OwnDeclineForm, OwnProfileForm, SessionForm
from pairing.health import local_today
from pairing.models import MentorRequest, Pairing
from pairing.services import personal
from pairing.views.links import rate_limited
from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.i18n import participant_page, use_program_language
from pairing_admin.mail.links import (
    PREFERENCES_VALID_FOR,
    Purpose,
    link_create,
    link_resolve,
    token_page,
)
from programs.models import Participant
from programs.questions import questions_of


def _neutral(request: HttpRequest) -> HttpResponse:
    return render(request, "pairing/link_invalid.html", status=404)


def _see_other(url: str) -> HttpResponse:
    """303: after a POST the browser GETs the page (a reload never posts again)."""
    response = redirect(url)
    response.status_code = 303
    return response


def _home_link(token: str):
    resolved = link_resolve(token)
    if resolved.problem or resolved.link.purpose != Purpose.HOME:
        return None
    return resolved.link


def home_page(view):
    """Resolve the HOME token and speak the program's language (participant_page), or
    show the neutral page in the browser's."""

    @wraps(view)
    @participant_page
    def wrapper(request, token, **kwargs):
        link = _home_link(token)
        if link is None:
            return _neutral(request)
        use_program_language(link.program)
        return view(request, token, link, **kwargs)

    return wrapper


def home_action(view):
    """One of My mentoring's actions: a POST only (CSRF-exempt, the token is the
    credential: docs/security.md), with the token pages' headers and rate limit, for a
    valid HOME link in its program's language."""
    return csrf_exempt(require_POST(token_page(rate_limited(home_page(view)))))


def _me(token: str) -> str:
    return reverse("pairing:me", kwargs={"token": token})


# --- The page ----------------------------------------------------------------------


def _page(request, token, link, *, status=200, error="", forms=None) -> HttpResponse:
    person = link.participant
    person.program = link.program
    found = personal_selectors.overview(person)
    forms = forms or {}
    today = local_today(link.program)
    for r in found.received:
        key = f"decline-{r.request.pk}"
        forms.setdefault(key, OwnDeclineForm(prefix=key))
    for t in found.pairings:
        key = f"session-{t.pairing.pk}"
        forms.setdefault(key, SessionForm(prefix=key, initial={"date": today, "minutes": 60}))
    forms.setdefault("away", AwayForm(prefix="away"))
    context = {
        "token": token,
        "person": person,
        "program": link.program,
        "found": found,
        "received": [(r, forms[f"decline-{r.request.pk}"]) for r in found.received],
        "pairings": [(t, forms[f"session-{t.pairing.pk}"]) for t in found.pairings],
        "away_form": forms["away"],
        "today": today,
        # A date, not a datetime: the template's date filter would turn a datetime back
        # into the server's zone.
        "link_expires": link.expires_at.astimezone(
            ZoneInfo(link.program.organization.timezone)
        ).date(),
        "error": error,
    }
    return render(request, "pairing/me.html", context, status=status)


@require_safe
@token_page
@rate_limited
@home_page
def me(request: HttpRequest, token: str, link) -> HttpResponse:
    return _page(request, token, link)


# --- Requests: approve, decline, withdraw, choose ------------------------------------------


def _received(link, request_id: int) -> MentorRequest | None:
    """The request if it was made to this person (another's id is refused)."""
    return (
        MentorRequest.objects.filter(pk=request_id, mentor_id=link.participant_id)
        .select_related("mentee")
        .first()
    )


@home_action
def me_approve(request: HttpRequest, token: str, link, request_id: int) -> HttpResponse:
    mentor_request = _received(link, request_id)
    if mentor_request is None:
        return _page(request, token, link, error=_("There is no such request."), status=404)
    try:
        services.request_approve(request_id=mentor_request.pk)
    except DomainError as exc:
        return _page(request, token, link, error=str(exc), status=409)
    messages.success(
        request,
        _(
            "You're paired with %(name)s. We've emailed you both with each other's details; "
            "a first conversation in the next week or two is a great start."
        )
        % {"name": mentor_request.mentee.full_name},
    )
    return _see_other(_me(token))


@home_action
def me_decline(request: HttpRequest, token: str, link, request_id: int) -> HttpResponse:
    mentor_request = _received(link, request_id)
    if mentor_request is None:
        return _page(request, token, link, error=_("There is no such request."), status=404)
    key = f"decline-{mentor_request.pk}"
    form = OwnDeclineForm(request.POST, prefix=key)
    if not form.is_valid():
        return _page(request, token, link, forms={key: form}, status=400)
    try:
        services.request_decline(request_id=mentor_request.pk, message=form.cleaned_data["message"])
    except DomainError as exc:
        return _page(request, token, link, error=str(exc), status=409)
    messages.success(
        request,
        _("Request declined. We've let %(name)s know, and helped them on to another mentor.")
        % {"name": mentor_request.mentee.full_name},
    )
    return _see_other(_me(token))


@home_action
def me_withdraw(request: HttpRequest, token: str, link, request_id: int) -> HttpResponse:
    try:
        services.request_withdraw(mentee=link.participant, request_id=request_id)
    except DomainError as exc:
        return _page(request, token, link, error=str(exc), status=409)
    messages.success(request, _("Your request is withdrawn. You can choose again."))
    return _see_other(_me(token))


@home_action
def me_choose(request: HttpRequest, token: str, link) -> HttpResponse:
    """Open the preference form: a fresh PREFERENCES link (this token opens only this page).

    It expires no later than this HOME link and names it (object_id): its page's "My
    mentoring" then gives a HOME link no longer-lived than it (links.me_from_link), so a
    HOME link can't renew itself for ever without an email."""
    if link.participant.role != Participant.Role.MENTEE:
        return _page(request, token, link, error=_("Only mentees choose mentors."), status=409)
    _link, raw = link_create(
        purpose=Purpose.PREFERENCES,
        participant=link.participant,
        expires_at=min(timezone.now() + PREFERENCES_VALID_FOR, link.expires_at),
        object_id=link.pk,
    )
    return _see_other(reverse("pairing:preferences", kwargs={"token": raw}))


# --- Pairings: log a session ---------------------------------------------------------------


@home_action
def me_session(request: HttpRequest, token: str, link, pairing_id: int) -> HttpResponse:
    person = link.participant
    pairing = (
        Pairing.objects.filter(pk=pairing_id, program_id=link.program_id)
        .active()
        .select_related("program__organization", "mentee", "mentor")
        .first()
    )
    if pairing is None or person.pk not in (pairing.mentee_id, pairing.mentor_id):
        return _page(request, token, link, error=_("There is no such pairing."), status=404)
    key = f"session-{pairing.pk}"
    form = SessionForm(request.POST, prefix=key)
    if form.log(pairing, participant=person):
        messages.success(request, _("Thank you: your session is logged."))
        return _see_other(_me(token))
    return _page(request, token, link, forms={key: form}, status=400)


# --- Profile and availability ----------------------------------------------------------


def _profile_initial(person: Participant) -> dict:
    fields = ["department", "location", "bio"]
    if person.role == Participant.Role.MENTOR:
        fields.append("capacity")
    return {name: getattr(person, name) for name in fields}


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@token_page
@rate_limited
@home_page
def me_profile(request: HttpRequest, token: str, link) -> HttpResponse:
    """Edit one's own profile: GET shows the form, POST saves what changed (or nothing)."""
    person = link.participant
    person.program = link.program
    initial = _profile_initial(person)
    asked = questions_of(link.program, role=person.role)
    if request.method != "POST":
        form = OwnProfileForm(initial=initial, person=person, questions=asked)
        _compare_with_shown(form)
        return _profile_page(request, token, link, form)
    form = OwnProfileForm(request.POST, initial=initial, person=person, questions=asked)
    _compare_with_shown(form)
    if not form.is_valid():
        return _profile_page(request, token, link, form, status=400)
    # Only what the person changed from what their page showed, so an admin's edit
    # meanwhile to another field stays.
    changed, answers = form.changes()
    if changed or answers:
        try:
            personal.profile_update_own(participant=person, answers=answers, **changed)
        except DomainError as exc:
            form.add_error("capacity" if "capacity" in changed else None, str(exc))
            return _profile_page(request, token, link, form, status=409)
    messages.success(request, _("Your profile is saved."))
    return _see_other(_me(token))


def _compare_with_shown(form: OwnProfileForm) -> None:
    """Judge each field changed against the value the page showed, not the row as it is
    at the POST: the page carries what it showed in hidden "initial-" inputs (Django's
    show_hidden_initial). Otherwise a field an admin edited between the GET and the POST
    would look changed by the person, and their stale copy would undo the admin's edit.

    On a POST, only fields whose hidden value came back use it (an older page's form
    sends none); the others compare with the row as it is now."""
    for name, field in form.fields.items():
        field.show_hidden_initial = not form.is_bound or (
            form.add_initial_prefix(name) in form.data
        )


def _profile_page(request, token, link, form, *, status=200) -> HttpResponse:
    context = {"token": token, "person": link.participant, "program": link.program, "form": form}
    return render(request, "pairing/me_profile.html", context, status=status)


@home_action
def me_away(request: HttpRequest, token: str, link) -> HttpResponse:
    person = link.participant
    person.program = link.program
    form = AwayForm(request.POST, prefix="away")
    if form.is_valid():
        try:
            personal.mentor_away_until(mentor=person, until=form.cleaned_data["until"])
        except DomainError as exc:
            form.add_error("until", str(exc))
        else:
            messages.success(
                request,
                _(
                    "Done: no new requests will come to you until %(date)s. Your current "
                    "mentees stay with you."
                )
                % {"date": _day(form.cleaned_data["until"])},
            )
            return _see_other(_me(token))
    return _page(request, token, link, forms={"away": form}, status=400)


@home_action
def me_back(request: HttpRequest, token: str, link) -> HttpResponse:
    person = link.participant
    person.program = link.program
    try:
        personal.mentor_back(mentor=person)
    except DomainError as exc:
        return _page(request, token, link, error=str(exc), status=409)
    messages.success(request, _("Welcome back: mentees can ask you again."))
    return _see_other(_me(token))


def _day(value) -> str:
    return date_format(value, "j F Y")


# --- A fresh link by email ---------------------------------------------------------------


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@token_page
@rate_limited
@participant_page
def me_ask(request: HttpRequest) -> HttpResponse:
    """ "Get a link to my page": the same answer whether or not the address is known.

    CSRF-exempt like the token pages (their no-referrer POSTs carry "Origin: null"); the
    worst a forged POST can do is send the owner of an address their own link.
    """
    # Bound on every POST, even an empty one, so a missing address gets its message.
    form = HomeLinkForm(request.POST if request.method == "POST" else None)
    if request.method != "POST":
        return render(request, "pairing/me_ask.html", {"form": form})
    if not form.is_valid():
        return render(request, "pairing/me_ask.html", {"form": form}, status=400)
    personal.home_links_ask(email=form.cleaned_data["email"])
    return render(request, "pairing/me_ask.html", {"form": None, "sent": True})
