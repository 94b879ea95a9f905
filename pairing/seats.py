"""Seat arithmetic: what takes a mentor's seats, the only place that counts them.

Active pairings always take a seat. Pending requests take one where a seat
is offered or planned ahead (the waitlist, auto-pair), not where a request is
being made. A staged auto-pair run's proposals hold their mentors' seats
while an admin reviews the run, except a proposal's own mentee's seat (theirs
to take) and a mentee paired since. Each caller says which of these count.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from pairing.models import AutoPairProposal, AutoPairRun, Pairing, PendingRequest
from programs.models import Participant, Program

# --- Per mentor, as SQL (annotations) ---------------------------------------------------


def count_per_mentor(rows: QuerySet):
    """How many of `rows` name the annotated mentor (0 for none), as a subquery.

    COUNT(*), not COUNT(id): an index on (mentor, status) answers it alone, with
    no visit to the rows (the preference form counts this for every mentor).
    """
    return Coalesce(
        Subquery(
            rows.filter(mentor=OuterRef("pk"))
            .order_by()
            .values("mentor")
            .annotate(n=Count("*"))
            .values("n"),
            output_field=IntegerField(),
        ),
        Value(0),
    )


def held_in_program(program: Program, *, except_mentee_id: int | None = None):
    """Seats the program's staged auto-pair run holds, per mentor (see held_seats_of).

    Without a staged run (nearly always) the per-mentor count is never
    evaluated: the database answers the uncorrelated EXISTS once.
    """
    staged = AutoPairRun.objects.filter(program=program, status=AutoPairRun.Status.STAGED)
    proposals = holding_unpaired(AutoPairProposal.objects.filter(run__in=staged.values("pk")))
    if except_mentee_id is not None:
        proposals = proposals.exclude(mentee_id=except_mentee_id)
    return Case(When(Exists(staged), then=count_per_mentor(proposals)), default=Value(0))


def with_load(
    mentors: QuerySet[Participant], program: Program, *, except_mentee_id: int | None = None
) -> QuerySet[Participant]:
    """`mentors` with `active` (active pairings) and `held` (by the staged run), for requests.

    Pending requests do not count here: a mentor may have more waiting than seats.
    """
    return mentors.annotate(
        active=count_per_mentor(Pairing.objects.active()),
        held=held_in_program(program, except_mentee_id=except_mentee_id),
    )


def with_seats_used(mentors: QuerySet[Participant], program: Program) -> QuerySet[Participant]:
    """`mentors` with `used`: active pairings, pending requests and staged-run holds.

    The seats that can be offered (the waitlist): nothing already promised.
    """
    held = AutoPairProposal.objects.filter(
        run__program=program, run__status=AutoPairRun.Status.STAGED
    ).exclude(Exists(Pairing.objects.filter(mentee=OuterRef("mentee_id")).active()))
    return mentors.annotate(
        used=count_per_mentor(Pairing.objects.active())
        + count_per_mentor(PendingRequest.objects.all())
        + count_per_mentor(held)
    )


# --- Per mentor, in Python ----------------------------------------------------------------


def _counts(qs, key: str = "mentor_id") -> dict[int, int]:
    return dict(qs.order_by().values(key).annotate(c=Count("pk")).values_list(key, "c"))


def active_pairings_of(mentor_id: int) -> int:
    return Pairing.objects.filter(mentor_id=mentor_id).active().count()


def holding_unpaired(proposals: QuerySet[AutoPairProposal]) -> QuerySet[AutoPairProposal]:
    """Leave out the proposals whose mentee got an active pairing since (they hold nothing)."""
    return proposals.exclude(mentee__pairings_as_mentee__status=Pairing.Status.ACTIVE)


def holding(proposals: QuerySet[AutoPairProposal]) -> QuerySet[AutoPairProposal]:
    """The proposals that hold a seat: in a staged run, for a mentee not paired since."""
    return holding_unpaired(proposals.filter(run__status=AutoPairRun.Status.STAGED))


def held_seats_of(mentor_id: int, *, except_mentee_id: int | None = None) -> int:
    """Seats of this mentor that a staged auto-pair run holds for its proposals.

    A mentee's own proposal does not stand in that mentee's way; confirming
    the run re-checks every seat under the mentor locks in any case.
    """
    held = holding(AutoPairProposal.objects.filter(mentor_id=mentor_id))
    if except_mentee_id is not None:
        held = held.exclude(mentee_id=except_mentee_id)
    return held.count()


def taken_for_request(mentor_ids: Iterable[int], *, mentee_id: int) -> dict[int, int]:
    """{mentor id: seats taken} as a request from this mentee sees them (two queries).

    Active pairings and seats a staged run holds for other mentees; pending
    requests do not count.
    """
    active = dict(
        Pairing.objects.filter(mentor_id__in=mentor_ids)
        .active()
        .values_list("mentor_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    held = dict(
        holding(AutoPairProposal.objects.filter(mentor_id__in=mentor_ids))
        .exclude(mentee_id=mentee_id)
        .values_list("mentor_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {pk: active.get(pk, 0) + held.get(pk, 0) for pk in {*active, *held}}


def mentor_load(program: Program, mentor_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Seats taken per mentor as auto-pair plans: active pairings + pending requests."""
    pairings = Pairing.objects.filter(program=program).active()
    pending = PendingRequest.objects.filter(program=program)
    if mentor_ids is not None:
        pairings = pairings.filter(mentor_id__in=mentor_ids)
        pending = pending.filter(mentor_id__in=mentor_ids)
    load: dict[int, int] = defaultdict(int)
    for counts in (_counts(pairings), _counts(pending)):
        for mentor_id, c in counts.items():
            load[mentor_id] += c
    return load


def run_holds(
    run: AutoPairRun, mentor_ids: Iterable[int] | None, *, except_mentee=None
) -> dict[int, int]:
    """{mentor id: proposals of this run naming them} (paired since or not; None: every mentor)."""
    proposals = (
        run.proposals.all()
        if mentor_ids is None
        else run.proposals.filter(mentor_id__in=mentor_ids)
    )
    if except_mentee is not None:
        proposals = proposals.exclude(mentee=except_mentee)
    return _counts(proposals)


def seats_free(run: AutoPairRun, mentor_ids: Sequence[int]) -> dict[int, int]:
    """Free seats of mentors, counting this run's proposals as held."""
    mentors = dict(
        Participant.objects.filter(pk__in=mentor_ids, program=run.program_id).values_list(
            "pk", "capacity"
        )
    )
    load = mentor_load(run.program, list(mentors))
    held = _counts(AutoPairProposal.objects.filter(run=run, mentor_id__in=mentors))
    return {pk: cap - load.get(pk, 0) - held.get(pk, 0) for pk, cap in mentors.items()}


def offerable_seats(program: Program, mentor_ids: Iterable[int] | None = None) -> dict[int, int]:
    """{mentor id: seats that can be offered now} for mentors with at least one (one query).

    Capacity minus active pairings, pending requests and seats a staged
    auto-pair run holds; only mentors who accept requests.
    """
    mentors = Participant.objects.mentors().filter(program=program, accepting_requests=True)
    if mentor_ids is not None:
        mentors = mentors.filter(pk__in=list(mentor_ids))
    rows = (
        with_seats_used(mentors, program)
        .filter(capacity__gt=F("used"))
        .order_by()
        .values_list("pk", "capacity", "used")
    )
    return {pk: capacity - used for pk, capacity, used in rows}
