"""Races on PostgreSQL: real threads, each with its own database connection.

These prove the invariants hold where Python alone could not: the mentor
row lock keeps approvals within capacity, and the compare-and-set on a
request's status lets exactly one of several deciders win, with exactly the
winner's emails in the outbox.
"""

from collections import Counter
from datetime import timedelta

import pytest

from pairing import services
from pairing.email_kinds import EmailKind
from pairing.models import MentorRequest, Pairing
from pairing.verbs import Verb as PairingVerb
from pairing_admin.mail.links import Purpose, link_create
from pairing_admin.mail.models import OutboundEmail
from programs.models import ActivityEvent
from tests import factories
from tests.support.race import race

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5


def _program(org):
    return factories.ProgramFactory(organization=org, pairing_enabled=True)


def test_twenty_concurrent_approvals_never_exceed_capacity(org):
    program = _program(org)
    for round_number in range(ROUNDS):
        mentor = factories.MentorFactory(program=program, capacity=2)
        requests = []
        for _ in range(20):
            mentee = factories.ParticipantFactory(program=program)
            requests.append(
                services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk]).request
            )
        outcomes = race([lambda r=r: services.request_approve(request_id=r.pk) for r in requests])
        assert not [o for o in outcomes if o.startswith("crashed")], outcomes
        assert outcomes.count("won") == 2, (round_number, Counter(outcomes))
        assert Pairing.objects.filter(mentor=mentor, status="active").count() == 2
        assert MentorRequest.objects.filter(mentor=mentor, status="approved").count() == 2
        # The last seat going closes the others at once: nobody waits for nothing.
        assert MentorRequest.objects.filter(mentor=mentor, status="pending").count() == 0
        assert MentorRequest.objects.filter(mentor=mentor, status="closed").count() == 18
        assert (
            OutboundEmail.objects.filter(
                kind=EmailKind.REQUEST_CLOSED, idempotency_key__startswith="request-closed:"
            )
            .filter(to_email__in=[r.mentee.email for r in requests])
            .count()
            == 18
        )
        assignments = OutboundEmail.objects.filter(kind=EmailKind.ASSIGNMENT, to_email=mentor.email)
        assert assignments.count() == 2


def test_approve_decline_expiry_and_cancel_race_to_exactly_one_outcome(org, org_admin):
    program = _program(org)
    winners = Counter()
    for _ in range(3 * ROUNDS):
        mentor = factories.MentorFactory(program=program, capacity=3)
        mentee = factories.ParticipantFactory(program=program)
        request = services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk]).request
        links = {
            purpose: link_create(
                purpose=purpose,
                participant=mentor,
                expires_at=request.expires_at,
                object_id=request.pk,
            )[0]
            for purpose in (Purpose.APPROVE, Purpose.DECLINE)
        }
        before = set(OutboundEmail.objects.values_list("pk", flat=True))
        # The sweeper sees a clock past the deadline; the people see the real one.
        after_deadline = request.expires_at + timedelta(seconds=1)
        actions = _contenders(program, request, links, after_deadline, org_admin)
        outcomes = dict(zip(actions, race(list(actions.values())), strict=True))
        request.refresh_from_db()
        assert not [o for o in outcomes.values() if o.startswith("crashed")], outcomes
        assert request.status != "pending", outcomes
        winners[request.status] += 1
        # The sweeper "wins" quietly when it found nothing; everyone else lost loudly.
        loud_winners = [name for name, o in outcomes.items() if o == "won" and name != "expired"]
        assert loud_winners in ([], [request.status]), outcomes
        new_emails = Counter(
            OutboundEmail.objects.exclude(pk__in=before).values_list("kind", flat=True)
        )
        expected = {
            "approved": {EmailKind.ASSIGNMENT: 2},
            "declined": {EmailKind.REQUEST_DECLINED: 1},
            "expired": {EmailKind.REQUEST_EXPIRED: 1},
            "cancelled": {EmailKind.REQUEST_CANCELLED: 1},
        }[request.status]
        assert dict(new_emails) == expected, (request.status, new_emails)
        assert Pairing.objects.filter(request=request).count() == (request.status == "approved")
        cancelled_logged = ActivityEvent.objects.filter(
            verb=PairingVerb.REQUEST_CANCELLED, detail__contains=mentee.full_name
        ).exists()
        assert cancelled_logged == (request.status == "cancelled")
    assert sum(winners.values()) == 3 * ROUNDS


def _contenders(program, request, links, after_deadline, admin):
    return {
        "approved": lambda: services.request_approve(
            request_id=request.pk, link=links[Purpose.APPROVE]
        ),
        "declined": lambda: services.request_decline(
            request_id=request.pk, message="No", link=links[Purpose.DECLINE]
        ),
        "expired": lambda: services.requests_expire_due(now=after_deadline),
        "cancelled": lambda: services.request_cancel(
            program=program, request_id=request.pk, user=admin
        ),
    }


def test_two_sweeps_at_once_expire_each_request_once(org):
    program = _program(org)
    requests = []
    for _ in range(30):
        mentor = factories.MentorFactory(program=program)
        mentee = factories.ParticipantFactory(program=program)
        requests.append(services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk]).request)
    later = max(r.expires_at for r in requests) + timedelta(seconds=1)
    results = []
    outcomes = race([lambda: results.append(services.requests_expire_due(now=later))] * 3)
    assert outcomes == ["won"] * 3
    assert sum(r["expired"] for r in results) == 30
    assert MentorRequest.objects.filter(status="expired").count() == 30
    assert OutboundEmail.objects.filter(kind=EmailKind.REQUEST_EXPIRED).count() == 30
