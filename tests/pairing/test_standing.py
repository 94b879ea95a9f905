"""Each mentee's standing (paired / request pending / invited), the counts by state,
the participants per role and the requests per status, kept by the database's
triggers: after every service that changes them they equal a recount from the
pairings, pending requests, invitations, participants and requests, also under races."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Sum
from django.db.models.signals import post_migrate
from django.utils import timezone

from invitations import services as invitations
from invitations.models import Invitation
from pairing import request_counts, selectors, services, standing_triggers
from pairing.models import (
    MenteeStanding,
    MentorRequest,
    Pairing,
    PendingRequest,
    RequestCount,
    StandingCount,
)
from programs import participant_counts
from programs import selectors as programs_selectors
from programs import services as programs
from programs.models import Participant, ParticipantCount, Program
from tests import factories
from tests.support.race import race

State = MenteeStanding.State


@pytest.fixture
def live(org):
    return factories.ProgramFactory(organization=org, pairing_enabled=True)


def _recounted() -> dict[int, tuple]:
    """{participant id: (program, role, names, state)} worked out from the facts."""
    people = Participant.objects.annotate(
        is_paired=Exists(Pairing.objects.filter(mentee=OuterRef("pk"), status="active")),
        is_pending=Exists(PendingRequest.objects.filter(mentee=OuterRef("pk"))),
        is_invited=Exists(Invitation.objects.filter(mentee=OuterRef("pk"))),
    )
    truth = {}
    for p in people:
        state = (
            State.NOT_MENTEE
            if p.role != Participant.Role.MENTEE
            else State.PAIRED
            if p.is_paired
            else State.PENDING
            if p.is_pending
            else State.INVITED
            if p.is_invited
            else State.NOT_INVITED
        )
        truth[p.pk] = (p.program_id, p.role, p.first_name, p.last_name, state)
    return truth


def _kept() -> dict[int, tuple]:
    return {
        s.participant_id: (s.program_id, s.role, s.first_name, s.last_name, s.state)
        for s in MenteeStanding.objects.all()
    }


def _counted() -> dict[tuple, int]:
    rows = StandingCount.objects.values_list("program", "state").annotate(total=Sum("n"))
    return {(program, state): n for program, state, n in rows if n}


def _assert_kept_right() -> None:
    truth = _recounted()
    assert _kept() == truth
    expected: dict[tuple, int] = {}
    for program, _role, _first, _last, state in truth.values():
        expected[program, state] = expected.get((program, state), 0) + 1
    assert _counted() == expected
    assert _participant_counts() == _participants_recounted()
    assert _request_counts() == _requests_recounted()


def _request_counts() -> dict[tuple, int]:
    rows = RequestCount.objects.values_list("program", "status").annotate(total=Sum("n"))
    return {(program, status): n for program, status, n in rows if n}


def _requests_recounted() -> dict[tuple, int]:
    rows = MentorRequest.objects.values_list("program", "status").annotate(total=Count("pk"))
    return {(program, status): n for program, status, n in rows.order_by()}


def _submit(program, mentor=None, mentee=None):
    mentor = mentor or factories.MentorFactory(program=program, capacity=5)
    mentee = mentee or factories.ParticipantFactory(program=program)
    return services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk]).request


def test_a_new_participant_stands_not_invited_or_as_a_mentor(live):
    mentee = factories.ParticipantFactory(program=live)
    factories.MentorFactory(program=live)
    factories.bulk_mentees(live, 5)
    assert MenteeStanding.objects.get(participant=mentee).state == State.NOT_INVITED
    _assert_kept_right()


def test_inviting_stopping_and_pairing_keep_the_standings(live, org_admin):
    mentees = factories.bulk_mentees(live, 6)
    invitations.invitation_send_all(program=live, user=org_admin, expected=6)
    _assert_kept_right()
    assert selectors.unpaired_counts(live) == {"not_invited": 0, "invited": 6, "pending": 0}
    request = _submit(live, mentee=mentees[0])
    _assert_kept_right()
    services.request_approve(request_id=request.pk)
    _assert_kept_right()
    pairing = Pairing.objects.get(mentee=mentees[0])
    services.pairing_end(
        program=live, pairing_id=pairing.pk, user=org_admin, reason="Moved on", notify=False
    )
    _assert_kept_right()
    Invitation.objects.filter(mentee=mentees[1]).delete()
    _assert_kept_right()
    assert selectors.unpaired_counts(live) == {"not_invited": 1, "invited": 5, "pending": 0}


@pytest.mark.parametrize(
    "settle",
    [
        lambda r, admin: services.request_approve(request_id=r.pk),
        lambda r, admin: services.request_decline(request_id=r.pk, message="Not now"),
        lambda r, admin: services.request_withdraw(mentee=r.mentee, request_id=r.pk),
        lambda r, admin: services.request_cancel(program=r.program, request_id=r.pk, user=admin),
        lambda r, admin: services.requests_expire_due(now=r.expires_at + timedelta(seconds=1)),
        lambda r, admin: services.pairing_create_by_admin(
            program=r.program,
            mentee_id=r.mentee_id,
            mentor_id=factories.MentorFactory(program=r.program).pk,
            user=admin,
        ),
        lambda r, admin: r.delete(),
        lambda r, admin: r.mentee.delete(),
        lambda r, admin: Program.objects.filter(pk=r.program_id).delete(),
    ],
    ids=[
        "approve",
        "decline",
        "withdraw",
        "cancel",
        "expire",
        "pair-by-hand",
        "delete",
        "delete-mentee",
        "delete-program",
    ],
)
def test_every_way_out_of_pending_keeps_the_standings(live, org_admin, settle):
    request, _other = _submit(live), _submit(live)
    _assert_kept_right()
    settle(request, org_admin)
    _assert_kept_right()


def test_an_edit_of_names_or_role_reaches_the_standing(live, org_admin):
    mentee = factories.ParticipantFactory(program=live, first_name="Ann", last_name="Lee")
    programs.participant_update(participant=mentee, user=org_admin, last_name="Leigh")
    _assert_kept_right()
    programs.participant_update(participant=mentee, user=org_admin, role="mentor", capacity=2)
    _assert_kept_right()
    Participant.objects.filter(program=live).update(first_name="Bo")
    _assert_kept_right()


def test_the_sub_tabs_list_each_standing_by_name(live, org_admin):
    named = [factories.ParticipantFactory(program=live, last_name=n) for n in "CAB"]
    invitations.invitation_send_selected(
        program=live, user=org_admin, mentee_ids=[named[0].pk], expected=1
    )
    page = selectors.unpaired_page(live, sub="not_invited")
    assert [p.last_name for p in page.object_list] == ["A", "B"]
    assert [p.last_name for p in selectors.unpaired_page(live, sub="invited").object_list] == ["C"]


def test_the_migration_fills_the_standings_and_counts_of_existing_rows(live, org_admin):
    mentees = factories.bulk_mentees(live, 4)
    invitations.invitation_send_all(program=live, user=org_admin, expected=4)
    _submit(live, mentee=mentees[0])
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {standing_triggers.STANDING}")
        cursor.execute(f"DELETE FROM {standing_triggers.COUNTS}")
        cursor.execute(standing_triggers.FILL)
        for counted in (request_counts.COUNTED, participant_counts.COUNTED):
            cursor.execute(f"DELETE FROM {counted.counts}")
            cursor.execute(counted.fill())
    _assert_kept_right()


@pytest.mark.django_db(transaction=True)
def test_racing_services_keep_the_standings_and_counts(org, org_admin):
    if connection.vendor != "postgresql":
        pytest.skip("races need PostgreSQL")
    live = factories.ProgramFactory(organization=org, pairing_enabled=True)
    mentors = [factories.MentorFactory(program=live, capacity=3) for _ in range(3)]
    waiting = [_submit(live, mentor=mentors[i % 3]) for i in range(6)]
    fresh = factories.bulk_mentees(live, 20)
    requesters = factories.bulk_mentees(live, 3, first="R", email="r")
    now = timezone.now()
    actions = [
        lambda: invitations.invitation_send_all(program=live, user=org_admin, expected=None),
        *(lambda r=r: services.request_approve(request_id=r.pk) for r in waiting[:3]),
        *(
            lambda r=r: services.request_withdraw(mentee=r.mentee, request_id=r.pk)
            for r in waiting[3:5]
        ),
        lambda: services.requests_expire_due(now=now + timedelta(days=365)),
        *(
            lambda m=m, i=i: _submit(live, mentor=mentors[i % 3], mentee=m)
            for i, m in enumerate(requesters)
        ),
        lambda: factories.bulk_mentees(live, 4, first="N", email="n"),
        lambda: factories.bulk_mentees(live, 3, first="O", email="o"),
        lambda: Participant.objects.filter(pk__in=[m.pk for m in fresh[:5]]).update(
            last_name="Renamed"
        ),
    ]
    outcomes = race(actions)
    assert not [o for o in outcomes if o.startswith("crashed")], outcomes
    _assert_kept_right()
    assert _participant_counts() == _participants_recounted()
    assert MentorRequest.objects.filter(status="pending").count() == sum(
        n for (_p, state), n in _counted().items() if state == State.PENDING
    )


def _trigger_names() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        return {name for (name,) in cursor.fetchall()}


def _sqlite_triggers() -> set[str]:
    kept = (request_counts.COUNTED, participant_counts.COUNTED)
    return set(standing_triggers.SQLITE).union(*(counted.sqlite() for counted in kept))


def test_a_migrate_puts_back_the_sqlite_triggers_a_table_rebuild_dropped(db):
    if connection.vendor != "sqlite":
        pytest.skip("only SQLite drops a rebuilt table's triggers")
    with connection.cursor() as cursor:
        for name in _sqlite_triggers():
            cursor.execute(f"DROP TRIGGER {name}")
    for label in ("programs", "pairing"):
        config = apps.get_app_config(label)
        post_migrate.send(sender=config, app_config=config, using="default", verbosity=0)
    assert _sqlite_triggers() <= _trigger_names()


def test_the_migrated_database_has_every_trigger(db):
    if connection.vendor == "sqlite":
        assert _sqlite_triggers() <= _trigger_names()
    else:
        assert {
            "pairing_standing_joined",
            "pairing_standing_paired_update",
            "pairing_standing_waiting_delete",
            "pairing_standing_invited_insert",
            "pairing_standing_counted_update",
            "pairing_request_counted_update",
            "programs_participant_counted_delete",
        } <= _trigger_names()


def _participant_counts() -> dict[tuple, int]:
    rows = ParticipantCount.objects.values_list("program", "role").annotate(total=Sum("n"))
    return {(program, role): n for program, role, n in rows if n}


def _participants_recounted() -> dict[tuple, int]:
    rows = Participant.objects.values_list("program", "role").annotate(total=Count("pk"))
    return {(program, role): n for program, role, n in rows}


def test_the_participants_per_role_are_counted_as_they_change(live, org, org_admin):
    other = factories.ProgramFactory(organization=org)
    factories.bulk_mentees(live, 7)
    factories.bulk_mentees(other, 2)
    mentor = factories.MentorFactory(program=live)
    mentee = factories.ParticipantFactory(program=live)
    assert _participant_counts() == _participants_recounted()
    programs.participant_update(participant=mentee, user=org_admin, role="mentor", capacity=1)
    mentor.delete()
    assert _participant_counts() == _participants_recounted()
    assert programs_selectors.participant_count(live) == 8
    assert programs_selectors.participant_count(live, role="mentor") == 1
    Program.objects.filter(pk=other.pk).delete()
    assert _participant_counts() == _participants_recounted()
