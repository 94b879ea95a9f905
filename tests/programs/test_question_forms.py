"""The forms rendered from a program's questions: registration, the admin's participant form
and a person's own profile page. Every question type, bad input, and fixed query counts."""

import pytest
from django.urls import reverse

from pairing.services import personal
from programs.models import ActivityEvent, PendingRegistration, Question, QuestionOption
from tests import factories
from tests.programs import registering
from tests.support.answers import answers_by_key

pytestmark = pytest.mark.django_db

Kind = Question.Kind
Audience = Question.Audience


def _question(program, key, kind, audience=Audience.EVERYONE, options=(), **extra):
    last = Question.objects.filter(program=program).count()
    q = Question.objects.create(
        program=program,
        key=key,
        label=key.replace("_", " ").title(),
        text=f"Your {key.replace('_', ' ')}?",
        audience=audience,
        kind=kind,
        position=last,
        **extra,
    )
    for n, label in enumerate(options):
        QuestionOption.objects.create(question=q, label=label, position=n)
    return q


@pytest.fixture
def asking(program):
    """A program asking one question of every kind besides its defaults."""
    _question(program, "level", Kind.SINGLE, options=["Junior", "Mid", "Senior"], required=True)
    _question(
        program, "languages", Kind.MULTIPLE, options=["English", "French", "German"], max_choices=2
    )
    _question(program, "years", Kind.NUMBER, Audience.MENTORS, min_value=0, max_value=40)
    _question(program, "time_zone", Kind.SHORT_TEXT, Audience.MENTEES)
    _question(program, "story", Kind.LONG_TEXT)
    return program


def _registration(**overrides) -> dict:
    data = {
        "role": "mentee",
        "first_name": "Ada",
        "last_name": "Byron",
        "email": "ada@example.org",
        "department": "Research",
        "location": "London",
        "level": "Mid",
        "languages": ["English", "French"],
        "time_zone": "Europe/London",
        "story": "Line one\nLine two",
        "goals": "Python, public speaking",
        "capacity": "",
    }
    data.update(overrides)
    return data


def test_registration_asks_each_question_and_says_whom_it_is_for(anon_client, asking):
    html = anon_client.get(registering.register_url(asking)).content.decode()
    for text in ("Your level?", "Your languages?", "Your years?", "Your time zone?", "Your story?"):
        assert text in html
    assert "For mentors only." in html and "For mentees only." in html
    # A closed single choice is radio buttons, a multiple choice checkboxes in a fieldset.
    assert 'type="radio" name="level" value="Senior"' in html
    assert 'type="checkbox" name="languages" value="German"' in html
    assert "Pick up to 2." in html


def test_registration_saves_every_kind_of_answer_when_confirmed(anon_client, asking):
    person = registering.register(anon_client, asking, **_registration())
    assert answers_by_key(person) == {
        "level": ["Mid"],
        "languages": ["English", "French"],
        "time_zone": "Europe/London",
        "story": "Line one\nLine two",
        "goals": ["Python", "public speaking"],
    }
    # An open question's new wishes became options of the question.
    goals = Question.objects.get(program=asking, key="goals")
    assert set(goals.options.values_list("label", flat=True)) == {"Python", "public speaking"}


def test_a_mentees_answer_to_a_mentor_question_is_not_kept(anon_client, asking):
    person = registering.register(anon_client, asking, **_registration(years="12"))
    assert "years" not in answers_by_key(person)
    mentor = registering.register(
        anon_client,
        asking,
        **_registration(role="mentor", email="m@example.org", years="12", time_zone="UTC"),
    )
    found = answers_by_key(mentor)
    assert found["years"] == 12 and "time_zone" not in found


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"level": "Principal"}, "level", "Select a valid choice"),
        ({"languages": ["English", "French", "German"]}, "languages", "Pick at most 2"),
        ({"languages": ["Klingon"]}, "languages", "Select a valid choice"),
        ({"role": "mentor", "years": "five"}, "years", "takes a whole number, not “five”"),
        ({"role": "mentor", "years": "41"}, "years", "takes a number from 0 to 40"),
        ({"level": ""}, "level", "Please answer “Level”."),
        ({"time_zone": "x" * 201}, "time_zone", "at most 200 characters"),
    ],
)
def test_bad_answers_are_refused_by_question_and_nothing_is_written(
    anon_client, asking, change, field, message
):
    response = anon_client.post(registering.register_url(asking), _registration(**change))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="id_{field}_error"' in html and message in html
    assert not PendingRegistration.objects.exists()
    assert not registering.confirm_emails(asking).exists()


