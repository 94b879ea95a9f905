"""Pages mentees and mentors open from the links in their emails (no login): preferences,
the waitlist, a mentor's request, logging a session.

GET and HEAD only look (mail scanners follow every link); only a POST from the page acts.
Unknown, expired or cross-purpose links all get one neutral page, and token pages are
rate-limited per IP address. POSTs are CSRF-exempt on purpose: the unguessable token in the
URL is the credential, and no-referrer pages post "Origin: null", which the check refuses.
"""

from functools import wraps

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from pairing import preference_selectors, request_selectors, services, waitlist
from pairing.deadlines import deadline_label
from pairing.drafts import mentee_profile_text
from pairing.forms import DeclineForm, PreferenceForm, SessionForm, ordinal
from pairing.health import local_today
from pairing.models import MentoringSession, MentorRequest, Pairing, WaitlistEntry
from pairing.services.personal import home_link
from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.i18n import participant_page, use_program_language
from pairing_admin.lib.params import search_text
from pairing_admin.lib.ratelimit import token_page_allowed
from pairing_admin.mail.links import Purpose, link_resolve, token_page
from programs.models import Participant, Program

SHOWN_STEP = 30


def _neutral(request: HttpRequest) -> HttpResponse:
    return render(request, "pairing/link_invalid.html", status=404)


