"""Waitlist offers under races, on PostgreSQL with real threads.

Whoever frees a seat holds (or skip-locks) the mentor's row, and takes the
waiting mentees with SKIP LOCKED: two seats freeing at once never offer one
mentee twice, and one seat freeing twice at once is never offered twice.
"""

from collections import Counter

import pytest

from pairing import services, waitlist
from pairing.email_kinds import EmailKind
from pairing.models import MentorRequest, Pairing, PendingRequest, WaitlistEntry
from pairing_admin.mail.models import OutboundEmail
from programs.models import Program
from tests import factories
from tests.support.race import race

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5


def _program(org, **fields):
    return factories.ProgramFactory(organization=org, pairing_enabled=True, **fields)


def _full_mentor(program):
    """A mentor with one seat, taken: (mentor, its pairing)."""
    mentor = factories.mentor_with_pairings(program, 1, capacity=1)
    return mentor, Pairing.objects.get(mentor=mentor, status=Pairing.Status.ACTIVE)


def _wait(program):
    mentee = factories.ParticipantFactory(program=program)
    waitlist.waitlist_join(mentee=mentee)
    return mentee


def _end(program, pairing, admin):
    return lambda: services.pairing_end(
        program=program, pairing_id=pairing.pk, user=admin, reason="Done", notify=False
    )


def _offers(mentees) -> Counter:
    """{mentee id: pending requests} for these mentees (0 when none)."""
    counts = Counter({m.pk: 0 for m in mentees})
    counts.update(
        MentorRequest.objects.filter(
            mentee__in=mentees, status=MentorRequest.Status.PENDING
        ).values_list("mentee_id", flat=True)
    )
    return counts


def test_two_seats_freeing_at_once_offer_the_one_waiting_mentee_exactly_one(org, org_admin):
    for round_number in range(ROUNDS):
        program = _program(org)  # each round on its own: nothing left over feeds the next
        (_, p1), (_, p2) = _full_mentor(program), _full_mentor(program)
        mentee = _wait(program)

        outcomes = race([_end(program, p1, org_admin), _end(program, p2, org_admin)])

        assert outcomes == ["won", "won"], (round_number, outcomes)
        assert _offers([mentee]) == {mentee.pk: 1}, round_number
        assert MentorRequest.objects.filter(mentee=mentee).count() == 1
        assert (
            OutboundEmail.objects.filter(
                kind=EmailKind.WAITLIST_OFFER, to_email=mentee.email
            ).count()
            == 1
        )
        assert not WaitlistEntry.objects.filter(mentee=mentee).exists()


def test_two_seats_freeing_at_once_with_two_waiting_offer_each_mentee_one(org, org_admin):
    """Each end offers its own mentor's seat: one mentee each, neither left waiting
    while a seat stands free (the second offer must not skip a mentee merely because
    the first one held every waiting mentee's row)."""
    missed = []
    for round_number in range(ROUNDS):
        program = _program(org)
        (m1, p1), (m2, p2) = _full_mentor(program), _full_mentor(program)
        first, second = _wait(program), _wait(program)

        outcomes = race([_end(program, p1, org_admin), _end(program, p2, org_admin)])

        assert outcomes == ["won", "won"], (round_number, outcomes)
        offers = _offers([first, second])
        assert max(offers.values()) <= 1, (round_number, offers)  # never two for one mentee
        for mentor in (m1, m2):
            assert PendingRequest.objects.filter(mentor=mentor).count() <= 1
        if offers != {first.pk: 1, second.pk: 1}:
            missed.append((round_number, dict(offers)))
    assert not missed, f"a seat stayed free while a mentee waited: {missed}"


def test_the_sweep_offers_a_seat_that_a_concurrent_offer_left_free(org, org_admin):
    """The safety net behind the race above: whatever seat the two ends left free,
    the next sweep offers it, still once per mentee."""
    for round_number in range(ROUNDS):
        program = _program(org)
        (_, p1), (_, p2) = _full_mentor(program), _full_mentor(program)
        first, second = _wait(program), _wait(program)
        race([_end(program, p1, org_admin), _end(program, p2, org_admin)])

        waitlist.waitlist_sweep()

        assert _offers([first, second]) == {first.pk: 1, second.pk: 1}, round_number
        assert not WaitlistEntry.objects.filter(program=program).exists()
        assert waitlist.waitlist_sweep() == {"offered": 0}


def test_one_seat_freeing_twice_at_once_is_offered_once(org):
    """A one-seat mentor with two pending requests (requests take no capacity until
    approved): a decline and a withdrawal at once free the seat once between them."""
    for round_number in range(ROUNDS):
        program = _program(org)  # each round on its own: nothing left over feeds the next
        mentor = factories.MentorFactory(program=program, capacity=1)
        declined, withdrawn = (
            services.preferences_submit(
                mentee=factories.ParticipantFactory(program=program), mentor_ids=[mentor.pk]
            ).request
            for _ in range(2)
        )
        waiting = [_wait(program), _wait(program)]
        assert _offers(waiting) == {m.pk: 0 for m in waiting}

        outcomes = race(
            [
                lambda r=declined: services.request_decline(request_id=r.pk, message="No"),
                lambda r=withdrawn: services.request_withdraw(mentee=r.mentee, request_id=r.pk),
            ]
        )

        assert outcomes == ["won", "won"], (round_number, outcomes)
        offers = _offers(waiting)
        assert sorted(offers.values()) == [0, 1], (round_number, offers)
        assert PendingRequest.objects.filter(mentor=mentor).count() == 1, round_number
        assert (
            OutboundEmail.objects.filter(
                kind=EmailKind.WAITLIST_OFFER, to_email__in=[m.email for m in waiting]
            ).count()
            == 1
        )
        # The first in line got it; the other still waits.
        assert offers[waiting[0].pk] == 1
        assert WaitlistEntry.objects.filter(mentee=waiting[1]).exists()


def test_without_approval_two_seats_freeing_at_once_pair_the_waiting_mentee_once(org, org_admin):
    for round_number in range(ROUNDS):
        program = _program(org, pairing_process=Program.Process.USER_LED)
        (_, p1), (_, p2) = _full_mentor(program), _full_mentor(program)
        mentee = _wait(program)

        outcomes = race([_end(program, p1, org_admin), _end(program, p2, org_admin)])

        assert outcomes == ["won", "won"], (round_number, outcomes)
        made = Pairing.objects.filter(mentee=mentee, status=Pairing.Status.ACTIVE)
        assert made.count() == 1, round_number
        assert made.get().origin == Pairing.Origin.WAITLIST
