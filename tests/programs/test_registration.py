"""The public registration link: /join/<token>/."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from pairing_admin.lib import ratelimit
from programs.models import Participant
from tests import factories


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
        "skills": "Excel, SQL",
        "interests": "data; leadership",
        "goals": "",
        "bio": "Hello",
        "capacity": "",
    }
    data.update(overrides)
    return data


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_form_is_public_and_get_writes_nothing(anon_client, program):
    response = anon_client.get(_url(program), _form())
    html = response.content.decode()
    assert response.status_code == 200
    assert f"Join {program.name}" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "I want to join as a" in html
    assert 'name="capacity"' in html
    assert not Participant.objects.exists()


def test_new_registration_creates_a_participant_and_thanks_them(anon_client, program):
    response = anon_client.post(_url(program), _form())

    assert response.status_code == 302
    assert response.url == _url(program) + "?thanks=1"
    assert _messages(response) == [f"Thank you: your registration for {program.name} is in."]
    person = Participant.objects.get()
    assert person.program == program
    assert person.email == "zoe@example.org"
    assert (person.role, person.first_name, person.last_name) == ("mentee", "Zoe", "Quinn")
    assert person.skills == ["Excel", "SQL"]
    assert person.interests == ["data", "leadership"]
    assert person.goals == []
    assert person.capacity == 0
    assert person.source == Participant.Source.REGISTRATION
    thanks = anon_client.get(response.url)
    assert thanks.status_code == 200
    assert "Thank you" in thanks.content.decode()
    assert Participant.objects.count() == 1


def test_mentor_capacity_defaults_to_the_programs_and_can_be_chosen(anon_client, program):
    anon_client.post(_url(program), _form(role="mentor", email="m1@example.org"))
    anon_client.post(_url(program), _form(role="mentor", email="m2@example.org", capacity="5"))
    capacities = dict(Participant.objects.values_list("email", "capacity"))
    assert capacities == {"m1@example.org": program.default_mentor_capacity, "m2@example.org": 5}


def test_registering_with_a_known_email_changes_nothing_and_says_the_same(anon_client, program):
    # The link goes to a whole organization: whoever knows a colleague's email
    # must not be able to rewrite their profile or turn them into a mentor.
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

    response = anon_client.post(
        _url(program),
        _form(email=" ZOE@example.ORG ", role="mentor", department="Legal", first_name="Mallory"),
    )

    assert response.status_code == 302
    # Word for word what a new person is told: the page does not reveal who is registered.
    assert _messages(response) == [f"Thank you: your registration for {program.name} is in."]
    assert Participant.objects.count() == 1
    assert Participant.objects.values().get(pk=imported.pk) == before
    thanks = anon_client.get(response.url).content.decode()
    assert "your first registration stands" in thanks


def test_the_same_email_in_another_program_is_another_person(anon_client, program):
    other = factories.ProgramFactory(organization=program.organization)
    factories.ParticipantFactory(program=other, email="zoe@example.org", first_name="Other")
    anon_client.post(_url(program), _form())
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


def test_post_without_csrf_token_is_refused(program):
    client = Client(enforce_csrf_checks=True)
    response = client.post(_url(program), _form())
    assert response.status_code == 403
    assert not Participant.objects.exists()

    client.get(_url(program))
    token = client.cookies["csrftoken"].value
    response = client.post(_url(program), {**_form(), "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Participant.objects.count() == 1


def test_unknown_token_is_404(anon_client, program):
    url = reverse("register", kwargs={"token": "not-a-real-token"})
    assert anon_client.get(url).status_code == 404
    assert anon_client.post(url, _form()).status_code == 404
    assert not Participant.objects.exists()


def test_over_the_rate_limit_answers_429_and_writes_nothing(anon_client, program, settings):
    settings.REGISTRATION_RATE_LIMIT = 2
    for n in range(2):
        response = anon_client.post(_url(program), _form(email=f"p{n}@example.org"))
        assert response.status_code == 302

    response = anon_client.post(_url(program), _form(email="third@example.org"))

    assert response.status_code == 429
    assert "Please try again later" in response.content.decode()
    assert not Participant.objects.filter(email="third@example.org").exists()
    assert Participant.objects.count() == 2
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
    anon_client.post(_url(program), data)
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
    form = ParticipantForm(data, instance=person)
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