def rate_limited(view):
    """At most TOKEN_PAGE_RATE_LIMIT hits per IP address per 10 minutes, across token pages."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not token_page_allowed(request):
            return render(request, "pairing/request_rate_limited.html", status=429)
        return view(request, *args, **kwargs)

    return wrapper


def _mentee_link(token: str):
    resolved = link_resolve(token)
    link = resolved.link
    if (
        resolved.problem
        or link.purpose != Purpose.PREFERENCES
        or link.participant.role != Participant.Role.MENTEE
    ):
        return None
    use_program_language(link.program)
    return link


# --- Mentee: Submit Your Mentor Preferences ---------------------------------------


def _shown(request: HttpRequest) -> int:
    try:
        return max(SHOWN_STEP, min(int(request.GET.get("shown", SHOWN_STEP)), 5000))
    except ValueError:
        return SHOWN_STEP


def _matches(words: list[str], haystack: str) -> bool:
    return all(word in haystack for word in words)


def _preference_page(request, token, link, *, form=None, error="", status=200) -> HttpResponse:
    mentee, program = link.participant, link.program
    state = request_selectors.mentee_state(mentee)
    context = {
        "token": token,
        "me_from": reverse("pairing:me_from_preferences", kwargs={"token": token}),
        "mentee": mentee,
        "program": program,
        "state": state,
        "timezone": program.organization.timezone,
        "error": error,
    }
    if state.pending:
        context["deadline"] = deadline_label(
            state.pending.expires_at, program.organization.timezone
        )
    open_for_choices = (
        state.pairing is None
        and state.pending is None
        and program.pairing_enabled
        and program.pairing_process != Program.Process.ADMIN_LED
    )
    if open_for_choices:
        source = request.POST if request.method == "POST" else request.GET
        chosen = PreferenceForm.ranks_in(source)
        query = search_text(source.get("q"))
        department = source.get("department", "")
        location = source.get("location", "")
        found = preference_selectors.mentor_options(mentee, program)
        pool = found.pool
        answer_filters = found.choice_filters()
        chosen_answers = preference_selectors.filters_chosen(answer_filters, source)
        # Mentors whose waiting requests already cover their free seats go after
        # those with room: they may fill before they answer.
        waiting = found.waiting
        options = sorted(found.matches, key=lambda m: _may_fill(waiting, m.mentor["pk"]))
        words = query.casefold().split()
        filtered = [
            m
            for m in options
            if m.mentor["pk"] not in chosen
            and (not words or _matches(words, pool.haystack(m.mentor)))
            and (not department or m.mentor["department"] == department)
            and (not location or m.mentor["location"] == location)
            and preference_selectors.passes(m.mentor, chosen_answers)
        ]
        picked = sorted(
            (m for m in options if m.mentor["pk"] in chosen), key=lambda m: chosen[m.mentor["pk"]]
        )
        shown = _shown(request)
        cards = picked + filtered[:shown]
        bios = preference_selectors.bios([m.mentor["pk"] for m in cards])
        rank_choices = [(n, ordinal(n)) for n in range(1, program.max_preferences + 1)]
        context.update(
            form=form or PreferenceForm(offered=set(), max_preferences=program.max_preferences),
            options_count=len(options),
            filtered_count=len(filtered),
            cards=[
                (
                    m,
                    chosen.get(m.mentor["pk"]),
                    bios.get(m.mentor["pk"], ""),
                    waiting.get(m.mentor["pk"], (0, 0))[0],
                    _may_fill(waiting, m.mentor["pk"]),
                )
                for m in cards
            ],
            more=len(filtered) > shown,
            next_shown=shown + SHOWN_STEP,
            query=query,
            department=department,
            location=location,
            departments=found.departments,
            locations=found.locations,
            answer_filters=[(f, chosen_answers.get(f.question_id)) for f in answer_filters],
            narrowed=bool(query or department or location or chosen_answers),
            rank_choices=rank_choices,
            approval=program.pairing_process == Program.Process.USER_LED_APPROVAL,
        )
    context["open_for_choices"] = open_for_choices
    context["waitlist_open"] = (
        state.pairing is None
        and state.pending is None
        and program.pairing_enabled
        and program.is_user_led
        and program.waitlist_on
    )
    if state.pairing is None and state.pending is None:
        entry = WaitlistEntry.objects.filter(mentee=mentee).first()
        if entry is not None:
            context["waiting"] = entry
            context["waiting_position"] = waitlist.position_of(entry)
            context["waiting_for"] = ", ".join(
                m.full_name for m in entry.wanted_mentors.order_by("first_name", "last_name")
            )
    return render(request, "pairing/preferences.html", context, status=status)


def _may_fill(waiting: dict[int, tuple[int, int]], mentor_id: int) -> bool:
    count, free = waiting.get(mentor_id, (0, 1))
    return count >= free


@require_safe
@participant_page
@token_page
@rate_limited
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    link = _mentee_link(token)
    if link is None:
        return _neutral(request)
    return _preference_page(request, token, link)


@csrf_exempt
@require_POST
@participant_page
@token_page
@rate_limited
def preferences_submit(request: HttpRequest, token: str) -> HttpResponse:
    link = _mentee_link(token)
    if link is None:
        return _neutral(request)
    program = link.program
    # Any mentor of the program may be ranked: one who filled up since the page
    # was shown is skipped for the next choice by the service, which also
    # refuses the rest with its reasons (a mentor this mentee must not be
    # paired with again, for one).
    offered = set(
        Participant.objects.mentors().filter(program=program).values_list("pk", flat=True)
    )
    form = PreferenceForm(request.POST, offered=offered, max_preferences=program.max_preferences)
    if not form.is_valid():
        return _preference_page(request, token, link, form=form, status=400)
    try:
        result = services.preferences_submit(
            mentee=link.participant, mentor_ids=form.ranked, note=form.cleaned_data["note"]
        )
    except DomainError as exc:
        return _preference_page(request, token, link, form=form, error=str(exc), status=409)
    skipped = ""
    if result.request.rank > 1:
        skipped = _("Your earlier choices aren't available any more, so we went to your next one.")
    if result.pairing:
        done = _("You're paired with %(name)s. We've emailed you both.") % {
            "name": result.pairing.mentor.full_name
        }
    else:
        done = _("Your request is on its way to %(name)s. We'll email you when they answer.") % {
            "name": result.request.mentor.full_name
        }
    messages.success(request, f"{skipped} {done}" if skipped else done)
    return redirect(reverse("pairing:preferences", kwargs={"token": token}))


@csrf_exempt
@require_POST
@participant_page
@token_page
@rate_limited
def preferences_withdraw(request: HttpRequest, token: str) -> HttpResponse:
    link = _mentee_link(token)
    if link is None:
        return _neutral(request)
    try:
        request_id = int(request.POST.get("request", ""))
        services.request_withdraw(mentee=link.participant, request_id=request_id)
    except (ValueError, DomainError) as exc:
        message = str(exc) if isinstance(exc, DomainError) else _("There is no such request.")
        messages.error(request, message)
    else:
        messages.success(request, _("Your request is withdrawn. You can choose again below."))
    return redirect(reverse("pairing:preferences", kwargs={"token": token}))


# --- Mentee: the waitlist ------------------------------------------------------------

WAITLIST_SHOWN = 12


@csrf_exempt
@participant_page
@token_page
@rate_limited
def waitlist_page(request: HttpRequest, token: str) -> HttpResponse:
    """Join the waitlist, optionally naming the mentors to wait for (GET shows, POST joins)."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    link = _mentee_link(token)
    if link is None:
        return _neutral(request)
    mentee, program = link.participant, link.program
    error = ""
    if request.method == "POST":
        try:
            ids = [int(i) for i in request.POST.getlist("mentor")]
            waitlist.waitlist_join(mentee=mentee, mentor_ids=ids)
        except ValueError:
            error = _("Choose mentors from the list.")
        except DomainError as exc:
            error = str(exc)
        else:
            messages.success(request, _("Done: you're on the waitlist."))
            return redirect(reverse("pairing:preferences", kwargs={"token": token}))
    entry = WaitlistEntry.objects.filter(mentee=mentee).first()
    named = set(entry.wanted_mentors.values_list("pk", flat=True)) if entry else set()
    return render(
        request,
        "pairing/waitlist_join.html",
        {
            "token": token,
            "me_from": reverse("pairing:me_from_preferences", kwargs={"token": token}),
            "mentee": mentee,
            "program": program,
            "error": error,
            "entry": entry,
            "open": program.pairing_enabled and program.is_user_led and program.waitlist_on,
            "mentors": waitlist.mentors_to_name(mentee, program, limit=WAITLIST_SHOWN),
            "named": named,
        },
        status=409 if error else 200,
    )


