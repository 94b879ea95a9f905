"""Pending requests' own table, kept by the database's triggers, and the other rules the
database holds for requests and pairings."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_migrate
from django.utils import timezone

from pairing import pending_triggers, services
from pairing.models import MentorRequest, Pairing, PendingRequest
from programs.models import Program
from tests import factories

Status = MentorRequest.Status


def _waiting() -> list[tuple]:
    return sorted(
        PendingRequest.objects.values_list(
            "request_id", "program_id", "mentee_id", "mentor_id", "expires_at"
        )
    )


def _mirror(*requests) -> list[tuple]:
    return sorted(
        (r.pk, r.program_id, r.mentee_id, r.mentor_id, r.expires_at)
        for r in MentorRequest.objects.filter(pk__in=[r.pk for r in requests])
    )


@pytest.fixture
def live(org):
    return factories.ProgramFactory(organization=org, pairing_enabled=True)


def _submit(program, mentor=None):
    mentor = mentor or factories.MentorFactory(program=program, capacity=5)
    mentee = factories.ParticipantFactory(program=program)
    return services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk]).request


def test_a_pending_request_has_its_row_and_a_decided_one_none(live):
    first, second = _submit(live), _submit(live)
    assert _waiting() == _mirror(first, second)
    decided = MentorRequest.objects.create(
        program=live,
        mentee=factories.ParticipantFactory(program=live),
        mentor=first.mentor,
        status=Status.APPROVED,
        expires_at=timezone.now(),
        decided_at=timezone.now(),
    )
    assert decided.pk not in {row[0] for row in _waiting()}


@pytest.mark.parametrize(
    "settle",
    [
        lambda r, admin: services.request_approve(request_id=r.pk),
        lambda r, admin: services.request_decline(request_id=r.pk, message="Not now"),
        lambda r, admin: services.request_withdraw(mentee=r.mentee, request_id=r.pk),
        lambda r, admin: services.request_cancel(program=r.program, request_id=r.pk, user=admin),
        lambda r, admin: services.requests_expire_due(now=r.expires_at + timedelta(seconds=1)),
        lambda r, admin: services.pairing_create_by_admin(
            program=r.program, mentee_id=r.mentee_id, mentor_id=r.mentor_id, user=admin
        ),
        lambda r, admin: services.pairing_create_by_admin(
            program=r.program,
            mentee_id=r.mentee_id,
            mentor_id=factories.MentorFactory(program=r.program).pk,
            user=admin,
        ),
        lambda r, admin: r.delete(),
        lambda r, admin: MentorRequest.objects.filter(pk=r.pk)._raw_delete("default"),
    ],
    ids=[
        "approve",
        "decline",
        "withdraw",
        "cancel",
        "expire",
        "pair-by-hand-same-mentor",
        "pair-by-hand-other-mentor",
        "delete",
        "raw-delete",
    ],
)
def test_every_way_out_of_pending_removes_the_row(live, org_admin, settle):
    request, other = _submit(live), _submit(live)
    # A day more for the other one: the sweep's step leaves it waiting.
    MentorRequest.objects.filter(pk=other.pk).update(expires_at=other.expires_at + timedelta(1))
    settle(request, org_admin)
    assert _waiting() == _mirror(other)


@pytest.mark.parametrize("who", ["mentee", "mentor"])
def test_deleting_a_person_removes_their_rows(live, who):
    request, other = _submit(live), _submit(live)
    getattr(request, who).delete()
    assert _waiting() == _mirror(other)


def test_deleting_a_program_removes_its_rows(live, org):
    elsewhere = factories.ProgramFactory(organization=org, pairing_enabled=True)
    _submit(live)
    kept = _submit(elsewhere)
    Program.objects.filter(pk=live.pk).delete()
    assert _waiting() == _mirror(kept)


def test_passing_a_request_on_moves_the_row_to_the_new_request(live):
    live.after_decline = Program.AfterDecline.NEXT_CHOICE
    live.save()
    first, second = (factories.MentorFactory(program=live, capacity=2) for _ in range(2))
    mentee = factories.ParticipantFactory(program=live)
    request = services.preferences_submit(mentee=mentee, mentor_ids=[first.pk, second.pk]).request
    services.request_decline(request_id=request.pk)
    passed = MentorRequest.objects.get(status=Status.PENDING)
    assert passed.mentor == second
    assert _waiting() == _mirror(passed)


def test_bulk_made_requests_get_their_rows(live):
    mentor = factories.MentorFactory(program=live, capacity=5)
    mentees = factories.ParticipantFactory.create_batch(3, program=live)
    now = timezone.now()
    made = MentorRequest.objects.bulk_create(
        [
            MentorRequest(program=live, mentee=mentees[0], mentor=mentor, expires_at=now),
            MentorRequest(
                program=live, mentee=mentees[1], mentor=mentor, expires_at=now,
                status=Status.DECLINED, decided_at=now,
            ),
            MentorRequest(program=live, mentee=mentees[2], mentor=mentor, expires_at=now),
        ],
        batch_size=2,
    )  # fmt: skip
    assert _waiting() == _mirror(made[0], made[2])


def test_a_moved_request_moves_its_row(live):
    request = _submit(live)
    other_mentor = factories.MentorFactory(program=live)
    MentorRequest.objects.filter(pk=request.pk).update(mentor=other_mentor)
    assert _waiting() == _mirror(request)
    assert _waiting()[0][3] == other_mentor.pk


@pytest.mark.parametrize("ignore_conflicts", [False, True])
def test_the_database_refuses_a_second_pending_request_for_a_mentee(live, ignore_conflicts):
    """Even INSERT OR IGNORE (SQLite) must not store a second one without its row."""
    request = _submit(live)
    second = MentorRequest(
        program=live,
        mentee=request.mentee,
        mentor=factories.MentorFactory(program=live),
        expires_at=request.expires_at,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        MentorRequest.objects.bulk_create([second], ignore_conflicts=ignore_conflicts)
    assert list(
        MentorRequest.objects.filter(status=Status.PENDING).values_list("pk", flat=True)
    ) == [request.pk]
    assert _waiting() == _mirror(request)


def test_a_decided_request_never_becomes_pending_again(live):
    request = _submit(live)
    services.request_decline(request_id=request.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        MentorRequest.objects.filter(pk=request.pk).update(status=Status.PENDING, decided_at=None)
    assert MentorRequest.objects.get(pk=request.pk).status == Status.DECLINED
    assert _waiting() == []


def test_a_new_deadline_reaches_the_sweep(live):
    request = _submit(live)
    later = request.expires_at + timedelta(days=2)
    MentorRequest.objects.filter(pk=request.pk).update(expires_at=later)
    assert _waiting() == _mirror(request)
    assert services.requests_expire_due(now=request.expires_at + timedelta(seconds=1)) == {
        "expired": 0
    }
    assert services.requests_expire_due(now=later) == {"expired": 1}


@pytest.mark.needs_postgres
def test_no_index_of_the_requests_table_mentions_status(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
            [MentorRequest._meta.db_table, "%status%"],
        )
        assert cursor.fetchall() == []


@pytest.mark.needs_postgres
def test_the_expiry_changes_each_request_in_place(live):
    """HOT updates: no index entry is written for an expired request."""
    requests = [_submit(live) for _ in range(5)]
    table = MentorRequest._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_get_xact_tuples_hot_updated(%s::regclass)", [table])
        before = cursor.fetchone()[0]
        later = max(r.expires_at for r in requests) + timedelta(seconds=1)
        assert services.requests_expire_due(now=later) == {"expired": 5}
        cursor.execute("SELECT pg_stat_get_xact_tuples_hot_updated(%s::regclass)", [table])
        assert cursor.fetchone()[0] - before == 5


def _trigger_names() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        return {name for (name,) in cursor.fetchall()}


def test_the_migrated_database_has_every_trigger(db):
    expected = (
        set(pending_triggers.SQLITE)
        if connection.vendor == "sqlite"
        else {"pairing_request_made", "pairing_request_changed", "pairing_request_deleted"}
    )
    assert expected <= _trigger_names()


def test_a_migrate_puts_back_the_sqlite_triggers_a_table_rebuild_dropped(db):
    if connection.vendor != "sqlite":
        pytest.skip("only SQLite drops a rebuilt table's triggers")
    with connection.cursor() as cursor:
        for name in pending_triggers.SQLITE:
            cursor.execute(f"DROP TRIGGER {name}")
    assert not set(pending_triggers.SQLITE) & _trigger_names()
    config = apps.get_app_config("pairing")
    post_migrate.send(sender=config, app_config=config, using="default", verbosity=0)
    assert set(pending_triggers.SQLITE) <= _trigger_names()


def test_a_request_takes_its_programs_business_days_and_its_organizations_calendar(
    org, monkeypatch
):
    """Made on Thursday 2 July 2026 in New York with 2 business days: Friday 3 July is
    Independence Day observed in the US, so Monday 6 and Tuesday 7, to the end of
    Tuesday there (Monday without the holiday, Wednesday with the default 3 days)."""
    org.timezone, org.country = "America/New_York", "US"
    org.save()
    program = factories.ProgramFactory(
        organization=org, pairing_enabled=True, request_expiry_business_days=2
    )
    made = datetime(2026, 7, 2, 15, 0, tzinfo=ZoneInfo("America/New_York"))
    monkeypatch.setattr(services.requests.timezone, "now", lambda: made)
    request = _submit(program)
    end_of_tuesday = datetime(2026, 7, 7, 23, 59, 59, 999999, tzinfo=ZoneInfo("America/New_York"))
    assert request.expires_at == end_of_tuesday
    assert PendingRequest.objects.get().expires_at == end_of_tuesday


def test_the_database_refuses_a_second_active_pairing_for_a_mentee(live):
    mentee = factories.ParticipantFactory(program=live)
    first, second = (factories.MentorFactory(program=live) for _ in range(2))
    Pairing.objects.create(program=live, mentee=mentee, mentor=first, origin="admin")
    with pytest.raises(IntegrityError), transaction.atomic():
        Pairing.objects.create(program=live, mentee=mentee, mentor=second, origin="admin")
    assert Pairing.objects.filter(mentee=mentee).count() == 1
