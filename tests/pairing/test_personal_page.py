"""My mentoring, the personal page: GET only looks, each action is its own POST with the link
rules, a fresh link by email answers the same for any address, "unavailable until" pauses
and resumes by itself; the Approve and Decline pages offer the other choice."""

import html as htmllib
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pairing import preference_selectors, services
from pairing.email_kinds import EmailKind
from pairing.models import MentoringSession, MentorRequest, Pairing
from pairing.services import personal
from pairing_admin.lib import ratelimit
from pairing_admin.mail.links import Purpose, link_create
from pairing_admin.mail.models import AccessLink, OutboundEmail
from programs.models import ActivityEvent, Participant
from tests import factories
from tests.support.answers import answers_by_key

Status = MentorRequest.Status
ME = re.compile(r"/me/([A-Za-z0-9_-]+)/$")


@pytest.fixture
def live_program(org):
    return factories.ProgramFactory(organization=org, pairing_enabled=True)


@pytest.fixture
def mentor(live_program):
    return factories.MentorFactory(program=live_program, capacity=3, skills=["Negotiation"])


def _ask(mentor, program, **fields):
    mentee = factories.ParticipantFactory(program=program, **fields)
    return services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk], note="Hello").request


def _text(response) -> str:
    return htmllib.unescape(response.content.decode())


def _home(person) -> str:
    return f"/me/{personal.home_link(person)}/"


def _counts() -> dict[str, object]:
    return {
        "links": AccessLink.objects.count(),
        "used": AccessLink.objects.filter(used_at__isnull=False).count(),
        "emails": OutboundEmail.objects.count(),
        "requests": list(MentorRequest.objects.order_by("pk").values_list("status", flat=True)),
        "pairings": Pairing.objects.count(),
        "sessions": MentoringSession.objects.count(),
        "people": list(
            Participant.objects.order_by("pk").values_list(
                "updated_at", "accepting_requests", "unavailable_until", "capacity"
            )
        ),
        "activity": ActivityEvent.objects.count(),
    }


def _request_links(request) -> dict[str, str]:
    links = {}
    for purpose in (Purpose.APPROVE, Purpose.DECLINE):
        _, raw = link_create(
            purpose=purpose, participant=request.mentor, expires_at=request.expires_at,
            object_id=request.pk,
        )  # fmt: skip
        links[purpose] = raw
    return links


# --- Looking changes nothing ------------------------------------------------------------