@csrf_exempt
@require_POST
@participant_page
@token_page
@rate_limited
def waitlist_leave(request: HttpRequest, token: str) -> HttpResponse:
    link = _mentee_link(token)
    if link is None:
        return _neutral(request)
    if waitlist.waitlist_leave(mentee=link.participant):
        messages.success(request, _("You've left the waitlist. You can choose a mentor below."))
    return redirect(reverse("pairing:preferences", kwargs={"token": token}))


# --- Mentor: Approve / Decline -------------------------------------------------------


def _decided_page(
    request, token, mentor_request: MentorRequest, *, you_did: bool, link
) -> HttpResponse:
    zone = mentor_request.program.organization.timezone
    # A used link still shows what was decided after it expires, but no longer mints a
    # personal-page link (me_from_link): no button that leads to the neutral page.
    me_from = reverse("pairing:me_from_request", kwargs={"token": token}) if _may_mint(link) else ""
    return render(
        request,
        "pairing/request_decided.html",
        {
            "mentor_request": mentor_request,
            "program": mentor_request.program,
            "when": deadline_label(mentor_request.decided_at, zone)
            if mentor_request.decided_at
            else "",
            "you_did": you_did,
            "me_from": me_from,
        },
    )


CHOICES = {"approve": Purpose.APPROVE, "decline": Purpose.DECLINE}


