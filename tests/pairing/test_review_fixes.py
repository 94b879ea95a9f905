"""The review fixes: auto-pair and a mentor who declined, who may join the waitlist and
name whom, a mentee who became a mentor, withdrawn and cancelled waitlist offers, and
End Pairing's "first in line" promise.

Outbox rows are written in the transaction that made the change, so the tests read
OutboundEmail rows. Tests run inside a transaction that never commits: work queued
with `delay_on_commit` runs only under django_capture_on_commit_callbacks.
"""

import re
from datetime import timedelta

import pytest

from pairing import autopair, seats, services, tasks, waitlist
from pairing.autopair import Options
from pairing.email_kinds import EmailKind
from pairing.models import (
    AutoPairRun,
    AutoPairUnpaired,
    MentorRequest,
    Pairing,
    WaitlistEntry,
)
from pairing.verbs import Verb as PairingVerb
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.models import OutboundEmail
from programs.imports.services import import_apply, import_create
from programs.models import ActivityEvent, Participant, Program
from programs.services import participant_update
from tests import factories
from tests.support.builders import program_set
from tests.support.schemes import set_weights

pytestmark = pytest.mark.django_db

Status = MentorRequest.Status
Process = Program.Process
NextStep = services.NextStep
Reason = AutoPairUnpaired.Reason


def _mentee(program, **fields) -> Participant:
    fields.setdefault("interests", ["python"])
    return factories.ParticipantFactory(program=program, **fields)


def _mentor(program, capacity=1, **fields) -> Participant:
    fields.setdefault("skills", ["python"])
    return factories.MentorFactory(program=program, capacity=capacity, **fields)


def _decline(program, mentor, mentee) -> MentorRequest:
    """The mentee asks this mentor, who declines."""
    request = services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk]).request
    return services.request_decline(request_id=request.pk, message="Not this time")


def _emails(kind, **filters):
    return OutboundEmail.objects.filter(kind=kind, **filters)


def _offer_of(mentee) -> MentorRequest | None:
    return MentorRequest.objects.filter(mentee=mentee, status=Status.PENDING).first()


def _offered_mentors(*mentees) -> list[int | None]:
    """The mentor of each mentee's pending request (None: none)."""
    return [getattr(_offer_of(m), "mentor_id", None) for m in mentees]


def _waiting(mentee) -> bool:
    """On the waitlist now (not holding an offer)."""
    return WaitlistEntry.objects.filter(mentee=mentee).exists()


def _wait(program, *, wanted=(), user=None, **fields) -> Participant:
    mentee = _mentee(program, **fields)
    waitlist.waitlist_join(mentee=mentee, mentor_ids=[m.pk for m in wanted], user=user)
    return mentee


def _written() -> tuple[int, ...]:
    return (
        WaitlistEntry.every.count(),
        WaitlistEntry.wanted_mentors.through.objects.count(),
        MentorRequest.objects.count(),
        Pairing.objects.count(),
        OutboundEmail.objects.count(),
        ActivityEvent.objects.count(),
    )


# --- 1. Auto-pair never proposes a mentor who declined the mentee ----------------------


def _run(program, user, capture) -> AutoPairRun:
    with capture(execute=True):
        run = autopair.autopair_start(program=program, user=user, options=Options())
    run.refresh_from_db()
    assert run.status == AutoPairRun.Status.STAGED, run.error
    return run


def _pairs(run) -> set[tuple[int, int]]:
    return set(run.proposals.values_list("mentee_id", "mentor_id"))


def test_auto_pair_never_proposes_a_mentor_who_declined_the_mentee(
    live_program, org_admin, django_capture_on_commit_callbacks
):
    declining = _mentor(live_program, first_name="Ada", last_name="Nay")
    mentee = _mentee(live_program, first_name="Ben", last_name="Ask")
    _decline(live_program, declining, mentee)

    # The only mentor with room declined them: nobody to propose, and the run says why.
    run = _run(live_program, org_admin, django_capture_on_commit_callbacks)
    assert _pairs(run) == set()
    assert run.unpaired.get(mentee=mentee).reason == Reason.RULE_EXCLUDED

    autopair.autopair_discard(program=live_program, run_id=run.pk, user=org_admin)
    other = _mentor(live_program)
    run = _run(live_program, org_admin, django_capture_on_commit_callbacks)
    assert _pairs(run) == {(mentee.pk, other.pk)}

    # Nor can the admin swap the declining mentor in on the review.
    with pytest.raises(DomainError, match=re.escape("Ada Nay declined Ben Ask's request")):
        autopair.proposal_set_mentor(
            program=live_program, run_id=run.pk, mentee_id=mentee.pk, mentor_id=declining.pk
        )
    assert _pairs(run) == {(mentee.pk, other.pk)}


