"""Pending requests' own table, kept by the database's triggers (migration 0005)."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from pairing import services
from pairing.models import MentorRequest, PendingRequest
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
        lambda r, admin: r.delete(),
    ],
    ids=["approve", "decline", "withdraw", "cancel", "expire", "delete"],
)
def test_every_way_out_of_pending_removes_the_row(live, org_admin, settle):
    request, other = _submit(live), _submit(live)
    # A day more for the other one: the sweep's step leaves it waiting.
    MentorRequest.objects.filter(pk=other.pk).update(expires_at=other.expires_at + timedelta(1))
    settle(request, org_admin)
    assert _waiting() == _mirror(other)


def test_deleting_the_mentee_removes_the_row(live):
    request, other = _submit(live), _submit(live)
    request.mentee.delete()
    assert _waiting() == _mirror(other)


def test_the_database_refuses_a_second_pending_request_for_a_mentee(live):
    request = _submit(live)
    with pytest.raises(IntegrityError), transaction.atomic():
        MentorRequest.objects.create(
            program=live,
            mentee=request.mentee,
            mentor=factories.MentorFactory(program=live),
            expires_at=request.expires_at,
        )
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