@csrf_exempt
@participant_page
@token_page
@rate_limited
def request_link(request: HttpRequest, token: str) -> HttpResponse:
    """A request's Approve or Decline link: both open this page, which offers both choices
    (the link's own first). Only the POST of one of its buttons decides (docs/security.md)."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    resolved = link_resolve(token)
    link = resolved.link
    if (
        link is None
        or link.purpose not in (Purpose.APPROVE, Purpose.DECLINE)
        or resolved.problem == "expired"
    ):
        return _neutral(request)
    mentor_request = (
        MentorRequest.objects.select_related("mentee", "mentor", "program__organization")
        .filter(pk=link.object_id, mentor_id=link.participant_id)
        .first()
    )
    if mentor_request is None:
        return _neutral(request)
    use_program_language(mentor_request.program)  # the refusals below are the mentor's to read
    if resolved.problem == "used" or mentor_request.status != MentorRequest.Status.PENDING:
        return _decided_page(
            request, token, mentor_request, you_did=resolved.problem == "used", link=link
        )
    # A POST without a choice (a form from before both were offered) does what its link says.
    choice = CHOICES.get(request.POST.get("choice", ""), link.purpose)
    posted = request.method == "POST" and choice == Purpose.DECLINE
    form = DeclineForm(request.POST if posted else None)
    error = ""
    if request.method == "POST":
        try:
            if choice == Purpose.APPROVE:
                services.request_approve(request_id=mentor_request.pk, link=link)
            elif form.is_valid():
                services.request_decline(
                    request_id=mentor_request.pk,
                    message=form.cleaned_data["message"],
                    unavailable=form.cleaned_data["unavailable"],
                    link=link,
                )
            else:
                error = _("Please check the message.")
        except DomainError as exc:
            error = str(exc)
        if not error:
            return redirect(request.path)
    zone = mentor_request.program.organization.timezone
    return render(
        request,
        "pairing/request_confirm.html",
        {
            "mentor_request": mentor_request,
            "program": mentor_request.program,
            "mentee": mentor_request.mentee,
            "approve": link.purpose == Purpose.APPROVE,
            "form": form,
            "error": error,
            "deadline": deadline_label(mentor_request.expires_at, zone),
            "profile": mentee_profile_text(mentor_request.mentee, mentor_request.program),
            "me_from": reverse("pairing:me_from_request", kwargs={"token": token}),
        },
        status=409 if error else 200,
    )


# --- "My mentoring": from any emailed link's page to the personal page ------------------

# The links whose page offers the "My mentoring" button.
MINTS_HOME = (Purpose.PREFERENCES, Purpose.APPROVE, Purpose.DECLINE, Purpose.SESSION)


def _may_mint(link) -> bool:
    """Whether this link's page may open "My mentoring": one of MINTS_HOME's purposes, not
    expired, used or not (an Approve link that approved still does)."""
    return link.purpose in MINTS_HOME and link.expires_at > timezone.now()


@csrf_exempt
@require_POST
@token_page
@rate_limited
def me_from_link(request: HttpRequest, token: str) -> HttpResponse:
    """The "My mentoring" button: a fresh HOME link for the person this link belongs to,
    then their page (303). A link already used (an approval) still opens the page until
    it expires; it can't act again."""
    link = link_resolve(token).link
    if link is None or not _may_mint(link):
        return _neutral(request)
    # A preference link made by a HOME page's "Choose mentors" names that HOME link
    # (object_id): the HOME link it gives lasts no longer than it, so no chain of them
    # outlives the last link that came by email.
    made_from_home = link.purpose == Purpose.PREFERENCES and link.object_id is not None
    raw = home_link(link.participant, until=link.expires_at if made_from_home else None)
    response = redirect(reverse("pairing:me", kwargs={"token": raw}))
    response.status_code = 303
    return response


# --- The "log a session" link ---------------------------------------------------


def _pairing_for(token: str) -> tuple[Pairing | None, object]:
    resolved = link_resolve(token)
    link = resolved.link
    if resolved.problem or link.purpose != Purpose.SESSION or link.object_id is None:
        return None, None
    pairing = (
        Pairing.objects.filter(pk=link.object_id, program_id=link.program_id)
        .active()
        .select_related("mentee", "mentor", "program", "program__organization")
        .first()
    )
    if pairing is None or link.participant_id not in (pairing.mentee_id, pairing.mentor_id):
        return None, None
    use_program_language(pairing.program)
    return pairing, link.participant


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@participant_page
@token_page
@rate_limited
def session_link(request: HttpRequest, token: str) -> HttpResponse:
    """The personal "log a session" link (one per person per pairing), reusable while the
    pairing is active: a GET shows the form, a POST logs a session."""
    pairing, person = _pairing_for(token)
    if pairing is None:
        return _neutral(request)
    program = pairing.program
    today = local_today(program)
    form = SessionForm(request.POST or None, initial={"date": today, "minutes": 60})
    status = 200
    if request.method == "POST":
        status = 400
        if form.log(pairing, participant=person):
            return redirect(request.path + "?logged=1", permanent=False)
    partner = pairing.mentor if person.pk == pairing.mentee_id else pairing.mentee
    recent = list(
        MentoringSession.objects.filter(pairing=pairing)
        .exclude(status=MentoringSession.Status.CANCELLED)
        .only("date", "minutes", "status")[:10]
    )
    context = {
        "me_from": reverse("pairing:me_from_session", kwargs={"token": token}),
        "program": program,
        "person": person,
        "partner": partner,
        "form": form,
        "recent": recent,
        "today": today,
        "logged": request.method == "GET" and request.GET.get("logged") == "1",
    }
    return render(request, "pairing/session_log.html", context, status=status)