def test_confirm_skips_a_proposal_whose_mentor_declined_the_mentee_after_staging(
    live_program, org_admin, django_capture_on_commit_callbacks
):
    mentor = _mentor(live_program, first_name="Cy", last_name="Later")
    mentee = _mentee(live_program, first_name="Dee", last_name="Staged")
    run = _run(live_program, org_admin, django_capture_on_commit_callbacks)
    assert _pairs(run) == {(mentee.pk, mentor.pk)}
    # While the run waits for review, the mentee asks that mentor, who says no.
    _decline(live_program, mentor, mentee)

    result = autopair.autopair_confirm(program=live_program, run_id=run.pk, user=org_admin)

    assert result.created == 0
    assert result.skipped == [
        {
            "mentee": "Dee Staged",
            "mentor": "Cy Later",
            "why": "the mentor declined this mentee's request",
        }
    ]
    assert not Pairing.objects.filter(mentee=mentee).exists()


# --- 2. Who may put a mentee on the waitlist ------------------------------------------


def test_a_mentee_cannot_join_the_waitlist_while_pairing_is_off(program):
    assert program.waitlist_on and not program.pairing_enabled
    mentee = _mentee(program)
    before = _written()

    with pytest.raises(DomainError, match="waitlist is not open to sign-ups right now"):
        waitlist.waitlist_join(mentee=mentee)

    assert _written() == before


def test_in_an_admin_led_program_only_an_admin_puts_a_mentee_on_the_waitlist(
    live_program, org_admin
):
    program_set(live_program, pairing_process=Process.ADMIN_LED)
    mentee = _mentee(live_program)
    before = _written()

    with pytest.raises(DomainError, match="waitlist is not open to sign-ups right now"):
        waitlist.waitlist_join(mentee=mentee)
    assert _written() == before

    entry = waitlist.waitlist_join(mentee=mentee, user=org_admin)
    assert (entry.mentee_id, entry.added_by) == (mentee.pk, org_admin)
    assert _waiting(mentee)
    assert ActivityEvent.objects.filter(
        program=live_program, verb=PairingVerb.WAITLIST_ADDED
    ).exists()


# --- 3. Named mentors must pass the must-match rules -----------------------------------


def test_naming_a_mentor_who_fails_a_must_match_field_is_refused_and_writes_nothing(
    live_program,
):
    set_weights(live_program, department=10)
    legal = factories.mentor_with_pairings(live_program, 1, capacity=1, department="Legal")
    sales = factories.mentor_with_pairings(live_program, 1, capacity=1, department="Sales")
    mentee = _mentee(live_program, department="Sales")
    before = _written()

    with pytest.raises(DomainError, match="doesn't meet this program's must-match rules"):
        waitlist.waitlist_join(mentee=mentee, mentor_ids=[sales.pk, legal.pk])
    assert _written() == before

    # Already waiting for a mentor who matches: a refused change keeps them.
    entry = waitlist.waitlist_join(mentee=mentee, mentor_ids=[sales.pk])
    before = _written()
    with pytest.raises(DomainError, match="must-match rules"):
        waitlist.waitlist_join(mentee=mentee, mentor_ids=[legal.pk])
    assert _written() == before
    assert list(entry.wanted_mentors.values_list("pk", flat=True)) == [sales.pk]


# --- 4. Someone who became a mentor leaves the waitlist --------------------------------


def test_a_waitlisted_mentee_made_a_mentor_leaves_the_waitlist(live_program, org_admin):
    named = factories.mentor_with_pairings(live_program, 1, capacity=1)
    promoted = _wait(live_program, wanted=[named])
    behind = _wait(live_program)
    assert _waiting(promoted) and _waiting(behind)

    participant_update(participant=promoted, user=org_admin, role="mentor", capacity=1)

    assert not WaitlistEntry.every.filter(mentee=promoted).exists()
    assert not WaitlistEntry.wanted_mentors.through.objects.filter(
        waitlistentry__mentee=promoted
    ).exists()
    # Their new seat goes to the one waiting behind them.
    assert _offer_of(behind).mentor_id == promoted.pk


def test_a_csv_import_making_a_waitlisted_mentee_a_mentor_takes_them_off_the_waitlist(
    live_program, org_admin
):
    promoted = _wait(live_program)
    csv_text = (
        "email,role,first_name,last_name,capacity\n"
        f"{promoted.email},mentor,{promoted.first_name},{promoted.last_name},1\n"
    )
    upload = import_create(
        program=live_program, user=org_admin, filename="people.csv", data=csv_text.encode()
    )

    import_apply(participant_import=upload, user=org_admin)

    assert Participant.objects.get(pk=promoted.pk).role == Participant.Role.MENTOR
    assert not WaitlistEntry.every.filter(mentee=promoted).exists()


