"""Reads for mentor requests: the preference form's mentors, a mentee's state, the admin list."""

from dataclasses import dataclass

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from pairing.matching import Match, rank_mentors_for
from pairing.models import AutoPairProposal, AutoPairRun, MentorRequest, Pairing
from programs.match_weights import weights_of
from programs.models import Participant, Program

MENTOR_FIELDS = (
    "id",
    "program_id",
    "first_name",
    "last_name",
    "title",
    "department",
    "location",
    "skills",
    "interests",
    "goals",
    "bio",
    "capacity",
)


def _count_per_mentor(rows: QuerySet):
    return Coalesce(
        Subquery(
            rows.filter(mentor=OuterRef("pk"))
            .order_by()
            .values("mentor")
            .annotate(n=Count("pk"))
            .values("n"),
            output_field=IntegerField(),
        ),
        Value(0),
    )


def _active_count():
    return _count_per_mentor(Pairing.objects.filter(status=Pairing.Status.ACTIVE))


def _held_count(program: Program):
    """Seats the program's staged auto-pair run holds (pairing.services.held_seats_of).

    Without a staged run (nearly always) the per-mentor count is never
    evaluated: the database answers the uncorrelated EXISTS once.
    """
    staged = AutoPairRun.objects.filter(program=program, status=AutoPairRun.Status.STAGED)
    held = _count_per_mentor(
        AutoPairProposal.objects.filter(run__in=staged.values("pk")).exclude(
            mentee__pairings_as_mentee__status=Pairing.Status.ACTIVE
        )
    )
    return Case(When(Exists(staged), then=held), default=Value(0))


def mentors_with_room(
    program: Program, *, include_unavailable: bool = False
) -> QuerySet[Participant]:
    """Mentors who accept requests and have room now (one query).

    Room: capacity minus active pairings and the seats a staged auto-pair run
    holds. include_unavailable: also those who said "I'm unavailable for now"
    (an admin pairing by hand may still choose them).
    """
    qs = Participant.objects.filter(program=program, role=Participant.Role.MENTOR)
    if not include_unavailable:
        qs = qs.filter(accepting_requests=True)
    return (
        qs.annotate(active=_active_count(), held=_held_count(program))
        .filter(capacity__gt=F("active") + F("held"))
        .only(*MENTOR_FIELDS)
    )


def mentor_options(mentee: Participant, program: Program) -> list[Match]:
    """The mentors this mentee may choose, best match first, with reasons.

    Mentors are plain dicts (`pk`, `full_name` and MENTOR_FIELDS), not model
    instances: building thousands of instances costs more than scoring them.
    """
    mentors = list(mentors_with_room(program).values(*MENTOR_FIELDS))
    for mentor in mentors:
        mentor["pk"] = mentor["id"]
        mentor["full_name"] = f"{mentor['first_name']} {mentor['last_name']}".strip()
    return rank_mentors_for(mentee, mentors, weights_of(program))


@dataclass(frozen=True)
class MenteeState:
    pairing: Pairing | None
    pending: MentorRequest | None
    last_ended: MentorRequest | None


def mentee_state(mentee: Participant) -> MenteeState:
    """What the mentee's link should show first (three small queries)."""
    pairing = (
        Pairing.objects.filter(mentee=mentee, status=Pairing.Status.ACTIVE)
        .select_related("mentor")
        .first()
    )
    requests = list(
        MentorRequest.objects.filter(mentee=mentee).select_related("mentor").order_by("-pk")[:1]
    )
    latest = requests[0] if requests else None
    pending = latest if latest and latest.status == MentorRequest.Status.PENDING else None
    ended = latest if latest and latest.status != MentorRequest.Status.PENDING else None
    return MenteeState(pairing=pairing, pending=pending, last_ended=ended)


def request_list(program: Program, *, status: str = "", query: str = "") -> QuerySet[MentorRequest]:
    """The admin's requests list: newest first, people and decider joined (one query)."""
    qs = MentorRequest.objects.filter(program=program).select_related(
        "mentee", "mentor", "decided_by"
    )
    if status in MentorRequest.Status.values:
        qs = qs.filter(status=status)
    if query:
        qs = qs.filter(
            Q(mentee__first_name__icontains=query)
            | Q(mentee__last_name__icontains=query)
            | Q(mentee__email__icontains=query)
            | Q(mentor__first_name__icontains=query)
            | Q(mentor__last_name__icontains=query)
            | Q(mentor__email__icontains=query)
        )
    return qs.order_by("-created_at", "-pk")


def request_counts(program: Program) -> dict[str, int]:
    rows = (
        MentorRequest.objects.filter(program=program)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    counts = dict.fromkeys(MentorRequest.Status.values, 0)
    counts.update(dict(rows))
    return counts


def unpaired_mentees(program: Program) -> QuerySet[Participant]:
    return (
        Participant.objects.filter(program=program, role=Participant.Role.MENTEE)
        .exclude(pairings_as_mentee__status=Pairing.Status.ACTIVE)
        .only("id", "first_name", "last_name", "email")
        .order_by("first_name", "last_name", "pk")
    )