def test_get_and_head_of_every_personal_page_change_nothing(live_program, mentor, client):
    first = _ask(mentor, live_program)
    _ask(mentor, live_program)
    factories.PairingFactory(program=live_program, mentor=mentor)
    mentee_home = _home(first.mentee)
    home = _home(mentor)
    before = _counts()
    for url in (home, home + "profile/", mentee_home, mentee_home + "profile/", "/me/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "no-store"
        assert response["Referrer-Policy"] == "no-referrer"
        assert client.head(url).status_code == 200
    assert _counts() == before


def test_the_mentor_page_shows_requests_pairings_and_room(live_program, mentor, client):
    one = _ask(mentor, live_program, first_name="Ada")
    _ask(mentor, live_program, first_name="Grace")
    factories.PairingFactory(program=live_program, mentor=mentor)
    html = _text(client.get(_home(mentor)))
    assert "My mentoring" in html and "Requests waiting for you" in html
    assert "Approve Ada" in html and "Approve Grace" in html and "Decline Ada" in html
    assert f"/requests/{one.pk}/approve/" in html
    assert "You mentor 1 of up to 3 people." in html
    assert "Pause new requests" in html


def test_a_mentee_page_shows_the_pending_request_with_withdraw(live_program, mentor, client):
    request = _ask(mentor, live_program)
    html = _text(client.get(_home(request.mentee)))
    assert f"Your request to {mentor.full_name} is waiting" in html
    assert f"/requests/{request.pk}/withdraw/" in html
    assert "Pause new requests" not in html


# --- The link rules ----------------------------------------------------------------------


def test_a_home_token_opens_only_the_personal_page(live_program, mentor, client):
    request = _ask(mentor, live_program)
    mentor_home = personal.home_link(mentor)
    mentee_home = personal.home_link(request.mentee)
    for url in (f"/r/{mentor_home}/", f"/p/{mentee_home}/", f"/s/{mentor_home}/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/r/{mentor_home}/", {"choice": "approve"}).status_code == 404
    assert client.post(f"/p/{mentee_home}/withdraw/", {"request": request.pk}).status_code == 404
    request.refresh_from_db()
    assert request.status == Status.PENDING


def test_unknown_and_expired_home_tokens_get_the_neutral_page(mentor, client):
    _link, raw = link_create(
        purpose=Purpose.HOME, participant=mentor, expires_at=timezone.now() - timedelta(seconds=1)
    )
    for url in (f"/me/{raw}/", "/me/not-a-token/", f"/me/{raw}/profile/"):
        response = client.get(url)
        assert (
            response.status_code == 404 and "This link can't be used" in response.content.decode()
        )
    assert client.post(f"/me/{raw}/back/").status_code == 404


def test_another_persons_request_id_is_refused(live_program, mentor, client):
    other_mentor = factories.MentorFactory(program=live_program)
    theirs = _ask(other_mentor, live_program)
    mine = _ask(mentor, live_program)
    home = _home(mentor)
    for action in ("approve", "decline"):
        response = client.post(f"{home}requests/{theirs.pk}/{action}/")
        assert response.status_code == 404
        assert "There is no such request." in response.content.decode()
    # A mentee may withdraw only their own request.
    response = client.post(f"{_home(mine.mentee)}requests/{theirs.pk}/withdraw/")
    assert response.status_code == 409 and "There is no such request." in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.status == Status.PENDING and not Pairing.objects.exists()


def test_actions_refuse_get(live_program, mentor, client):
    request = _ask(mentor, live_program)
    home = _home(mentor)
    for url in (f"{home}requests/{request.pk}/approve/", f"{home}away/", f"{home}back/"):
        assert client.get(url).status_code == 405
    request.refresh_from_db()
    assert request.status == Status.PENDING


# --- Acting from the personal page -----------------------------------------------------------


def test_approve_and_decline_from_the_personal_page(live_program, mentor, client):
    ada = _ask(mentor, live_program, first_name="Ada")
    grace = _ask(mentor, live_program, first_name="Grace")
    home = _home(mentor)
    response = client.post(f"{home}requests/{ada.pk}/approve/")
    assert response.status_code == 303 and response["Location"] == home
    html = _text(client.get(home))
    assert f"You're paired with {ada.mentee.full_name}" in html
    response = client.post(
        f"{home}requests/{grace.pk}/decline/", {f"decline-{grace.pk}-message": "Full this term"}
    )
    assert response.status_code == 303
    ada.refresh_from_db()
    grace.refresh_from_db()
    assert ada.status == Status.APPROVED and grace.status == Status.DECLINED
    assert grace.decline_message == "Full this term"
    # The same outcomes and emails as the emailed links.
    assert Pairing.objects.get().mentee_id == ada.mentee_id
    assert OutboundEmail.objects.filter(kind=EmailKind.ASSIGNMENT).count() == 2
    assert OutboundEmail.objects.filter(kind=EmailKind.REQUEST_DECLINED).count() == 1
    # Acting twice is refused with words.
    response = client.post(f"{home}requests/{ada.pk}/approve/")
    assert response.status_code == 409 and "already approved" in response.content.decode()


def test_a_too_long_decline_message_is_refused_with_nothing_written(live_program, mentor, client):
    request = _ask(mentor, live_program)
    home = _home(mentor)
    response = client.post(
        f"{home}requests/{request.pk}/decline/", {f"decline-{request.pk}-message": "x" * 1001}
    )
    assert response.status_code == 400 and "at most 1000 characters" in response.content.decode()
    request.refresh_from_db()
    assert request.status == Status.PENDING


def test_a_mentee_withdraws_and_chooses_again(live_program, mentor, client):
    request = _ask(mentor, live_program)
    home = _home(request.mentee)
    assert client.post(f"{home}requests/{request.pk}/withdraw/").status_code == 303
    request.refresh_from_db()
    assert request.status == Status.WITHDRAWN
    assert "Choose mentors" in client.get(home).content.decode()
    response = client.post(f"{home}choose/")
    assert response.status_code == 303 and response["Location"].startswith("/p/")
    page = client.get(response["Location"])
    assert page.status_code == 200 and mentor.full_name in page.content.decode()
    assert AccessLink.objects.filter(purpose=Purpose.PREFERENCES).count() == 1


def test_a_mentor_cannot_open_the_preference_form(mentor, client):
    response = client.post(f"{_home(mentor)}choose/")
    assert response.status_code == 409
    assert not AccessLink.objects.filter(purpose=Purpose.PREFERENCES).exists()


def test_log_a_session_from_the_personal_page(live_program, mentor, client):
    pairing = factories.PairingFactory(program=live_program, mentor=mentor)
    home = _home(pairing.mentee)
    today = timezone.localdate()
    key = f"session-{pairing.pk}"
    response = client.post(
        f"{home}pairings/{pairing.pk}/session/",
        {f"{key}-date": today.isoformat(), f"{key}-minutes": "45", f"{key}-note": ""},
    )
    assert response.status_code == 303
    session = MentoringSession.objects.get()
    assert session.logged_by_participant_id == pairing.mentee_id and session.minutes == 45
    response = client.post(
        f"{home}pairings/{pairing.pk}/session/",
        {f"{key}-date": today.isoformat(), f"{key}-minutes": "2"},
    )
    assert response.status_code == 400 and MentoringSession.objects.count() == 1
    # Someone else's pairing is refused.
    other = factories.PairingFactory(program=live_program)
    response = client.post(
        f"{home}pairings/{other.pk}/session/",
        {f"session-{other.pk}-date": today.isoformat(), f"session-{other.pk}-minutes": "45"},
    )
    assert response.status_code == 404 and MentoringSession.objects.count() == 1


# --- Profile ------------------------------------------------------------------------------


def _profile_post(person, **changes) -> dict[str, str]:
    data = {
        "department": person.department,
        "location": person.location,
        **{key: ", ".join(value) for key, value in answers_by_key(person).items()},
        "bio": person.bio,
    }
    if person.role == Participant.Role.MENTOR:
        data["capacity"] = str(person.capacity)
    data.update(changes)
    return data


def test_a_person_edits_their_profile(live_program, mentor, client):
    home = _home(mentor)
    response = client.post(
        f"{home}profile/",
        _profile_post(mentor, skills="Negotiation, Public speaking", capacity="4", bio="Hi"),
    )
    assert response.status_code == 303
    mentor.refresh_from_db()
    assert answers_by_key(mentor)["skills"] == ["Negotiation", "Public speaking"]
    assert mentor.capacity == 4 and mentor.bio == "Hi"
    # The program team's activity log says who made the change.
    event = ActivityEvent.objects.filter(program=live_program).latest("pk")
    assert event.actor is None
    assert event.detail.endswith("(their own edit, from My mentoring)"), event.detail


def test_capacity_below_the_people_mentored_now_is_refused_with_nothing_saved(live_program, client):
    mentor = factories.mentor_with_pairings(live_program, 2, capacity=3)
    home = _home(mentor)
    response = client.post(f"{home}profile/", _profile_post(mentor, capacity="1", bio="New bio"))
    html = response.content.decode()
    assert response.status_code == 409 and 'id="id_capacity_error"' in html
    mentor.refresh_from_db()
    assert mentor.capacity == 3 and mentor.bio == ""


def test_profile_field_errors_are_shown_by_field(live_program, mentor, client):
    response = client.post(f"{_home(mentor)}profile/", _profile_post(mentor, capacity="abc"))
    assert response.status_code == 400
    assert 'id="id_capacity_error"' in response.content.decode()


def test_a_mentee_cannot_set_a_capacity(live_program, client):
    mentee = factories.ParticipantFactory(program=live_program)
    response = client.post(f"{_home(mentee)}profile/", _profile_post(mentee, capacity="5"))
    assert response.status_code == 303
    mentee.refresh_from_db()
    assert mentee.capacity == 0


# --- Unavailable until ------------------------------------------------------------------------


def _offered(mentee, program) -> set[int]:
    found = preference_selectors.mentor_options(mentee, program)
    return {m.mentor["pk"] for m in found.matches}


def test_unavailable_until_stops_new_requests_and_keeps_pairings(live_program, mentor, client):
    pairing = factories.PairingFactory(program=live_program, mentor=mentor)
    waiting = _ask(mentor, live_program)
    mentee = factories.ParticipantFactory(program=live_program, goals=["Negotiation"])
    assert mentor.pk in _offered(mentee, live_program)
    html = _text(client.get(_home(mentor)))
    assert "Requests already waiting for you close" in html
    until = timezone.localdate() + timedelta(days=10)
    response = client.post(f"{_home(mentor)}away/", {"away-until": until.isoformat()})
    assert response.status_code == 303
    mentor.refresh_from_db()
    assert not mentor.accepting_requests and mentor.unavailable_until == until
    assert mentor.pk not in _offered(mentee, live_program)
    pairing.refresh_from_db()
    assert pairing.status == Pairing.Status.ACTIVE
    # As for "unavailable for now": no mentee waits for someone who is away.
    waiting.refresh_from_db()
    assert waiting.status == Status.CLOSED
    assert OutboundEmail.objects.filter(
        kind=EmailKind.REQUEST_CLOSED, to_email=waiting.mentee.email
    ).exists()
    html = _text(client.get(_home(mentor)))
    assert "You're unavailable until" in html and "I'm available again" in html
    assert client.post(f"{_home(mentor)}back/").status_code == 303
    mentor.refresh_from_db()
    assert mentor.accepting_requests and mentor.unavailable_until is None
    assert mentor.pk in _offered(mentee, live_program)


@pytest.mark.parametrize("days", [0, -3, 367])
def test_an_unavailable_date_outside_the_coming_year_is_refused(mentor, client, days):
    until = timezone.localdate() + timedelta(days=days)
    response = client.post(f"{_home(mentor)}away/", {"away-until": until.isoformat()})
    assert response.status_code == 400
    assert 'id="id_away-until_error"' in response.content.decode()
    mentor.refresh_from_db()
    assert mentor.accepting_requests and mentor.unavailable_until is None


def test_a_mentee_cannot_pause(live_program, client):
    mentee = factories.ParticipantFactory(program=live_program)
    until = timezone.localdate() + timedelta(days=5)
    response = client.post(f"{_home(mentee)}away/", {"away-until": until.isoformat()})
    assert response.status_code == 400
    mentee.refresh_from_db()
    assert mentee.unavailable_until is None


def test_the_beat_resumes_mentors_on_their_day_in_the_organizations_zone(live_program, mentor):
    # Auckland is 13 hours ahead of UTC in December.
    org = live_program.organization
    org.timezone = "Pacific/Auckland"
    org.save()
    pairing = factories.PairingFactory(program=live_program, mentor=mentor)
    mentor.accepting_requests, mentor.unavailable_until = False, date(2026, 12, 10)
    mentor.save()
    elsewhere = factories.MentorFactory(
        program=factories.ProgramFactory(),  # London
        accepting_requests=False,
        unavailable_until=date(2026, 12, 10),
    )
    # 9 December, 10:59 UTC: 23:59 in Auckland, still the 9th there.
    assert personal.mentors_resume_due(now=datetime(2026, 12, 9, 10, 59, tzinfo=UTC)) == 0
    # 11:00 UTC: midnight in Auckland, the 10th there; still the 9th in London.
    assert personal.mentors_resume_due(now=datetime(2026, 12, 9, 11, 0, tzinfo=UTC)) == 1
    mentor.refresh_from_db()
    elsewhere.refresh_from_db()
    assert mentor.accepting_requests and mentor.unavailable_until is None
    assert not elsewhere.accepting_requests
    pairing.refresh_from_db()
    assert pairing.status == Pairing.Status.ACTIVE
    assert personal.mentors_resume_due(now=datetime(2026, 12, 10, 0, 0, tzinfo=UTC)) == 1
    elsewhere.refresh_from_db()
    assert elsewhere.accepting_requests


def test_the_beat_task_is_scheduled(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "pairing.tasks.resume_unavailable_mentors" in tasks


# --- A fresh link by email ----------------------------------------------------------------


def _ask_link(client, email):
    return client.post("/me/", {"email": email})


def test_known_and_unknown_addresses_get_the_same_answer(live_program, mentor, client):
    known = _ask_link(client, mentor.email.upper())
    unknown = _ask_link(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.content == unknown.content
    assert dict(known.headers) == dict(unknown.headers)
    emails = list(OutboundEmail.objects.filter(kind=EmailKind.HOME_LINK))
    assert [e.to_email for e in emails] == [mentor.email]
    link = re.search(r"/me/([A-Za-z0-9_-]+)/", emails[0].body_text).group(1)
    assert client.get(f"/me/{link}/").status_code == 200


def test_one_email_per_program_row_of_the_address(live_program, mentor, org, client):
    other = factories.ProgramFactory(organization=org, pairing_enabled=True)
    factories.ParticipantFactory(program=other, email=mentor.email)
    _ask_link(client, mentor.email)
    emails = OutboundEmail.objects.filter(kind=EmailKind.HOME_LINK)
    assert sorted(emails.values_list("program_id", flat=True)) == sorted(
        [live_program.pk, other.pk]
    )
    assert AccessLink.objects.filter(purpose=Purpose.HOME).count() == 2


def test_fresh_links_are_limited_per_address(mentor, client):
    for _ in range(personal.HOME_LINKS_PER_ADDRESS + 2):
        assert _ask_link(client, mentor.email).status_code == 200
    sent = OutboundEmail.objects.filter(kind=EmailKind.HOME_LINK).count()
    assert sent == personal.HOME_LINKS_PER_ADDRESS


@override_settings(TOKEN_PAGE_RATE_LIMIT=2)
def test_fresh_links_are_limited_per_ip(mentor):
    ratelimit.reset_fallback()
    client = Client()
    assert _ask_link(client, mentor.email).status_code == 200
    assert _ask_link(client, "a@example.org").status_code == 200
    assert _ask_link(client, "b@example.org").status_code == 429


def test_a_malformed_address_gets_a_clear_message(db, client):
    response = _ask_link(client, "not an address")
    assert response.status_code == 400 and "valid email address" in response.content.decode()
    assert not OutboundEmail.objects.exists()


def test_a_post_without_an_address_gets_a_clear_message(db, client):
    response = client.post("/me/")
    assert response.status_code == 400 and "Enter your email address." in response.content.decode()
    assert not OutboundEmail.objects.exists()


# --- "My mentoring" from an emailed link's page -------------------------------------------------


def test_every_emailed_link_page_offers_my_mentoring(live_program, mentor, client):
    request = _ask(mentor, live_program)
    pairing = factories.PairingFactory(program=live_program, mentor=mentor)
    _, session = link_create(
        purpose=Purpose.SESSION, participant=mentor, expires_at=timezone.now() + timedelta(days=9),
        object_id=pairing.pk,
    )  # fmt: skip
    preferences = factories.preferences_link(request.mentee)
    approve = _request_links(request)[Purpose.APPROVE]
    for page, button in (
        (f"/p/{preferences}/", f"/p/{preferences}/me/"),
        (f"/p/{preferences}/waitlist/", f"/p/{preferences}/me/"),
        (f"/r/{approve}/", f"/r/{approve}/me/"),
        (f"/s/{session}/", f"/s/{session}/me/"),
    ):
        html = _text(client.get(page))
        assert f'action="{button}"' in html, page
    assert not AccessLink.objects.filter(purpose=Purpose.HOME).exists()
    response = client.post(f"/s/{session}/me/")
    assert response.status_code == 303 and ME.match(response["Location"])
    assert (
        f"Approve {request.mentee.first_name}" in client.get(response["Location"]).content.decode()
    )
    response = client.post(f"/p/{preferences}/me/")
    assert "Your request to" in client.get(response["Location"]).content.decode()


def test_a_used_approve_link_still_opens_the_page_but_cannot_act_twice(
    live_program, mentor, client
):
    request = _ask(mentor, live_program)
    links = _request_links(request)
    assert client.post(f"/r/{links[Purpose.APPROVE]}/", {"choice": "approve"}).status_code == 302
    html = _text(client.get(f"/r/{links[Purpose.APPROVE]}/"))
    assert "What happens next" in html and "My mentoring" in html
    response = client.post(f"/r/{links[Purpose.APPROVE]}/me/")
    assert response.status_code == 303
    assert "Your pairings" in client.get(response["Location"]).content.decode()
    # Neither link acts again.
    client.post(f"/r/{links[Purpose.APPROVE]}/", {"choice": "decline"})
    client.post(f"/r/{links[Purpose.DECLINE]}/", {"choice": "decline"})
    request.refresh_from_db()
    assert request.status == Status.APPROVED and Pairing.objects.count() == 1


def test_an_expired_or_foreign_link_mints_nothing(live_program, mentor, client):
    _, raw = link_create(
        purpose=Purpose.SESSION, participant=mentor, expires_at=timezone.now() - timedelta(days=1)
    )
    assert client.post(f"/s/{raw}/me/").status_code == 404
    assert client.post("/p/not-a-token/me/").status_code == 404
    home = personal.home_link(mentor)
    assert client.post(f"/r/{home}/me/").status_code == 404
    assert client.get(f"/r/{home}/me/").status_code == 405
    assert AccessLink.objects.filter(purpose=Purpose.HOME).count() == 1


# --- Approve and Decline pages offer the other choice ----------------------------------------------


def test_the_approve_page_can_decline_instead(live_program, mentor, client):
    request = _ask(mentor, live_program)
    links = _request_links(request)
    html = _text(client.get(f"/r/{links[Purpose.APPROVE]}/"))
    assert "Approve and pair us" in html and "Decline instead" in html
    response = client.post(
        f"/r/{links[Purpose.APPROVE]}/", {"choice": "decline", "message": "Sorry, not now"}
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == Status.DECLINED and request.decline_message == "Sorry, not now"
    html = _text(client.get(f"/r/{links[Purpose.APPROVE]}/"))
    assert "Request declined" in html and "What happens next" in html
    assert AccessLink.objects.filter(purpose=Purpose.APPROVE, used_at__isnull=False).count() == 1


def test_the_decline_page_can_approve_instead(live_program, mentor, client):
    request = _ask(mentor, live_program)
    links = _request_links(request)
    html = _text(client.get(f"/r/{links[Purpose.DECLINE]}/"))
    assert "Decline the request" in html and "Or approve instead" in html
    response = client.post(f"/r/{links[Purpose.DECLINE]}/", {"choice": "approve"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == Status.APPROVED
    html = _text(client.get(f"/r/{links[Purpose.DECLINE]}/"))
    assert "You're paired with" in html and "What happens next" in html


def test_a_post_without_a_choice_does_what_its_link_says(live_program, mentor, client):
    request = _ask(mentor, live_program)
    links = _request_links(request)
    assert client.post(f"/r/{links[Purpose.DECLINE]}/").status_code == 302
    request.refresh_from_db()
    assert request.status == Status.DECLINED


def _form_as_shown(html: str) -> dict[str, str]:
    """The inputs and textareas of a page's form, with the values it shows."""
    data = {
        name: htmllib.unescape(value)
        for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)
    }
    for name, value in re.findall(
        r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S
    ):
        data[name] = htmllib.unescape(value).removeprefix("\n")
    return data


def test_an_admins_edit_between_showing_and_saving_the_profile_stays(live_program, mentor, client):
    """The person's stale copy of a field they didn't touch must not undo the admin's edit."""
    from programs.services import participant_update

    participant_update(participant=mentor, department="Engineering", location="Lyon")
    url = f"{_home(mentor)}profile/"
    shown = _form_as_shown(client.get(url).content.decode())
    assert shown["department"] == "Engineering"
    participant_update(participant=mentor, department="Research")  # the admin, meanwhile
    response = client.post(url, {**shown, "bio": "Ask me about APIs", "location": "Paris"})
    assert response.status_code == 303
    mentor.refresh_from_db()
    assert (mentor.department, mentor.location, mentor.bio) == (
        "Research",
        "Paris",
        "Ask me about APIs",
    )


def test_a_used_request_link_past_its_expiry_offers_no_my_mentoring_button(
    live_program, mentor, client
):
    """The page still says what was decided, but its button would only reach the neutral
    page: a used link mints nothing once it has expired."""
    request = _ask(mentor, live_program)
    links = _request_links(request)
    client.post(f"/r/{links[Purpose.APPROVE]}/", {"choice": "approve"})
    AccessLink.objects.filter(purpose=Purpose.APPROVE).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    html = _text(client.get(f"/r/{links[Purpose.APPROVE]}/"))
    assert "What happens next" in html
    assert f"/r/{links[Purpose.APPROVE]}/me/" not in html
    assert client.post(f"/r/{links[Purpose.APPROVE]}/me/").status_code == 404


def test_the_links_expiry_day_is_the_organizations(live_program, mentor, client):
    """Noon UTC on 10 January is already 11 January in Auckland."""
    org = live_program.organization
    org.timezone = "Pacific/Auckland"
    org.save(update_fields=["timezone"])
    _, raw = link_create(
        purpose=Purpose.HOME,
        participant=mentor,
        expires_at=datetime(2099, 1, 10, 12, 0, tzinfo=UTC),
    )
    assert "It works until 11 January 2099" in _text(client.get(f"/me/{raw}/"))


def test_a_redelivered_fresh_link_task_writes_no_second_email(live_program, mentor):
    """The task is acks_late: a worker lost after writing gets it again."""
    from pairing import tasks

    asked_at = timezone.now().isoformat()
    tasks.send_home_links(mentor.email, asked_at)
    tasks.send_home_links(mentor.email, asked_at)
    assert OutboundEmail.objects.filter(kind=EmailKind.HOME_LINK).count() == 1


def test_a_home_link_cannot_renew_itself_through_choose_mentors(live_program, client):
    """Choose mentors mints a preference link, whose page mints HOME links: it lasts no
    longer than the HOME link that made it, so access still ends with the emailed link."""
    mentee = factories.ParticipantFactory(program=live_program)
    home_expires = timezone.now() + timedelta(days=2)
    _, home = link_create(purpose=Purpose.HOME, participant=mentee, expires_at=home_expires)
    response = client.post(f"/me/{home}/choose/")
    assert response.status_code == 303
    minted = AccessLink.objects.get(purpose=Purpose.PREFERENCES, participant=mentee)
    assert minted.expires_at <= home_expires
    renewed = client.post(f"{response['Location']}me/")
    assert renewed.status_code == 303
    new_home = AccessLink.objects.filter(purpose=Purpose.HOME).latest("pk")
    assert new_home.expires_at <= home_expires
    # An emailed preference link still gives the full 30 days.
    emailed = factories.preferences_link(mentee)
    client.post(f"/p/{emailed}/me/")
    latest = AccessLink.objects.filter(purpose=Purpose.HOME).latest("pk")
    assert latest.expires_at > timezone.now() + personal.HOME_VALID_FOR - timedelta(minutes=1)


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_tabs_approving_two_requests_for_the_last_seat_pair_once(live_program):
    """My mentoring goes through the decision service's locks: the seat is given once, and
    the other tab gets a refusal, not a second pairing or a crash."""
    from tests.support.race import race

    mentor = factories.MentorFactory(program=live_program, capacity=1)
    one, two = _ask(mentor, live_program), _ask(mentor, live_program)
    home = _home(mentor)
    statuses = []

    def approve(request):
        def action():
            statuses.append(Client().post(f"{home}requests/{request.pk}/approve/").status_code)

        return action

    outcomes = race([approve(one), approve(two)])
    assert outcomes == ["won", "won"]  # each tab got a page
    assert sorted(statuses) == [303, 409]
    assert Pairing.objects.filter(mentor=mentor).active().count() == 1
    one.refresh_from_db()
    two.refresh_from_db()
    assert sorted([one.status, two.status]) == sorted([Status.APPROVED, Status.CLOSED])


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_pausing_while_a_request_is_approved_leaves_one_consistent_outcome(live_program):
    """Either the approval lands first (paired, then paused) or the pause does (the request
    closed and the approval refused): never both, never a crash."""
    from tests.support.race import race

    mentor = factories.MentorFactory(program=live_program, capacity=2)
    request = _ask(mentor, live_program)
    home = _home(mentor)
    until = (timezone.now() + timedelta(days=10)).date().isoformat()
    statuses = {}

    def approve():
        response = Client().post(f"{home}requests/{request.pk}/approve/")
        statuses["approve"] = response.status_code

    def pause():
        statuses["pause"] = Client().post(f"{home}away/", {"away-until": until}).status_code

    assert race([approve, pause]) == ["won", "won"]
    request.refresh_from_db()
    mentor.refresh_from_db()
    assert statuses["pause"] == 303 and not mentor.accepting_requests
    paired = Pairing.objects.filter(mentor=mentor).active().count()
    if statuses["approve"] == 303:
        assert request.status == Status.APPROVED and paired == 1
    else:
        assert statuses["approve"] == 409
        assert request.status == Status.CLOSED and paired == 0


def test_pages_that_know_no_program_speak_the_browsers_language(db, client):
    french = {"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9,en;q=0.5"}
    ask = client.get("/me/", **french)
    assert "Recevoir un lien vers ma page" in _text(ask)
    assert ask["Content-Language"] == "fr"
    unknown = client.get("/me/no-such-token/", **french)
    assert unknown.status_code == 404
    assert "Ce lien ne peut pas être utilisé" in _text(unknown)
    assert "Get a link to my page" in _text(client.get("/me/"))


def test_a_french_programs_personal_page_is_french_whatever_the_browser(mentor, client):
    Program = type(mentor.program)
    Program.objects.filter(pk=mentor.program_id).update(language="fr")
    mentor.program.refresh_from_db()
    page = client.get(_home(mentor), HTTP_ACCEPT_LANGUAGE="en")
    assert page["Content-Language"] == "fr"
    assert '<html lang="fr">' in page.content.decode()


def _queries_of(client, url) -> int:
    client.get(url)  # warm: the session's first renewal is not the page's
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_my_mentoring_reads_a_fixed_number_of_queries(live_program, client):
    """However many requests and pairings a mentor has, the page reads the same."""
    small = factories.MentorFactory(program=live_program, capacity=5)
    _ask(small, live_program)
    busy = factories.MentorFactory(program=live_program, capacity=5)
    for _ in range(2):
        services.request_approve(request_id=_ask(busy, live_program).pk)
    for _ in range(3):
        _ask(busy, live_program)
    few, many = _queries_of(client, _home(small)), _queries_of(client, _home(busy))
    # Three for the page's state, two for the program's questions and their options,
    # one for the answers of the mentor and of every mentee asking them.
    assert few == many == 6, (few, many)