# --- 5. A withdrawn or cancelled waitlist offer ----------------------------------------


def _offered_then_someone_behind(program):
    """`first` joins and is offered the one free seat (mentor `mentor`); `behind` joins
    after them, waiting only for a full mentor, so the seat is never theirs."""
    mentor = _mentor(program, capacity=1, first_name="Mo", last_name="Seat")
    first = _wait(program)
    offer = _offer_of(first)
    assert offer is not None and offer.mentor_id == mentor.pk
    entry = WaitlistEntry.every.get(mentee=first)
    assert entry.offer_id == offer.pk
    full = factories.mentor_with_pairings(program, 1, capacity=1)
    behind = _wait(program, wanted=[full])
    return mentor, first, entry, offer, behind


def _back_at_their_place(mentee, entry, behind) -> WaitlistEntry:
    back = WaitlistEntry.objects.get(mentee=mentee)
    assert (back.pk, back.joined_at, back.priority, back.offer_id) == (
        entry.pk,
        entry.joined_at,
        entry.priority,
        None,
    )
    assert waitlist.position_of(back) == 1
    assert waitlist.position_of(WaitlistEntry.objects.get(mentee=behind)) == 2
    return back


def test_a_withdrawn_offer_keeps_the_place_sends_nothing_and_is_not_offered_again(live_program):
    mentor, mentee, entry, offer, behind = _offered_then_someone_behind(live_program)
    to_mentee = OutboundEmail.objects.filter(to_email=mentee.email).count()

    services.request_withdraw(mentee=mentee, request_id=offer.pk)

    assert MentorRequest.objects.get(pk=offer.pk).status == Status.WITHDRAWN
    _back_at_their_place(mentee, entry, behind)
    # They withdrew it themselves: no email about it.
    assert OutboundEmail.objects.filter(to_email=mentee.email).count() == to_mentee
    assert not _emails(EmailKind.WAITLIST_RETURNED).exists()
    # The seat is free again, but not offered back to them: not by the withdrawal,
    # nor by a later offer of that mentor's seats.
    assert _offer_of(mentee) is None
    assert seats.offerable_seats(live_program, [mentor.pk]) == {mentor.pk: 1}
    assert waitlist.seats_offer(program=live_program, mentor_ids=[mentor.pk]) == []
    assert _offer_of(mentee) is None and _waiting(mentee)


def test_a_cancelled_offer_puts_the_mentee_back_in_line_and_tells_them_so(live_program, org_admin):
    mentor, mentee, entry, offer, behind = _offered_then_someone_behind(live_program)

    services.request_cancel(program=live_program, request_id=offer.pk, user=org_admin)

    assert MentorRequest.objects.get(pk=offer.pk).status == Status.CANCELLED
    _back_at_their_place(mentee, entry, behind)
    [told] = _emails(EmailKind.WAITLIST_RETURNED)
    assert (told.to_email, told.idempotency_key) == (mentee.email, f"waitlist-returned:{offer.pk}")
    assert "Mo Seat" in told.body_text and "your program team closed it" in told.body_text
    assert "keep your place on the waitlist" in told.body_text
    assert not _emails(EmailKind.REQUEST_CANCELLED).exists()
    assert _offer_of(mentee) is None
    assert waitlist.seats_offer(program=live_program, mentor_ids=[mentor.pk]) == []


# --- 6. End Pairing with "first in line" ------------------------------------------------


def _full_and_free(program) -> tuple[Pairing, Participant]:
    """A mentor whose one seat is taken (that pairing), and mentor B with a free seat."""
    a = factories.mentor_with_pairings(program, 1, capacity=1)
    b = _mentor(program, capacity=1, first_name="Bea", last_name="Free")
    return Pairing.objects.get(mentor=a), b


def _ended(program, pairing, admin):
    return services.pairing_end(
        program=program,
        pairing_id=pairing.pk,
        user=admin,
        reason="Moved teams",
        notify=True,
        next_step=NextStep.WAITLIST,
    )


def _first_in_line_and_not_offered(mentee, position: int = 1) -> None:
    entry = WaitlistEntry.objects.get(mentee=mentee)
    assert entry.priority == 1 and waitlist.position_of(entry) == position
    assert _offer_of(mentee) is None
    assert not _emails(EmailKind.WAITLIST_OFFER, to_email=mentee.email).exists()
    email = _emails(EmailKind.PAIRING_ENDED, to_email=mentee.email).get()
    assert "You are first in line on the program's waitlist" in email.body_text


