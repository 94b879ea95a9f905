from django.urls import reverse

from programs.models import ActivityEvent, Program
from tests import factories
from tests.support.marker import MARKER


def _form(org, **overrides):
    data = {
        "organization": org.pk,
        "name": "Autumn Cohort",
        "pairing_process": Program.Process.USER_LED_APPROVAL,
        "default_mentor_capacity": 3,
        "request_expiry_business_days": 3,
        "max_preferences": 3,
    }
    data.update(overrides)
    return data


def test_admin_creates_a_program_in_their_organization(org, org_admin_client):
    response = org_admin_client.post(reverse("programs:create"), _form(org))
    program = Program.objects.get(name="Autumn Cohort")
    assert response.status_code == 302
    assert response.url == reverse("programs:detail", kwargs={"program_id": program.pk})
    assert program.organization == org
    assert program.pairing_enabled is False
    assert program.max_preferences == 3


def test_new_program_defaults_follow_the_design(org, org_admin_client):
    response = org_admin_client.get(reverse("programs:create"))
    form = response.context["form"]
    assert form["pairing_process"].value() == Program.Process.USER_LED_APPROVAL
    assert form["request_expiry_business_days"].value() == 3
    assert form["max_preferences"].value() == 3


def test_cannot_create_a_program_in_another_organization(org, other_org, org_admin_client):
    response = org_admin_client.post(reverse("programs:create"), _form(other_org))
    assert response.status_code == 200
    assert "organization" in response.context["form"].errors
    assert not Program.objects.exists()


def test_out_of_range_settings_are_refused_with_a_message(org, org_admin_client):
    response = org_admin_client.post(
        reverse("programs:create"),
        _form(
            org,
            default_mentor_capacity=0,
            request_expiry_business_days=99,
            max_preferences=11,
            name="  ",
        ),
    )
    errors = response.context["form"].errors
    assert set(errors) == {
        "name",
        "default_mentor_capacity",
        "request_expiry_business_days",
        "max_preferences",
    }
    assert "Choose a number from 1 to 50." in errors["default_mentor_capacity"]
    assert not Program.objects.exists()


def test_edit_changes_settings_but_never_the_organization(program, other_org, org_admin_client):
    url = reverse("programs:edit", kwargs={"program_id": program.pk})
    data = _form(other_org, name="Renamed", pairing_process=Program.Process.ADMIN_LED)
    response = org_admin_client.post(url, data)
    assert response.status_code == 302
    program.refresh_from_db()
    assert program.name == "Renamed"
    assert program.pairing_process == Program.Process.ADMIN_LED
    assert program.organization.name.startswith(MARKER)


def test_program_list_shows_only_own_organizations(program, other_admin_client, org_admin_client):
    factories.ProgramFactory(organization=factories.OrganizationFactory(), name="Someone else's")
    mine = org_admin_client.get(reverse("programs:list")).content.decode()
    assert program.name in mine and "Someone else's" not in mine
    theirs = other_admin_client.get(reverse("programs:list")).content.decode()
    assert program.name not in theirs


def test_admin_of_two_organizations_sees_both(program, org_admin, org_admin_client):
    second = factories.ProgramFactory(name="Second org cohort")
    factories.MembershipFactory(user=org_admin, organization=second.organization)
    html = org_admin_client.get(reverse("programs:list")).content.decode()
    assert program.name in html and "Second org cohort" in html


def test_program_list_query_count_is_fixed(org, org_admin_client, django_assert_num_queries):
    factories.ProgramFactory.create_batch(3, organization=org)
    org_admin_client.get(reverse("programs:list"))  # renews the session (once a minute)
    with django_assert_num_queries(4) as ctx:
        org_admin_client.get(reverse("programs:list"))
    factories.ProgramFactory.create_batch(30, organization=org)
    with django_assert_num_queries(len(ctx.captured_queries)):
        org_admin_client.get(reverse("programs:list"))


def _as_saved(program, **overrides):
    data = {
        "name": program.name,
        "pairing_process": program.pairing_process,
        "default_mentor_capacity": program.default_mentor_capacity,
        "request_expiry_business_days": program.request_expiry_business_days,
        "max_preferences": program.max_preferences,
        "after_decline": program.after_decline,
        "request_reminders": "on" if program.request_reminders else "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


def test_editing_settings_logs_what_changed_and_an_unchanged_save_logs_nothing(
    program, org_admin, org_admin_client
):
    url = reverse("programs:edit", kwargs={"program_id": program.pk})
    assert org_admin_client.post(url, _as_saved(program)).status_code == 302
    assert not ActivityEvent.objects.filter(program=program).exists()

    before = Program.Process(program.pairing_process).label
    response = org_admin_client.post(
        url,
        _as_saved(
            program,
            pairing_process=Program.Process.ADMIN_LED,
            request_expiry_business_days=program.request_expiry_business_days + 2,
        ),
    )

    assert response.status_code == 302
    event = ActivityEvent.objects.get(program=program)
    assert (event.verb, event.actor) == (ActivityEvent.Verb.PROGRAM_SETTINGS_CHANGED, org_admin)
    days = program.request_expiry_business_days
    assert event.detail == (
        f"pairing process {before} → {Program.Process.ADMIN_LED.label}; "
        f"requests expire after (business days) {days} → {days + 2}"
    )
    page = org_admin_client.get(reverse("programs:pairing", kwargs={"program_id": program.pk}))
    assert "Changed the program settings: pairing process" in page.content.decode()


def test_headcount_counts_only_this_programs_people_by_role(org):
    from programs.selectors import program_headcount, program_list_for

    program, other = factories.ProgramFactory.create_batch(2, organization=org)
    factories.ParticipantFactory.create_batch(3, program=program)
    factories.MentorFactory(program=program, capacity=2)
    factories.MentorFactory(program=program, capacity=5)
    factories.MentorFactory(program=other, capacity=7)
    factories.ParticipantFactory(program=other)
    assert program_headcount(program) == {"mentees": 3, "mentors": 2, "capacity": 7}
    empty = factories.ProgramFactory(organization=org)
    assert program_headcount(empty) == {"mentees": 0, "mentors": 0, "capacity": 0}
    member = factories.MembershipFactory(organization=org).user
    counts = {p.pk: (p.mentee_count, p.mentor_count) for p in program_list_for(member)}
    assert counts == {program.pk: (3, 2), other.pk: (1, 1), empty.pk: (0, 0)}