def test_a_required_question_for_one_role_is_required_of_that_role_only(anon_client, asking):
    Question.objects.filter(program=asking, key="years").update(required=True)
    asking.questions_version += 1
    asking.save()
    mentee = anon_client.post(registering.register_url(asking), _registration())
    assert mentee.status_code == 302
    mentor = anon_client.post(
        registering.register_url(asking), _registration(role="mentor", email="m@example.org")
    )
    assert "Please answer “Years”." in mentor.content.decode()


def test_the_registration_form_reads_a_fixed_number_of_queries(
    anon_client, program, django_assert_max_num_queries, django_assert_num_queries
):
    url = registering.register_url(program)
    anon_client.get(url)
    with django_assert_max_num_queries(20) as few:
        anon_client.get(url)
    for n in range(6):
        _question(program, f"extra_{n}", Kind.MULTIPLE, options=[f"A{n}", f"B{n}", f"C{n}"])
    with django_assert_num_queries(len(few.captured_queries)):
        anon_client.get(url)


# --- The admin's participant form -------------------------------------------------------


def _edit_url(person) -> str:
    return reverse(
        "programs:participant_edit",
        kwargs={"program_id": person.program_id, "participant_id": person.pk},
    )


def _admin_post(client, person, **changes):
    """The form as the admin's browser sends it: what it showed, plus the changes."""
    form = client.get(_edit_url(person)).context["form"]
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None:
            continue
        data[name] = value
        if field.show_hidden_initial:
            data[form.add_initial_prefix(name)] = value
    data.update(changes)
    return client.post(_edit_url(person), data)


def test_the_admin_edits_a_persons_answers_and_the_log_names_the_questions(
    org_admin_client, asking
):
    person = factories.ParticipantFactory(program=asking, goals=["Python"])
    response = _admin_post(
        org_admin_client,
        person,
        level="Senior",
        languages=["German"],
        goals="Python, Rust",
        title="Analyst",
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    found = answers_by_key(person)
    assert found["level"] == ["Senior"] and found["languages"] == ["German"]
    assert found["goals"] == ["Python", "Rust"]
    detail = ActivityEvent.objects.filter(program=asking).latest("pk").detail
    assert "Level" in detail and "Languages" in detail and "Goals" in detail


def test_the_admins_bad_answer_is_refused_by_question(org_admin_client, asking):
    person = factories.MentorFactory(program=asking)
    response = _admin_post(org_admin_client, person, years="-3", level="Mid")
    assert response.status_code == 200
    assert "takes a number from 0 to 40" in response.content.decode()
    assert answers_by_key(person) == {}


def test_the_admin_form_reads_a_fixed_number_of_queries(
    org_admin_client, program, django_assert_max_num_queries, django_assert_num_queries
):
    person = factories.ParticipantFactory(program=program, goals=["Python"], interests=["Chess"])
    url = _edit_url(person)
    org_admin_client.get(url)
    with django_assert_max_num_queries(30) as few:
        org_admin_client.get(url)
    for n in range(6):
        _question(program, f"extra_{n}", Kind.SINGLE, options=[f"A{n}", f"B{n}"])
    with django_assert_num_queries(len(few.captured_queries)):
        org_admin_client.get(url)


# --- A person's own profile -------------------------------------------------------------


def test_a_required_question_added_later_is_asked_when_the_person_next_edits(client, asking):
    mentor = factories.MentorFactory(program=asking, skills=["Go"])
    home = f"/me/{personal.home_link(mentor)}/profile/"
    _question(asking, "motto", Kind.SHORT_TEXT, Audience.MENTORS, required=True)
    asking.questions_version += 1
    asking.save()
    # Nothing is asked of them until they edit: their page still opens.
    assert client.get(home).status_code == 200
    data = {
        "department": "Research",
        "location": "Leeds",
        "skills": "Go",
        "level": "Senior",
        "capacity": "2",
        "bio": "",
    }
    refused = client.post(home, data)
    assert refused.status_code == 400 and 'id="id_motto_error"' in refused.content.decode()
    saved = client.post(home, {**data, "motto": "Ship it", "years": "9"})
    assert saved.status_code == 303
    found = answers_by_key(mentor)
    assert found["motto"] == "Ship it" and found["years"] == 9 and found["level"] == ["Senior"]
