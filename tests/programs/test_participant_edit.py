"""An admin edits a participant: profile changes save; a role or capacity change that
would contradict their pairings, requests or staged proposals is refused, and nothing
is saved."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from pairing.models import AutoPairProposal, AutoPairRun, Pairing
from pairing.services.personal import mentor_away_until, mentors_resume_due
from programs import services
from programs.models import Participant
from tests import factories
from tests.support.builders import participant_edit_form


def _url(person) -> str:
    return reverse(
        "programs:participant_edit",
        kwargs={"program_id": person.program_id, "participant_id": person.pk},
    )


def _pending(mentee, mentor):
    return factories.MentorRequestFactory(program=mentee.program, mentee=mentee, mentor=mentor)


def _staged(mentee, mentor):
    run = AutoPairRun.objects.create(program=mentee.program, status=AutoPairRun.Status.STAGED)
    AutoPairProposal.objects.create(run=run, mentee=mentee, mentor=mentor, score=40.0)
    return run


def test_an_edit_saves_the_profile(program, org_admin_client):
    person = factories.ParticipantFactory(program=program, department="Finance")
    response = org_admin_client.post(
        _url(person), participant_edit_form(person, department="Legal")
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.department == "Legal"


def _tie(kind, program):
    """A mentee (role mentee) tied to pairing by `kind`, and their mentor."""
    mentee = factories.ParticipantFactory(program=program, first_name="Ana", last_name="Ruiz")
    mentor = factories.MentorFactory(program=program, capacity=3)
    if kind == "paired":
        factories.PairingFactory(program=program, mentee=mentee, mentor=mentor)
    elif kind == "pending":
        _pending(mentee, mentor)
    else:
        _staged(mentee, mentor)
    return mentee, mentor


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("paired", "is in an active pairing as a mentee"),
        ("pending", "has a pending mentor request"),
        ("staged", "is in the auto-pair run waiting for review"),
    ],
)
def test_a_tied_mentee_cannot_become_a_mentor(program, org_admin_client, kind, reason):
    mentee, _ = _tie(kind, program)
    before = Participant.objects.values().get(pk=mentee.pk)

    response = org_admin_client.post(
        _url(mentee), participant_edit_form(mentee, role="mentor", capacity="5", department="Legal")
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert f"Ana Ruiz {reason}, so their role can" in page
    # Nothing of the edit was saved, not even the harmless part.
    assert Participant.objects.values().get(pk=mentee.pk) == before


@pytest.mark.parametrize("kind", ["paired", "pending", "staged"])
def test_a_tied_mentor_cannot_become_a_mentee(program, org_admin_client, kind):
    _, mentor = _tie(kind, program)
    response = org_admin_client.post(
        _url(mentor), participant_edit_form(mentor, role="mentee", capacity="0")
    )
    assert response.status_code == 200
    assert "so their role can" in response.content.decode()
    assert Participant.objects.get(pk=mentor.pk).role == Participant.Role.MENTOR


def test_a_person_with_no_ties_can_change_role(program, org_admin_client):
    mentee = factories.ParticipantFactory(program=program)
    # An ended pairing is history, not a tie.
    ended = factories.PairingFactory(
        program=program, mentee=mentee, status=Pairing.Status.ENDED, ended_at=timezone.now()
    )
    response = org_admin_client.post(
        _url(mentee), participant_edit_form(mentee, role="mentor", capacity="2")
    )
    assert response.status_code == 302
    mentee.refresh_from_db()
    assert (mentee.role, mentee.capacity) == ("mentor", 2)
    assert Pairing.objects.get(pk=ended.pk).status == Pairing.Status.ENDED


def test_capacity_cannot_drop_below_the_people_a_mentor_mentors(program, org_admin_client):
    mentor = factories.mentor_with_pairings(program, 2, capacity=3, first_name="Bo", last_name="")

    response = org_admin_client.post(_url(mentor), participant_edit_form(mentor, capacity="1"))
    assert response.status_code == 200
    assert "Bo mentors 2 people now, so their capacity can" in response.content.decode()
    assert Participant.objects.get(pk=mentor.pk).capacity == 3

    assert (
        org_admin_client.post(_url(mentor), participant_edit_form(mentor, capacity="2")).status_code
        == 302
    )
    assert Participant.objects.get(pk=mentor.pk).capacity == 2


def test_a_mentor_who_was_unavailable_can_take_requests_again(program, org_admin_client):
    mentor = factories.MentorFactory(program=program, accepting_requests=False)
    page = org_admin_client.get(_url(mentor)).content.decode()
    assert "Accepting new requests" in page
    response = org_admin_client.post(
        _url(mentor), participant_edit_form(mentor, accepting_requests="on")
    )
    assert response.status_code == 302
    assert Participant.objects.get(pk=mentor.pk).accepting_requests is True
    mentor.refresh_from_db()  # the page as the admin sees it now
    org_admin_client.post(_url(mentor), participant_edit_form(mentor, accepting_requests=None))
    assert Participant.objects.get(pk=mentor.pk).accepting_requests is False


def test_another_organizations_admin_cannot_edit(program, other_admin_client):
    person = factories.ParticipantFactory(program=program, department="Finance")
    response = other_admin_client.post(
        _url(person), participant_edit_form(person, department="Legal")
    )
    assert response.status_code == 404
    assert Participant.objects.get(pk=person.pk).department == "Finance"


def test_an_edit_is_in_the_activity_log_with_what_changed(program, org_admin, org_admin_client):
    from programs.models import ActivityEvent

    person = factories.ParticipantFactory(
        program=program, first_name="Ana", last_name="Ruiz", capacity=0, department="Finance"
    )
    org_admin_client.post(
        _url(person), participant_edit_form(person)
    )  # nothing changed: nothing logged
    assert not ActivityEvent.objects.exists()

    org_admin_client.post(
        _url(person),
        participant_edit_form(person, role="mentor", capacity="2", department="Legal", bio="Hi"),
    )

    event = ActivityEvent.objects.get()
    assert (event.verb, event.actor, event.program) == ("participant_edited", org_admin, program)
    assert event.detail == "Ana Ruiz: role mentee → mentor; capacity 0 → 2; department, bio"


def test_programs_asks_the_registered_change_checks_only_about_changes_they_touch(
    program, monkeypatch
):
    """programs knows no pairing: the checks registered in programs.hooks decide."""
    from pairing_admin.lib.errors import DomainError
    from programs import hooks
    from programs.services import participant_update

    asked = []

    def problems(*, program, changes):
        asked.extend(changes)
        return {c.participant_id: ("role", f"{c.name} is busy") for c in changes}

    monkeypatch.setattr(hooks, "_change_checks", [])
    hooks.register_change_check(touches=lambda c: c.role != c.old_role, problems=problems)
    mentee = factories.ParticipantFactory(program=program, first_name="Ann", last_name="Lee")

    participant_update(participant=mentee, department="Sales")  # touches nothing
    assert asked == []
    with pytest.raises(DomainError, match="Ann Lee is busy"):
        participant_update(participant=mentee, role=Participant.Role.MENTOR, capacity=1)
    assert [(c.old_role, c.role) for c in asked] == [("mentee", "mentor")]
    mentee.refresh_from_db()
    assert (mentee.role, mentee.department) == ("mentee", "Sales")


def test_the_teams_pause_replaces_a_mentors_own_unavailable_until(program, org_admin):
    mentor = factories.MentorFactory(program=program, capacity=2)
    mentor_away_until(mentor=mentor, until=timezone.localdate() + timedelta(days=5))
    services.participant_update(participant=mentor, user=org_admin, accepting_requests=True)
    services.participant_update(participant=mentor, user=org_admin, accepting_requests=False)
    mentor.refresh_from_db()
    assert mentor.unavailable_until is None
    # The mentor's day coming does not undo the team's pause.
    mentors_resume_due(now=timezone.now() + timedelta(days=7))
    mentor.refresh_from_db()
    assert mentor.accepting_requests is False


def test_an_edit_that_leaves_accepting_alone_keeps_unavailable_until(program, org_admin):
    mentor = factories.MentorFactory(program=program, capacity=2)
    until = timezone.localdate() + timedelta(days=5)
    mentor_away_until(mentor=mentor, until=until)
    services.participant_update(
        participant=mentor, user=org_admin, accepting_requests=False, department="Sales"
    )
    mentor.refresh_from_db()
    assert (mentor.unavailable_until, mentor.department) == (until, "Sales")
