"""The mentee's personal page: Submit Your Mentor Preferences."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from pairing import services
from pairing.email_kinds import EmailKind
from pairing.models import MentorPreference, MentorRequest, Pairing
from pairing_admin.mail.links import Purpose, link_create
from pairing_admin.mail.models import OutboundEmail
from programs.models import Program
from tests import factories


@pytest.fixture
def live_program(org):
    return factories.ProgramFactory(organization=org, pairing_enabled=True)


def _link(mentee):
    return factories.preferences_link(mentee)


def _mentee(program, **kw):
    return factories.ParticipantFactory(
        program=program, skills=[], interests=["Data"], goals=["Python", "Leadership"], **kw
    )


def test_form_lists_mentors_with_room_best_match_first_with_reasons(live_program, client):
    mentee = _mentee(live_program)
    weak = factories.MentorFactory(program=live_program, first_name="Aaron", skills=["Cooking"])
    strong = factories.MentorFactory(
        program=live_program, first_name="Zoe", skills=["Python", "Leadership"]
    )
    full = factories.MentorFactory(program=live_program, first_name="Fully", capacity=0)
    away = factories.MentorFactory(
        program=live_program, first_name="Away", accepting_requests=False
    )
    response = client.get(f"/p/{_link(mentee)}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index(strong.full_name) < html.index(weak.full_name)
    assert "Skills: Python, Leadership" in html
    assert full.full_name not in html and away.full_name not in html
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "no-referrer"


def test_search_and_filters_narrow_the_list_and_keep_choices(live_program, client):
    mentee = _mentee(live_program)
    ana = factories.MentorFactory(program=live_program, first_name="Ana", department="Sales")
    bo = factories.MentorFactory(program=live_program, first_name="Bo", department="Legal")
    raw = _link(mentee)
    html = client.get(f"/p/{raw}/", {"department": "Legal"}).content.decode()
    assert bo.full_name in html and ana.full_name not in html
    # A choice made before searching stays on the page, selected.
    html = client.get(f"/p/{raw}/", {"q": "Bo", f"rank_{ana.pk}": "1"}).content.decode()
    assert ana.full_name in html and bo.full_name in html
    assert 'value="1" selected' in html


def test_submitting_choices_sends_the_request_and_shows_it_with_a_withdraw_button(
    live_program, client
):
    mentee = _mentee(live_program)
    first, second = factories.MentorFactory.create_batch(2, program=live_program)
    raw = _link(mentee)
    client.get(f"/p/{raw}/")
    response = client.post(
        f"/p/{raw}/choose/", {f"rank_{second.pk}": "1", f"rank_{first.pk}": "2", "note": "Hi"}
    )
    assert response.status_code == 302
    request = MentorRequest.objects.get()
    assert request.mentor == second and request.note == "Hi"
    assert list(MentorPreference.objects.values_list("mentor_id", flat=True)) == [
        second.pk,
        first.pk,
    ]
    html = client.get(response.url).content.decode()
    assert f"Your request is with {second.full_name}" in html and "Withdraw my request" in html
    assert client.post(f"/p/{raw}/withdraw/", {"request": request.pk}).status_code == 302
    request.refresh_from_db()
    assert request.status == MentorRequest.Status.WITHDRAWN
    assert "Send my request" in client.get(f"/p/{raw}/").content.decode()


@pytest.mark.parametrize(
    ("ranks", "message"),
    [
        ({}, "Choose at least one mentor"),
        ({"a": "1", "b": "1"}, "different place"),
        ({"a": "4"}, "up to 3 mentors"),
    ],
)
def test_invalid_choices_are_refused_with_a_reason(live_program, client, ranks, message):
    mentee = _mentee(live_program)
    mentors = {"a": factories.MentorFactory(program=live_program)}
    mentors["b"] = factories.MentorFactory(program=live_program)
    data = {f"rank_{mentors[k].pk}": v for k, v in ranks.items()}
    response = client.post(f"/p/{_link(mentee)}/choose/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not MentorRequest.objects.exists()


def test_a_mentor_not_offered_cannot_be_chosen(live_program, client):
    mentee = _mentee(live_program)
    full = factories.MentorFactory(program=live_program, capacity=0)
    response = client.post(f"/p/{_link(mentee)}/choose/", {f"rank_{full.pk}": "1"})
    assert response.status_code == 409 and not MentorRequest.objects.exists()
    assert "has room any more" in response.content.decode()
    elsewhere = factories.MentorFactory(
        program=factories.ProgramFactory(organization=live_program.organization)
    )
    response = client.post(f"/p/{_link(mentee)}/choose/", {f"rank_{elsewhere.pk}": "1"})
    assert response.status_code == 400 and not MentorRequest.objects.exists()


@pytest.mark.parametrize("process", [Program.Process.USER_LED, Program.Process.USER_LED_APPROVAL])
def test_a_choice_that_filled_up_after_the_page_was_shown_passes_to_the_next(
    live_program, client, process
):
    """The mentee ranked a mentor who then filled up: the next choice is used, and said so."""
    Program.objects.filter(pk=live_program.pk).update(pairing_process=process)
    mentee = _mentee(live_program)
    first = factories.MentorFactory(program=live_program, capacity=1)
    second = factories.MentorFactory(program=live_program)
    raw = _link(mentee)
    assert first.full_name in client.get(f"/p/{raw}/").content.decode()
    factories.PairingFactory(program=live_program, mentor=first)
    response = client.post(
        f"/p/{raw}/choose/", {f"rank_{first.pk}": "1", f"rank_{second.pk}": "2"}, follow=True
    )
    html = response.content.decode()
    assert "Your earlier choices aren&#x27;t available any more" in html
    if process == Program.Process.USER_LED:
        assert Pairing.objects.get(mentee=mentee).mentor == second
    else:
        assert MentorRequest.objects.get(mentee=mentee, status="pending").mentor == second


def test_paused_pairing_says_so_and_accepts_nothing(live_program, client):
    Program.objects.filter(pk=live_program.pk).update(pairing_enabled=False)
    mentee = _mentee(live_program)
    mentor = factories.MentorFactory(program=live_program)
    raw = _link(mentee)
    html = client.get(f"/p/{raw}/").content.decode()
    assert "Pairing is paused" in html and "Send my request" not in html
    response = client.post(f"/p/{raw}/choose/", {f"rank_{mentor.pk}": "1"})
    page = response.content.decode()
    assert response.status_code == 409 and "pairing is paused for now" in page
    assert "Pairing page" not in page  # the admins' wording is not the mentee's
    assert not MentorRequest.objects.exists()


def test_a_paired_mentee_sees_their_pairing_instead_of_the_form(live_program, client):
    mentee = _mentee(live_program)
    mentor = factories.MentorFactory(program=live_program)
    factories.PairingFactory(program=live_program, mentee=mentee, mentor=mentor)
    html = client.get(f"/p/{_link(mentee)}/").content.decode()
    assert f"You're paired with {mentor.full_name}" in html and "Send my request" not in html


def test_without_approval_the_form_pairs_at_once(live_program, client):
    Program.objects.filter(pk=live_program.pk).update(pairing_process=Program.Process.USER_LED)
    mentee = _mentee(live_program)
    mentor = factories.MentorFactory(program=live_program)
    raw = _link(mentee)
    assert "Confirm my mentor" in client.get(f"/p/{raw}/").content.decode()
    client.post(f"/p/{raw}/choose/", {f"rank_{mentor.pk}": "1"})
    assert Pairing.objects.get().mentor == mentor
    assert OutboundEmail.objects.filter(kind=EmailKind.ASSIGNMENT).count() == 2


def test_declined_message_is_shown_when_the_mentee_comes_back(live_program, client):
    mentee = _mentee(live_program)
    mentor = factories.MentorFactory(program=live_program)
    other = factories.MentorFactory(program=live_program)
    request = services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk]).request
    services.request_decline(request_id=request.pk, message="Full this term")
    html = client.get(f"/p/{_link(mentee)}/").content.decode()
    assert "Full this term" in html and "Send my request" in html
    # The mentor who said no is not offered again; the other one is.
    assert f'name="rank_{other.pk}"' in html and f'name="rank_{mentor.pk}"' not in html


def test_other_links_get_the_neutral_page(live_program, client):
    mentee = _mentee(live_program)
    mentor = factories.MentorFactory(program=live_program)
    _, mentor_pref = link_create(
        purpose=Purpose.PREFERENCES,
        participant=mentor,
        expires_at=timezone.now() + timedelta(days=1),
    )
    _, expired = link_create(
        purpose=Purpose.PREFERENCES,
        participant=mentee,
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    for raw in (mentor_pref, expired, "nope"):
        for response in (client.get(f"/p/{raw}/"), client.post(f"/p/{raw}/choose/")):
            assert response.status_code == 404
            assert "This link can't be used" in response.content.decode()


def test_token_pages_are_rate_limited_per_address(live_program, settings):
    settings.TOKEN_PAGE_RATE_LIMIT = 3
    raw = _link(_mentee(live_program))
    client = Client(REMOTE_ADDR="10.0.0.1")
    assert [client.get(f"/p/{raw}/").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert Client(REMOTE_ADDR="10.0.0.2").get(f"/p/{raw}/").status_code == 200


@pytest.mark.parametrize("mentors", [10, 200])
def test_form_query_count_is_fixed(live_program, client, django_assert_num_queries, mentors):
    mentee = _mentee(live_program)
    factories.MentorFactory.create_batch(mentors, program=live_program, skills=["Python"])
    raw = _link(mentee)
    # link, mentee's pairing, latest request, mentors with room, requests waiting per
    # mentor (in the same statement on PostgreSQL), bios of the cards shown, the
    # mentee's waitlist entry
    # and the mentee's answers, once the process holds the program's mentor pool and
    # rules (the first view also reads the rules, their options and the questions the
    # mentors' cards show)
    client.get(f"/p/{raw}/")
    with django_assert_num_queries(7 if connection.vendor == "postgresql" else 11):
        response = client.get(f"/p/{raw}/")
    assert response.status_code == 200


def test_each_mentor_shows_the_requests_waiting_and_those_who_may_fill_come_last(
    live_program, client
):
    """A mentor whose waiting requests already cover their free seats is listed after
    the mentors with room, even when they match better, and says why."""
    mentee = _mentee(live_program)
    covered = factories.MentorFactory(
        program=live_program, first_name="Cora", capacity=1, skills=["Python", "Leadership"]
    )
    busy = factories.MentorFactory(
        program=live_program, first_name="Bea", capacity=3, skills=["Python", "Leadership"]
    )
    roomy = factories.MentorFactory(program=live_program, first_name="Ron", skills=["Cooking"])
    for mentor in (covered, busy):
        other = factories.ParticipantFactory(program=live_program)
        services.preferences_submit(mentee=other, mentor_ids=[mentor.pk])

    html = client.get(f"/p/{_link(mentee)}/").content.decode()

    # Bea has a request waiting and two seats left: still listed first (best match).
    # Cora's one waiting request covers her one seat: after Ron, who matches worse.
    assert html.index(busy.full_name) < html.index(roomy.full_name) < html.index(covered.full_name)
    card = html[html.index(covered.full_name) :]
    assert (
        "1 request already waiting for them: they may fill before they answer yours."
        in card[: card.index("</li>")]
    )
    bea = html[html.index(busy.full_name) :]
    bea = bea[: bea.index("</li>")]
    assert "1 request already waiting for them." in bea and "may fill" not in bea
    ron = html[html.index(roomy.full_name) :]
    assert "already waiting" not in ron[: ron.index("</li>")]
