"""Mentoring sessions: the personal link (GET never writes, POST logs, replay after end
refused), admins logging and cancelling on the pairing's page, the pairing's history."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pairing import services
from pairing.health import local_today
from pairing.models import MentoringSession, MentorRequest
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.links import Purpose, link_create
from pairing_admin.mail.models import OutboundEmail
from programs.models import ActivityEvent
from tests import factories
from tests.support.builders import pair


def _link(pairing, person=None, purpose=Purpose.SESSION, **kw):
    _, raw = link_create(
        purpose=purpose, participant=person or pairing.mentee, object_id=pairing.pk,
        expires_at=kw.get("expires_at", timezone.now() + timedelta(days=30)),
    )  # fmt: skip
    return reverse("pairing:session_link", kwargs={"token": raw})


def _form(client, url) -> dict:
    page = client.get(url)
    token = page.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    return {"csrfmiddlewaretoken": token}


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


def test_get_shows_the_form_and_writes_nothing(program, csrf_client):
    pairing = pair(program, days_ago=10)
    url = _link(pairing)
    for _ in range(3):  # a mail scanner opening it again and again
        response = csrf_client.get(url)
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store"
        assert response["Referrer-Policy"] == "no-referrer"
        assert csrf_client.head(url).status_code == 200
    html = response.content.decode()
    assert "Log a mentoring session" in html and pairing.mentor.full_name in html
    assert not MentoringSession.objects.exists()


def test_post_logs_a_session_and_the_link_can_be_used_again(program, csrf_client):
    pairing = pair(program, days_ago=10)
    url = _link(pairing, pairing.mentor)
    today = timezone.localdate()
    data = {
        **_form(csrf_client, url),
        "date": today.isoformat(),
        "minutes": "45",
        "note": "Roadmap",
    }
    response = csrf_client.post(url, data)
    assert response.status_code == 302 and response.url.endswith("?logged=1")
    assert "your session is logged" in csrf_client.get(response.url).content.decode()
    session = MentoringSession.objects.get()
    assert (session.date, session.minutes, session.note) == (today, 45, "Roadmap")
    assert session.logged_by_participant == pairing.mentor and session.status == "logged"
    csrf_client.post(url, data)  # a resubmitted form logs it once
    assert MentoringSession.objects.count() == 1
    data["date"] = (today - timedelta(days=3)).isoformat()
    csrf_client.post(url, data)
    assert MentoringSession.objects.count() == 2


def test_post_from_a_no_referrer_page_is_accepted_on_the_strength_of_the_token(
    program, csrf_client
):
    # The page sends Referrer-Policy: no-referrer, so browsers post "Origin: null"
    # and no Referer; the token in the URL is the credential, not a cookie.
    pairing = pair(program, days_ago=10)
    response = csrf_client.post(
        _link(pairing),
        {"date": timezone.localdate().isoformat(), "minutes": "30"},
        HTTP_ORIGIN="null",
    )
    assert response.status_code == 302
    assert MentoringSession.objects.count() == 1
    forged = csrf_client.post(
        reverse("pairing:session_link", kwargs={"token": "guessed-token"}),
        {"date": timezone.localdate().isoformat(), "minutes": "30"},
        HTTP_ORIGIN="null",
    )
    assert forged.status_code == 404
    assert MentoringSession.objects.count() == 1


def test_future_date_is_an_upcoming_session(program, csrf_client):
    pairing = pair(program, days_ago=10)
    url = _link(pairing)
    day = timezone.localdate() + timedelta(days=7)
    csrf_client.post(url, {**_form(csrf_client, url), "date": day.isoformat(), "minutes": "30"})
    assert MentoringSession.objects.get().status == "scheduled"


def test_invalid_values_show_errors_and_log_nothing(program, csrf_client):
    pairing = pair(program, days_ago=10)
    url = _link(pairing)
    before_start = timezone.localdate() - timedelta(days=30)
    response = csrf_client.post(
        url, {**_form(csrf_client, url), "date": before_start.isoformat(), "minutes": "30"}
    )
    assert response.status_code == 400 and "The pairing began on" in response.content.decode()
    response = csrf_client.post(url, {**_form(csrf_client, url), "date": "x", "minutes": "2"})
    assert response.status_code == 400
    assert not MentoringSession.objects.exists()


def test_link_is_refused_after_the_pairing_ends(program, org_admin, csrf_client):
    pairing = pair(program, days_ago=10)
    url = _link(pairing)
    data = {**_form(csrf_client, url), "date": timezone.localdate().isoformat(), "minutes": "30"}
    services.pairing_end(program=program, pairing_id=pairing.pk, user=org_admin, reason="x", notify=False)  # fmt: skip
    assert csrf_client.get(url).status_code == 404
    response = csrf_client.post(url, data)
    assert response.status_code == 404 and "This link can't be used" in response.content.decode()
    assert not MentoringSession.objects.exists()


@pytest.mark.parametrize("case", ["unknown", "expired", "wrong_purpose", "not_in_pairing"])
def test_bad_links_get_the_neutral_page(case, program, client):
    pairing = pair(program, days_ago=10)
    if case == "unknown":
        url = reverse("pairing:session_link", kwargs={"token": "x" * 43})
    elif case == "expired":
        url = _link(pairing, expires_at=timezone.now() - timedelta(seconds=1))
    elif case == "wrong_purpose":
        url = _link(pairing, purpose=Purpose.PREFERENCES)
    else:
        url = _link(pairing, factories.ParticipantFactory(program=program))
    response = client.get(url)
    assert response.status_code == 404
    assert "This link can't be used" in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_service_refuses_a_stranger_and_bad_lengths(program):
    pairing = pair(program, days_ago=10)
    stranger = factories.ParticipantFactory(program=program)
    with pytest.raises(DomainError, match="Only the mentee and mentor"):
        services.session_log(pairing=pairing, on=timezone.localdate(), minutes=30, participant=stranger)  # fmt: skip
    with pytest.raises(DomainError, match="between 5 and 600"):
        services.session_log(pairing=pairing, on=timezone.localdate(), minutes=601, participant=pairing.mentee)  # fmt: skip


def test_admin_logs_and_cancels_a_session_on_the_pairing_page(program, org_admin_client):
    pairing = pair(program, days_ago=10)
    add = reverse("pairing:session_add", args=[program.pk, pairing.pk])
    response = org_admin_client.post(
        add, {"date": timezone.localdate().isoformat(), "minutes": "60", "note": "Kick-off"}
    )
    assert response.status_code == 302
    session = MentoringSession.objects.get()
    assert session.logged_by_user is not None and session.note == "Kick-off"
    assert ActivityEvent.objects.filter(verb="session_logged").exists()
    cancel = reverse("pairing:session_cancel", args=[program.pk, pairing.pk, session.pk])
    assert org_admin_client.get(cancel).status_code == 405
    org_admin_client.post(cancel)
    session.refresh_from_db()
    assert session.status == "cancelled"
    assert ActivityEvent.objects.filter(verb="session_cancelled").exists()


def test_pairing_page_shows_its_history(program, org_admin, org_admin_client):
    pairing = pair(program, days_ago=10, sessions=[2])
    MentorRequest.objects.create(
        program=program, mentee=pairing.mentee, mentor=pairing.mentor, note="Keen on SQL",
        status="approved", decided_at=timezone.now(), expires_at=timezone.now(),
    )  # fmt: skip
    OutboundEmail.objects.create(
        program=program, kind="assignment", idempotency_key="x", to_email=pairing.mentor.email,
        subject="Mentorship Assignments: you are paired", body_text=".",
    )  # fmt: skip
    services.pairing_end(program=program, pairing_id=pairing.pk, user=org_admin, reason="Project ended", notify=False)  # fmt: skip
    html = org_admin_client.get(
        reverse("pairing:detail", args=[program.pk, pairing.pk])
    ).content.decode()
    assert "Keen on SQL" in html and "paired from a request" in html
    assert "Mentorship Assignments: you are paired" in html
    assert "Project ended" in html and "45" in html


def test_pairing_page_is_404_for_outsiders(program, other_admin_client):
    pairing = pair(program)
    url = reverse("pairing:detail", args=[program.pk, pairing.pk])
    assert other_admin_client.get(url).status_code == 404
    add = reverse("pairing:session_add", args=[program.pk, pairing.pk])
    assert other_admin_client.post(add, {"date": "2026-01-01", "minutes": 30}).status_code == 404
    assert not MentoringSession.objects.filter(minutes=30).exists()


def test_the_session_link_is_rate_limited_per_address(program, settings):
    # Guessing tokens on /s/ costs as much as on the other token pages.
    settings.TOKEN_PAGE_RATE_LIMIT = 3
    url = _link(pair(program, days_ago=10))
    client = Client(REMOTE_ADDR="10.0.0.1")
    statuses = [client.get(url).status_code for _ in range(3)]
    guess = reverse("pairing:session_link", kwargs={"token": "x" * 43})
    statuses += [client.get(guess).status_code, client.post(url, {"minutes": "30"}).status_code]
    assert statuses == [200, 200, 200, 429, 429]
    assert MentoringSession.objects.count() == 0
    assert Client(REMOTE_ADDR="10.0.0.2").get(url).status_code == 200


def test_date_fields_are_filled_with_an_iso_date_the_browser_can_show(
    program, client, org_admin_client
):
    # <input type="date"> shows nothing for a value like 07/12/2026.
    pairing = pair(program, days_ago=10)
    today = local_today(program).isoformat()
    field = f'type="date" name="date" value="{today}"'
    assert field in client.get(_link(pairing)).content.decode()
    detail = reverse("pairing:detail", args=[program.pk, pairing.pk])
    assert field in org_admin_client.get(detail).content.decode()