@pytest.mark.parametrize(
    "offer_waitlist",
    [
        lambda program: waitlist.waitlist_sweep(program_ids=[program.pk]),
        lambda program: tasks.offer_program_waitlist(program.pk),
    ],
    ids=["sweep", "task"],
)
def test_end_to_waitlist_says_first_in_line_and_offers_the_free_seat_afterwards(
    live_program, org_admin, offer_waitlist
):
    pairing, b = _full_and_free(live_program)
    mentee = pairing.mentee

    _ended(live_program, pairing, org_admin)

    # In End Pairing's own transaction the email says "first in line", and so it is.
    _first_in_line_and_not_offered(mentee)

    assert offer_waitlist(live_program) == {"offered": 1}

    offer = _offer_of(mentee)
    assert offer is not None and offer.mentor_id == b.pk
    assert WaitlistEntry.every.get(mentee=mentee).offer_id == offer.pk
    told = _emails(EmailKind.WAITLIST_OFFER, to_email=mentee.email).get()
    assert told.idempotency_key == f"waitlist-offer:{offer.pk}" and "Bea Free" in told.body_text


def test_end_to_waitlist_queues_the_offer_for_after_the_commit(
    live_program, org_admin, django_capture_on_commit_callbacks
):
    pairing, b = _full_and_free(live_program)
    mentee = pairing.mentee

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _ended(live_program, pairing, org_admin)
        _first_in_line_and_not_offered(mentee)

    assert callbacks
    offer = _offer_of(mentee)
    assert offer is not None and offer.mentor_id == b.pk
    assert _emails(EmailKind.WAITLIST_OFFER, to_email=mentee.email).exists()


def _two_ended_to_waitlist(program, admin) -> tuple[list[Participant], list[Participant]]:
    """Mentors A and B, each with one mentee; both pairings end at once, the mentees put
    first in line. Returns ([A, B], [A's mentee, B's mentee])."""
    mentors = [factories.mentor_with_pairings(program, 1, capacity=1) for _ in range(2)]
    pairings = [Pairing.objects.get(mentor=m) for m in mentors]
    services.pairing_end_bulk(
        program=program,
        pairing_ids=[p.pk for p in pairings],
        user=admin,
        reason="Cohort reshuffle",
        notify=True,
        next_step=NextStep.WAITLIST,
    )
    return mentors, [p.mentee for p in pairings]


def test_a_bulk_end_to_waitlist_offers_each_mentee_the_others_seat_only_after_the_commit(
    live_program, org_admin
):
    (a, b), (with_a, with_b) = _two_ended_to_waitlist(live_program, org_admin)

    # A's seat could go to B's mentee and B's to A's: not in End Pairing's own event.
    _first_in_line_and_not_offered(with_a, position=1)
    _first_in_line_and_not_offered(with_b, position=2)

    assert waitlist.waitlist_sweep(program_ids=[live_program.pk]) == {"offered": 2}
    assert (_offer_of(with_a).mentor_id, _offer_of(with_b).mentor_id) == (b.pk, a.pk)


def test_a_bulk_end_to_waitlist_gives_no_freed_seat_to_someone_behind_the_first_in_line(
    live_program, org_admin, django_capture_on_commit_callbacks
):
    """The ended mentees are first in line, and their email says so: a seat one of
    them may take does not go to a mentee who was waiting behind them."""
    behind = _wait(live_program)
    with django_capture_on_commit_callbacks(execute=True):
        (a, b), (with_a, with_b) = _two_ended_to_waitlist(live_program, org_admin)

    assert _offered_mentors(with_a, with_b, behind) == [b.pk, a.pk, None]
    assert _waiting(behind)


def test_offers_lapsing_together_give_no_freed_seat_to_someone_behind_their_mentees(
    live_program, django_capture_on_commit_callbacks
):
    """Two waitlist offers lapse in one sweep: both mentees are back at their places,
    ahead of one who joined later, and each may take the other's lapsed mentor."""
    m1, m2 = (_mentor(live_program, capacity=1) for _ in range(2))
    first, second = _wait(live_program), _wait(live_program)
    offers = [_offer_of(first), _offer_of(second)]
    assert [o.mentor_id for o in offers] == [m1.pk, m2.pk]
    behind = _wait(live_program)
    assert _offer_of(behind) is None

    with django_capture_on_commit_callbacks(execute=True):
        services.requests_expire_due(now=max(o.expires_at for o in offers) + timedelta(seconds=1))

    assert _offered_mentors(first, second, behind) == [m2.pk, m1.pk, None]
    assert _waiting(behind)
