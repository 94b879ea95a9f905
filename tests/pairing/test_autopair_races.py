"""Auto-pair's confirmation racing other writers, on PostgreSQL with real threads.

Confirm locks the mentors' rows in id order, like request approvals and
pairing by hand, so a mentor's last seat goes to exactly one of them.
"""

import pytest

from pairing import autopair, services
from pairing.autopair import Options
from pairing.models import AutoPairRun, Pairing
from tests import factories
from tests.support.race import race

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]


def _staged_run(program, user):
    run = autopair.autopair_start(program=program, user=user, options=Options())
    autopair.autopair_execute(run_id=run.pk)  # the on-commit task already ran it, or this does
    run.refresh_from_db()
    assert run.status == AutoPairRun.Status.STAGED
    return run


@pytest.mark.parametrize("round_number", range(3))
def test_confirm_and_pairing_by_hand_never_overfill_a_mentor(org, round_number):
    program = factories.ProgramFactory(organization=org)
    user = factories.MembershipFactory(organization=org).user
    proposed = factories.ParticipantFactory(program=program, goals=["python"])
    by_hand = factories.ParticipantFactory(program=program, goals=["knitting"])
    mentor = factories.MentorFactory(program=program, capacity=1, skills=["python"])
    run = _staged_run(program, user)
    assert run.proposals.filter(mentor=mentor).exists()
    # The proposal holds the mentor's only seat, and pairing by hand refuses a held
    # seat; the two still race for it, and whichever lands first, the mentor never
    # gets a second mentee (confirm re-checks seats; the hand pairing checks holds).
    run.unpaired.filter(mentee=by_hand).delete()
    outcomes = race(
        [
            lambda: autopair.autopair_confirm(program=program, run_id=run.pk, user=user),
            lambda: services.pairing_create_by_admin(
                program=program, mentee_id=by_hand.pk, mentor_id=mentor.pk, user=user
            ),
        ]
    )
    assert not any(o.startswith("crashed") for o in outcomes), outcomes
    active = Pairing.objects.filter(mentor=mentor, status="active")
    assert active.count() == 1, outcomes
    run.refresh_from_db()
    if active.get().mentee_id == proposed.pk:
        assert outcomes[1].startswith("refused")
        assert run.totals["confirmed"] == 1
    else:
        # Confirm ran second: it reports the proposal as skipped, it does not drop it silently.
        assert run.totals["confirmed"] == 0 and run.totals["skipped_count"] == 1


def test_two_confirms_of_one_run_create_the_pairings_once(org):
    program = factories.ProgramFactory(organization=org)
    user = factories.MembershipFactory(organization=org).user
    for _ in range(6):
        factories.ParticipantFactory(program=program, goals=["python"])
    factories.MentorFactory(program=program, capacity=6, skills=["python"])
    run = _staged_run(program, user)
    confirm = lambda: autopair.autopair_confirm(program=program, run_id=run.pk, user=user)  # noqa: E731
    outcomes = race([confirm, confirm])
    assert sorted(o.split(":")[0] for o in outcomes) == ["refused", "won"], outcomes
    assert Pairing.objects.filter(program=program, origin="auto_pair").count() == 6
