"""Races over one mentee, on PostgreSQL with real threads: whatever makes a request or
a pairing for a mentee locks the mentee's row, so a mentee never ends up paired while
a request of theirs still waits for an answer."""

import threading
from collections import Counter

import pytest
from django.db import connection, transaction

from pairing import autopair, services
from pairing.email_kinds import EmailKind
from pairing.models import AutoPairProposal, AutoPairRun, MentorPreference, MentorRequest, Pairing
from pairing_admin.mail.models import OutboundEmail
from programs.models import Participant, Program
from tests import factories
from tests.support.race import race

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 8


def _live(org):
    return factories.ProgramFactory(organization=org, pairing_enabled=True)


def _paired_and_waiting(mentee) -> tuple[bool, bool]:
    return (
        Pairing.objects.filter(mentee=mentee, status=Pairing.Status.ACTIVE).exists(),
        MentorRequest.objects.filter(mentee=mentee, status=MentorRequest.Status.PENDING).exists(),
    )


def test_a_request_and_a_hand_pairing_at_once_never_leave_both(org, org_admin):
    program = _live(org)
    outcomes = Counter()
    for _ in range(ROUNDS):
        mentee = factories.ParticipantFactory(program=program)
        asked, chosen = factories.MentorFactory.create_batch(2, program=program, capacity=3)
        results = race(
            [
                lambda m=mentee, a=asked: services.preferences_submit(mentee=m, mentor_ids=[a.pk]),
                lambda m=mentee, c=chosen: services.pairing_create_by_admin(
                    program=program, mentee_id=m.pk, mentor_id=c.pk, user=org_admin
                ),
            ]
        )
        assert not [r for r in results if r.startswith("crashed")], results
        # The hand pairing always wins (it cancels a request made just before it);
        # the submit either came first (and its request was cancelled) or was refused.
        assert results[1] == "won", results
        assert _paired_and_waiting(mentee) == (True, False), results
        outcomes[results[0].split(":")[0]] += 1
    assert sum(outcomes.values()) == ROUNDS


def test_a_request_and_an_auto_pair_confirm_at_once_never_leave_both(org, org_admin):
    program = _live(org)
    for _ in range(ROUNDS):
        mentee = factories.ParticipantFactory(program=program)
        asked, proposed = factories.MentorFactory.create_batch(2, program=program, capacity=3)
        run = AutoPairRun.objects.create(program=program, status=AutoPairRun.Status.STAGED)
        AutoPairProposal.objects.create(run=run, mentee=mentee, mentor=proposed, score=30.0)
        results = race(
            [
                lambda m=mentee, a=asked: services.preferences_submit(mentee=m, mentor_ids=[a.pk]),
                lambda r=run: autopair.autopair_confirm(program=program, run_id=r.pk, user=None),
            ]
        )
        assert not [r for r in results if r.startswith("crashed")], results
        paired, waiting = _paired_and_waiting(mentee)
        assert not (paired and waiting), results
        assert paired or waiting, results
        AutoPairRun.objects.filter(pk=run.pk).update(status=AutoPairRun.Status.DISCARDED)


def test_a_forward_does_not_wait_for_a_mentee_someone_else_holds(org):
    """Passing a declined request on needs the mentee's row; held elsewhere, the
    mentee is asked to choose again instead (no wait, so no deadlock)."""
    program = _live(org)
    Program.objects.filter(pk=program.pk).update(after_decline=Program.AfterDecline.NEXT_CHOICE)
    mentee = factories.ParticipantFactory(program=program)
    first, second = factories.MentorFactory.create_batch(2, program=program, capacity=2)
    request = services.preferences_submit(mentee=mentee, mentor_ids=[first.pk, second.pk]).request
    assert list(MentorPreference.objects.filter(mentee=mentee).values_list("rank", flat=True))

    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                list(Participant.objects.select_for_update(no_key=True).filter(pk=mentee.pk))
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(30)
        services.request_decline(request_id=request.pk, message="Not now")
    finally:
        release.set()
        holder.join(30)

    assert not MentorRequest.objects.filter(mentor=second).exists()
    kinds = set(OutboundEmail.objects.filter(to_email=mentee.email).values_list("kind", flat=True))
    assert EmailKind.REQUEST_DECLINED in kinds
    assert EmailKind.REQUEST_FORWARDED not in kinds

    # With the mentee free, the same decline passes the request on.
    other = factories.ParticipantFactory(program=program)
    again = services.preferences_submit(mentee=other, mentor_ids=[first.pk, second.pk]).request
    services.request_decline(request_id=again.pk, message="Not now")
    assert MentorRequest.objects.get(mentee=other, status="pending").mentor_id == second.pk
