"""The public registration link: /join/<token>/."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pairing_admin.lib import ratelimit
from pairing_admin.mail.models import OutboundEmail
from programs import hooks, registration
from programs.models import Participant, PendingRegistration, Program
from programs.questions import questions_of
from tests import factories
from tests.programs import registering
from tests.support.answers import answers_by_key


def _url(program) -> str:
    return reverse("register", kwargs={"token": program.registration_token})


def _form(**overrides) -> dict:
    data = {
        "role": "mentee",
        "first_name": "Zoe",
        "last_name": "Quinn",
        "email": "Zoe@Example.org",
        "title": "Analyst",
        "department": "Finance",
        "location": "Leeds",
        "goals": "Excel, SQL",
        "interests": "data; leadership",
        "bio": "Hello",
        "capacity": "",
    }
    data.update(overrides)
    return data


def test_form_is_public_and_get_writes_nothing(anon_client, program):
    response = anon_client.get(_url(program), _form())
    html = response.content.decode()
    assert response.status_code == 200
    assert f"Join {program.name}" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "I want to join as a" in html
    assert 'name="capacity"' in html
    assert not Participant.objects.exists()


def _sent_page(client, program) -> str:
    # The CSRF token is masked afresh for every response: the rest must match.
    page = client.get(_url(program) + "?sent=1").content.decode()
    return re.sub(r'"X-CSRFToken": "[^"]+"', "TOKEN", page)


def test_submitting_the_form_creates_nobody_and_emails_a_confirmation_link(
    anon_client, program, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = anon_client.post(_url(program), _form())

    assert response.status_code == 302
    assert response.url == _url(program) + "?sent=1"
    assert not Participant.objects.exists()
    # One email, through the outbox, handed over after the commit and sent.
    email = registering.confirm_emails(program).get()
    assert email.to_email == "zoe@example.org"
    assert email.to_name == ""  # what a visitor typed is not put in a header
    assert len(callbacks) == 1
    assert email.status == OutboundEmail.Status.SENT
    assert [m.to for m in mail.outbox] == [["zoe@example.org"]]
    assert email.subject == f"Confirm your registration for {program.name}"
    assert "48 hours" in email.body_text
    code = registering.emailed_code(program, "zoe@example.org")
    assert f'href="http://testserver{registering.confirm_url(program, code)}"' in (
        email.body_html.replace(settings.PUBLIC_BASE_URL, "http://testserver")
    )
    # The token is in the email only: the row keeps its hash and what was typed.
    pending = PendingRegistration.objects.get()
    assert pending.token_hash == hashlib.sha256(code.encode()).hexdigest()
    assert code not in str(pending.details)
    assert pending.details["department"] == "Finance"
    page = _sent_page(anon_client, program)
    assert "Check your email" in page and "48 hours" in page


def test_the_link_opened_shows_the_details_and_changes_nothing(anon_client, program):
    anon_client.post(_url(program), _form())
    code = registering.emailed_code(program, "zoe@example.org")
    before = PendingRegistration.objects.values().get()

    response = anon_client.get(registering.confirm_url(program, code))
    head = anon_client.head(registering.confirm_url(program, code))

    assert (response.status_code, head.status_code) == (200, 200)
    html = response.content.decode()
    assert "Confirm your registration" in html
    assert "zoe@example.org" in html and "Finance" in html and "Excel, SQL" in html
    assert '<button type="submit" class="button primary">Confirm</button>' in html
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert not Participant.objects.exists()
    assert PendingRegistration.objects.values().get() == before


def test_confirming_creates_the_person_with_what_they_typed(anon_client, program):
    anon_client.post(_url(program), _form())
    code = registering.emailed_code(program, "zoe@example.org")

    response = anon_client.post(registering.confirm_url(program, code))

    assert response.status_code == 200
    assert "Thank you: you have joined" in response.content.decode()
    person = Participant.objects.get()
    assert person.program == program
    assert person.email == "zoe@example.org"
    assert (person.role, person.first_name, person.last_name) == ("mentee", "Zoe", "Quinn")
    assert (person.title, person.department, person.location) == ("Analyst", "Finance", "Leeds")
    assert answers_by_key(person) == {
        "goals": ["Excel", "SQL"],
        "interests": ["data", "leadership"],
    }
    assert person.capacity == 0
    assert person.source == Participant.Source.REGISTRATION
    pending = PendingRegistration.objects.get()
    assert pending.confirmed_at is not None
    assert pending.details == {}  # now in the participant; not kept twice


def test_a_second_confirm_says_the_link_was_used_and_changes_nothing(anon_client, program):
    anon_client.post(_url(program), _form())
    url = registering.confirm_url(program, registering.emailed_code(program, "zoe@example.org"))
    anon_client.post(url)
    before = list(Participant.objects.values())

    again = anon_client.post(url)
    opened = anon_client.get(url)

    for response in (again, opened):
        assert response.status_code == 410
        html = response.content.decode()
        assert "This link has already been used" in html
        assert f'href="{_url(program)}"' in html  # a way to register again
    assert list(Participant.objects.values()) == before


def test_an_expired_link_applies_nothing_and_offers_to_register_again(anon_client, program):
    anon_client.post(_url(program), _form())
    url = registering.confirm_url(program, registering.emailed_code(program, "zoe@example.org"))
    PendingRegistration.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    for response in (anon_client.get(url), anon_client.post(url)):
        assert response.status_code == 410
        html = response.content.decode()
        assert "This link has expired: links work for 48 hours" in html
        assert f'href="{_url(program)}"' in html
    assert not Participant.objects.exists()
    assert PendingRegistration.objects.get().confirmed_at is None


def test_the_link_expires_48_hours_after_the_form_was_sent(anon_client, program):
    before = timezone.now()
    anon_client.post(_url(program), _form())
    pending = PendingRegistration.objects.get()
    assert (
        before + timedelta(hours=48) <= pending.expires_at <= timezone.now() + timedelta(hours=48)
    )


def test_an_unknown_link_says_so_and_offers_to_register_again(anon_client, program):
    url = registering.confirm_url(program, "not-a-real-code")
    for response in (anon_client.get(url), anon_client.post(url)):
        assert response.status_code == 404
        html = response.content.decode()
        assert "We don't know this link" in html
        assert f'href="{_url(program)}"' in html
    assert not Participant.objects.exists()
    # Another program's link and code do not mix.
    anon_client.post(_url(program), _form())
    code = registering.emailed_code(program, "zoe@example.org")
    other = factories.ProgramFactory(organization=program.organization)
    assert anon_client.post(registering.confirm_url(other, code)).status_code == 404
    assert not Participant.objects.exists()


def test_known_and_new_addresses_get_the_same_answer_and_the_same_email(anon_client, program):
    # The link goes to a whole organization: the page must not tell a visitor
    # who is in the program, and both addresses get their confirmation email.
    factories.ParticipantFactory(program=program, email="known@example.org")
    known = anon_client.post(_url(program), _form(email="known@example.org"))
    known_page = _sent_page(anon_client, program)
    new = anon_client.post(_url(program), _form(email="new@example.org"))
    new_page = _sent_page(anon_client, program)

    assert (known.status_code, known.url, known.content) == (new.status_code, new.url, new.content)
    assert known_page == new_page
    emails = registering.confirm_emails(program).order_by("pk")
    assert [e.to_email for e in emails] == ["known@example.org", "new@example.org"]
    assert emails[0].subject == emails[1].subject
    assert emails[0].body_text.split("http")[0] == emails[1].body_text.split("http")[0]
    assert PendingRegistration.objects.count() == 2


def test_confirming_a_known_email_changes_nothing_and_says_so(anon_client, program):
    # Even with the address proven, a registration does not rewrite a profile
    # or turn a mentee into a mentor: admins edit profiles.
    imported = factories.ParticipantFactory(
        program=program,
        email="zoe@example.org",
        role=Participant.Role.MENTEE,
        department="Finance",
        first_name="Zoe",
        capacity=0,
        source=Participant.Source.IMPORT,
    )
    before = Participant.objects.values().get(pk=imported.pk)
    anon_client.post(
        _url(program),
        _form(email=" ZOE@example.ORG ", role="mentor", department="Legal", first_name="Mallory"),
    )
    url = registering.confirm_url(program, registering.emailed_code(program, "zoe@example.org"))

    response = anon_client.post(url)

    assert response.status_code == 200
    assert "This address was already in" in response.content.decode()
    assert Participant.objects.count() == 1
    assert Participant.objects.values().get(pk=imported.pk) == before
    assert anon_client.post(url).status_code == 410


def test_hooks_run_when_the_address_is_confirmed_not_when_the_form_is_sent(
    anon_client, program, monkeypatch
):
    heard = []
    monkeypatch.setattr(hooks, "_participants_added", [lambda **kw: heard.append("added")])
    monkeypatch.setattr(hooks, "_mentors_changed", [lambda **kw: heard.append("mentors")])
    anon_client.post(_url(program), _form(role="mentor", capacity="4"))
    assert heard == []

    registering.register(anon_client, program, **_form(role="mentor", capacity="4"))

    assert heard == ["added", "mentors"]
    assert Participant.objects.get().capacity == 4


def test_sending_the_form_again_reuses_the_row_and_only_the_newest_link_works(anon_client, program):
    anon_client.post(_url(program), _form(department="Finance"))
    first = registering.emailed_code(program, "zoe@example.org")
    anon_client.post(_url(program), _form(department="Legal"))
    second = registering.emailed_code(program, "zoe@example.org")

    assert first != second
    assert PendingRegistration.objects.count() == 1
    assert anon_client.post(registering.confirm_url(program, first)).status_code == 404
    assert anon_client.post(registering.confirm_url(program, second)).status_code == 200
    assert Participant.objects.get().department == "Legal"


def test_one_address_gets_at_most_three_emails_an_hour(anon_client, program):
    for n in range(5):
        response = anon_client.post(
            _url(program), _form(first_name=f"Try{n}"), REMOTE_ADDR=f"10.0.0.{n}"
        )
        assert (response.status_code, response.url) == (302, _url(program) + "?sent=1")
    assert registering.confirm_emails(program).count() == 3
    # The limited submissions changed nothing: the newest email's link applies its own details.
    code = registering.emailed_code(program, "zoe@example.org")
    assert PendingRegistration.objects.get().details["first_name"] == "Try2"

    # An hour after the first email, the address may be sent another.
    PendingRegistration.objects.update(
        window_started_at=timezone.now() - timedelta(hours=1, seconds=1)
    )
    anon_client.post(_url(program), _form(first_name="Later"))
    assert registering.confirm_emails(program).count() == 4
    assert anon_client.post(registering.confirm_url(program, code)).status_code == 404


def test_mentor_capacity_defaults_to_the_programs_and_can_be_chosen(anon_client, program):
    registering.register(anon_client, program, **_form(role="mentor", email="m1@example.org"))
    registering.register(
        anon_client, program, **_form(role="mentor", email="m2@example.org", capacity="5")
    )
    capacities = dict(Participant.objects.values_list("email", "capacity"))
    assert capacities == {"m1@example.org": program.default_mentor_capacity, "m2@example.org": 5}


def test_the_same_email_in_another_program_is_another_person(anon_client, program):
    other = factories.ProgramFactory(organization=program.organization)
    factories.ParticipantFactory(program=other, email="zoe@example.org", first_name="Other")
    registering.register(anon_client, program, **_form())
    assert Participant.objects.filter(email="zoe@example.org").count() == 2
    assert Participant.objects.get(program=other).first_name == "Other"


def test_invalid_form_shows_errors_and_writes_nothing(anon_client, program):
    response = anon_client.post(
        _url(program), _form(email="not-an-email", role="boss", capacity="99")
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"email", "role", "capacity"}
    assert 'id="id_email_error"' in response.content.decode()
    assert not Participant.objects.exists()
    assert not PendingRegistration.objects.exists()
    assert not OutboundEmail.objects.exists()


def test_an_email_that_cannot_be_written_leaves_no_pending_row(anon_client, program, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the outbox is broken")

    monkeypatch.setattr(registration, "confirmation_email_write", broken)
    with pytest.raises(RuntimeError):
        anon_client.post(_url(program), _form())
    assert not PendingRegistration.objects.exists()
    assert not OutboundEmail.objects.exists()


def test_closed_registration_takes_no_form_and_writes_nothing(anon_client, program):
    Program.objects.filter(pk=program.pk).update(registration_open=False)
    for response in (anon_client.get(_url(program)), anon_client.post(_url(program), _form())):
        assert response.status_code == 200
        html = response.content.decode()
        assert "Registration is closed" in html
        assert 'name="email"' not in html
    assert not PendingRegistration.objects.exists()
    assert not OutboundEmail.objects.exists()


def test_registration_closed_before_the_confirm_applies_nothing(anon_client, program):
    anon_client.post(_url(program), _form())
    url = registering.confirm_url(program, registering.emailed_code(program, "zoe@example.org"))
    Program.objects.filter(pk=program.pk).update(registration_open=False)

    for response in (anon_client.get(url), anon_client.post(url)):
        assert response.status_code == 409
        html = response.content.decode()
        assert "stopped taking new registrations after you filled in the form" in html
        assert "Confirm</button>" not in html
    assert not Participant.objects.exists()
    assert PendingRegistration.objects.get().confirmed_at is None

    # Open again, the same link still works until it expires.
    Program.objects.filter(pk=program.pk).update(registration_open=True)
    assert anon_client.post(url).status_code == 200
    assert Participant.objects.count() == 1


def test_an_evergreen_program_keeps_registration_open(program):
    with pytest.raises(IntegrityError), transaction.atomic():
        Program.objects.filter(pk=program.pk).update(
            program_type=Program.Type.EVERGREEN, registration_open=False
        )


def test_post_without_csrf_token_is_refused(program):
    client = Client(enforce_csrf_checks=True)
    response = client.post(_url(program), _form())
    assert response.status_code == 403
    assert not PendingRegistration.objects.exists()

    client.get(_url(program))
    token = client.cookies["csrftoken"].value
    response = client.post(_url(program), {**_form(), "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert not Participant.objects.exists()


def test_confirm_works_from_a_browser_that_posts_origin_null(program):
    # The confirm page sends Referrer-Policy: no-referrer, so browsers post
    # "Origin: null" and no Referer; the code in the URL is the credential.
    Client().post(_url(program), _form())
    url = registering.confirm_url(program, registering.emailed_code(program, "zoe@example.org"))
    browser = Client(enforce_csrf_checks=True, HTTP_ORIGIN="null")
    page = browser.get(url)
    assert page["Referrer-Policy"] == "no-referrer"
    assert browser.post(url).status_code == 200
    assert Participant.objects.filter(email="zoe@example.org").count() == 1


def test_confirm_posts_are_rate_limited_per_address(program, settings):
    settings.TOKEN_PAGE_RATE_LIMIT = 3
    client = Client(REMOTE_ADDR="10.9.9.9")
    url = registering.confirm_url(program, "guessed-code")
    assert [client.post(url).status_code for _ in range(4)] == [404, 404, 404, 429]
    assert not Participant.objects.exists()


def test_unknown_token_is_404(anon_client, program):
    url = reverse("register", kwargs={"token": "not-a-real-token"})
    assert anon_client.get(url).status_code == 404
    assert anon_client.post(url, _form()).status_code == 404
    confirm = reverse("register_confirm", kwargs={"token": "not-a-real-token", "code": "x"})
    assert anon_client.get(confirm).status_code == 404
    assert not Participant.objects.exists()
    assert not PendingRegistration.objects.exists()


def test_over_the_rate_limit_answers_429_and_writes_nothing(anon_client, program, settings):
    settings.REGISTRATION_RATE_LIMIT = 2
    for n in range(2):
        response = anon_client.post(_url(program), _form(email=f"p{n}@example.org"))
        assert response.status_code == 302

    response = anon_client.post(_url(program), _form(email="third@example.org"))

    assert response.status_code == 429
    assert "Please try again later" in response.content.decode()
    assert not PendingRegistration.objects.filter(email="third@example.org").exists()
    assert PendingRegistration.objects.count() == 2
    assert registering.confirm_emails(program).count() == 2
    # The form itself still shows, and another address is not limited.
    assert anon_client.get(_url(program)).status_code == 200
    other = anon_client.post(
        _url(program), _form(email="third@example.org"), REMOTE_ADDR="10.9.8.7"
    )
    assert other.status_code == 302


@pytest.mark.parametrize("limit", [1, 3])
def test_rate_limiter_allows_exactly_the_limit_per_identity(limit):
    results = [
        ratelimit.hit("t", "1.2.3.4", limit=limit, window_seconds=60) for _ in range(limit + 2)
    ]
    assert results == [True] * limit + [False, False]
    assert ratelimit.hit("t", "5.6.7.8", limit=limit, window_seconds=60)
    assert ratelimit.hit("other-scope", "1.2.3.4", limit=limit, window_seconds=60)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.2"),  # no proxy configured: the header is ignored
        (1, "203.0.113.9", "203.0.113.9"),  # one proxy appended the client's address
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # a forged entry on the left
        (2, "198.51.100.1, 203.0.113.9, 10.0.0.7", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.2"),  # did not pass both proxies: REMOTE_ADDR
        (1, "", "10.0.0.2"),
    ],
)
def test_client_address_behind_trusted_proxies(rf, settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert ratelimit.client_ip(request) == expected


def test_behind_a_proxy_each_visitor_has_their_own_limit(anon_client, program, settings):
    settings.REGISTRATION_RATE_LIMIT = 1
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    first = anon_client.post(
        _url(program), _form(email="a@example.org"), HTTP_X_FORWARDED_FOR="203.0.113.1", **proxy
    )
    again = anon_client.post(
        _url(program), _form(email="b@example.org"), HTTP_X_FORWARDED_FOR="203.0.113.1", **proxy
    )
    other = anon_client.post(
        _url(program), _form(email="c@example.org"), HTTP_X_FORWARDED_FOR="203.0.113.2", **proxy
    )
    assert (first.status_code, again.status_code, other.status_code) == (302, 429, 302)


def test_newlines_in_names_and_profile_lines_are_collapsed_but_bio_keeps_them(anon_client, program):
    data = _form(
        first_name="Zoe\nBcc: x@evil.test",
        last_name="Quinn\r\n Jr",
        title="Senior\nAnalyst",
        department="Fin\nance",
        location="New\n\nYork",
        bio="Line one\nLine two",
    )
    registering.register(anon_client, program, **data)
    person = Participant.objects.get()
    assert (person.first_name, person.last_name) == ("Zoe Bcc: x@evil.test", "Quinn Jr")
    assert (person.title, person.department, person.location) == (
        "Senior Analyst",
        "Fin ance",
        "New York",
    )
    assert person.bio == "Line one\nLine two"


def test_the_registration_service_collapses_newlines_whoever_calls_it(program):
    from programs.registration import registration_submit

    person, created = registration_submit(
        program=program, email="a@example.org", role="mentee", first_name="Ann\nB", bio="x\ny"
    )
    assert created and person.first_name == "Ann B" and person.bio == "x\ny"


def test_the_admins_participant_form_keeps_single_line_fields_on_one_line(program):
    from programs.forms import ParticipantForm

    person = factories.ParticipantFactory(program=program)
    data = {
        "role": "mentee",
        "first_name": "Ann\nBcc: x@evil.test",
        "last_name": "Lee\r\nSmith",
        "email": person.email,
        "title": "Lead\nengineer",
        "department": "Data\nScience",
        "location": "New\nYork",
        "bio": "Line one\nLine two",
        "capacity": "0",
        "accepting_requests": "on",
    }
    form = ParticipantForm(data, instance=person, questions=questions_of(person.program))
    assert form.is_valid(), form.errors
    saved = form.save()
    assert (saved.first_name, saved.last_name, saved.title) == (
        "Ann Bcc: x@evil.test",
        "Lee Smith",
        "Lead engineer",
    )
    assert (saved.department, saved.location, saved.bio) == (
        "Data Science",
        "New York",
        "Line one\nLine two",
    )


def test_beat_forgets_unconfirmed_registrations_a_week_after_they_expire(program):
    from programs.tasks import forget_pending_registrations

    quiet = factories.ProgramFactory(organization=program.organization, pairing_enabled=True)
    for target, email in [(quiet, "old@example.org"), (program, "recent@example.org")]:
        Client().post(_url(target), _form(email=email))
    now = timezone.now()
    PendingRegistration.objects.filter(email="old@example.org").update(
        expires_at=now - timedelta(days=7, hours=1)
    )
    PendingRegistration.objects.filter(email="recent@example.org").update(
        expires_at=now - timedelta(days=6)
    )
    # No one registers to `quiet` any more: only beat's hourly task can forget it.
    assert forget_pending_registrations.delay().get() == 1
    assert list(PendingRegistration.objects.values_list("email", flat=True)) == [
        "recent@example.org"
    ]
    schedule = settings.CELERY_BEAT_SCHEDULE["forget-pending-registrations"]
    assert schedule["task"] == forget_pending_registrations.name
