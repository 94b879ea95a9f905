from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from programs.management.commands import seed_demo
from programs.models import Membership, Organization, Participant, Program
from programs.questions import answer_labels, program_answers

PROFILE = ["email", *seed_demo.PROFILE_FIELDS]


def _seed(**kwargs) -> str:
    out = StringIO()
    # pytest-django turns DEBUG off, which the command treats as production.
    call_command("seed_demo", "--allow-without-debug", stdout=out, **kwargs)
    return out.getvalue()


def _snapshot() -> list[tuple]:
    return list(Participant.objects.order_by("email").values_list("pk", "created_at", *PROFILE))


@pytest.mark.django_db
def test_creates_organization_admin_program_and_participants():
    output = _seed(mentees=40, mentors=12, seed=7)

    org = Organization.objects.get()
    assert (org.name, org.timezone, org.country) == ("Northwind Mentoring", "Europe/London", "GB")
    assert org.support_advisor_email
    program = Program.objects.get()
    assert program.name == "Spring 2027 Cohort"
    assert program.organization == org
    assert program.pairing_process == Program.Process.USER_LED_APPROVAL
    admin = get_user_model().objects.get(username="admin@example.com")
    assert Membership.objects.filter(user=admin, organization=org).exists()

    people = program.participants.all()
    assert people.filter(role=Participant.Role.MENTEE).count() == 40
    assert people.filter(role=Participant.Role.MENTOR).count() == 12
    assert set(people.values_list("source", flat=True)) == {Participant.Source.DEMO}
    assert "admin@example.com" in output
    assert seed_demo.DEMO_ADMIN_PASSWORD in output


@pytest.mark.django_db
def test_profiles_are_varied_and_share_a_vocabulary():
    _seed(mentees=300, mentors=80, seed=1)
    mentees = Participant.objects.filter(role=Participant.Role.MENTEE)
    mentors = Participant.objects.filter(role=Participant.Role.MENTOR)

    assert mentees.values("department").distinct().count() >= 8
    assert mentees.values("location").distinct().count() >= 6
    assert mentees.values("first_name").distinct().count() >= 50
    assert {c for c in mentors.values_list("capacity", flat=True)} == {1, 2, 3, 4}
    assert set(mentees.values_list("capacity", flat=True)) == {0}
    program = Program.objects.get()
    answers = answer_labels(program, program_answers(program))
    assert all(answers[m.pk].get("skills") and m.bio and m.title for m in mentors)
    assert all(
        answers[m.pk].get("interests") and answers[m.pk].get("goals") and m.bio for m in mentees
    )
    assert 0 < mentees.exclude(manager_email="").count() < 300

    # Matching needs overlap: every mentee wants something some mentor offers.
    offered = {skill for m in mentors for skill in answers[m.pk]["skills"]}
    for mentee in mentees:
        assert offered & set(answers[mentee.pk]["goals"]), mentee.email


@pytest.mark.django_db
def test_emails_are_unique_lower_case_and_on_the_demo_domain():
    _seed(mentees=500, mentors=100, seed=3)
    emails = list(Participant.objects.values_list("email", flat=True))
    assert len(emails) == len(set(emails)) == 600
    assert all(e == e.lower() and e.endswith("@northwind.example") for e in emails)
    assert all(e.split("@")[0].count(".") == 2 for e in emails)


def test_same_arguments_generate_identical_people():
    first = seed_demo.generate_people(mentees=50, mentors=20, seed=11)
    again = seed_demo.generate_people(mentees=50, mentors=20, seed=11)
    other = seed_demo.generate_people(mentees=50, mentors=20, seed=12)
    assert first == again
    assert first != other


def test_a_person_does_not_depend_on_how_many_others_there_are():
    small = seed_demo.generate_people(mentees=10, mentors=5, seed=4)
    large = seed_demo.generate_people(mentees=30, mentors=9, seed=4)
    assert small[:10] == large[:10]  # the same mentees
    assert small[10:] == large[30:35]  # the same mentors


@pytest.mark.django_db
def test_running_twice_changes_nothing():
    _seed(mentees=60, mentors=15, seed=5)
    before = _snapshot()
    password = get_user_model().objects.get(username="admin@example.com").password

    output = _seed(mentees=60, mentors=15, seed=5)

    assert _snapshot() == before
    assert "created: 0  updated: 0  unchanged: 75  removed: 0" in output
    assert (
        Organization.objects.count() == Program.objects.count() == Membership.objects.count() == 1
    )
    assert get_user_model().objects.get(username="admin@example.com").password == password


@pytest.mark.django_db
def test_smaller_numbers_shrink_the_program_and_keep_the_rest():
    _seed(mentees=50, mentors=20, seed=6)
    kept = {e: pk for e, pk in Participant.objects.values_list("email", "pk")}

    output = _seed(mentees=30, mentors=10, seed=6)

    program = Program.objects.get()
    assert program.participants.filter(role=Participant.Role.MENTEE).count() == 30
    assert program.participants.filter(role=Participant.Role.MENTOR).count() == 10
    for email, pk in Participant.objects.values_list("email", "pk"):
        assert kept[email] == pk  # refreshed in place, not recreated
    assert "removed: 30" in output


@pytest.mark.django_db
def test_another_seed_updates_people_in_place_without_duplicates():
    _seed(mentees=20, mentors=5, seed=8)
    _seed(mentees=20, mentors=5, seed=9)
    assert Participant.objects.count() == 25
    assert _snapshot() != []
    expected = sorted(p["email"] for p in seed_demo.generate_people(mentees=20, mentors=5, seed=9))
    assert sorted(Participant.objects.values_list("email", flat=True)) == expected


@pytest.mark.django_db
def test_other_programs_are_left_alone(program):
    from tests.factories import ParticipantFactory

    outsider = ParticipantFactory(program=program)
    _seed(mentees=5, mentors=2, seed=1)
    _seed(mentees=0, mentors=0, seed=1)
    assert Participant.objects.get() == outsider


@pytest.mark.django_db
def test_demo_admin_can_log_in_with_the_printed_password():
    _seed(mentees=3, mentors=1)
    request = RequestFactory().post("/login/")
    user = authenticate(
        request=request, username="admin@example.com", password=seed_demo.DEMO_ADMIN_PASSWORD
    )
    assert user is not None


@pytest.mark.django_db
def test_demo_admin_logs_in_through_the_login_page_and_sees_the_program(client):
    _seed(mentees=3, mentors=1)
    response = client.post(
        "/login/",
        {"username": "admin@example.com", "password": seed_demo.DEMO_ADMIN_PASSWORD},
        follow=True,
    )
    assert response.status_code == 200
    assert "Spring 2027 Cohort" in response.content.decode()


@pytest.mark.django_db
def test_a_changed_admin_password_is_reset_to_the_demo_one():
    _seed(mentees=1, mentors=1)
    admin = get_user_model().objects.get(username="admin@example.com")
    admin.set_password("something-else-entirely")
    admin.save()
    _seed(mentees=1, mentors=1)
    admin.refresh_from_db()
    assert admin.check_password(seed_demo.DEMO_ADMIN_PASSWORD)


@pytest.mark.django_db
def test_refuses_to_run_when_debug_is_off_unless_told_to(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", mentees=1, mentors=1, stdout=StringIO())
    assert not Participant.objects.exists()
    assert not get_user_model().objects.exists()
