"""Reading a program from the database into a Problem."""

from collections import defaultdict
from collections.abc import Sequence

from django.db.models import Count, Exists, OuterRef

from pairing.autopair.options import PERSON_FIELDS, Options
from pairing.autopair.problem import Problem, build_problem
from pairing.models import (
    MentorPreference,
    MentorRequest,
    Pairing,
)
from programs.match_weights import weights_of
from programs.models import Participant, Program

# --- Reading the program ------------------------------------------------------------------


def _counts(qs, key: str) -> dict[int, int]:
    return dict(qs.order_by().values(key).annotate(c=Count("id")).values_list(key, "c"))


def unpaired_mentees_qs(program: Program):
    """Mentees with no active pairing and no pending request."""
    return (
        Participant.objects.filter(program=program, role=Participant.Role.MENTEE)
        .exclude(
            Exists(Pairing.objects.filter(mentee=OuterRef("pk"), status=Pairing.Status.ACTIVE))
        )
        .exclude(
            Exists(
                MentorRequest.objects.filter(
                    mentee=OuterRef("pk"), status=MentorRequest.Status.PENDING
                )
            )
        )
    )


def mentor_load(program: Program, mentor_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Seats taken per mentor: active pairings + pending requests."""
    pairings = Pairing.objects.filter(program=program, status=Pairing.Status.ACTIVE)
    pending = MentorRequest.objects.filter(program=program, status=MentorRequest.Status.PENDING)
    if mentor_ids is not None:
        pairings = pairings.filter(mentor_id__in=mentor_ids)
        pending = pending.filter(mentor_id__in=mentor_ids)
    load: dict[int, int] = defaultdict(int)
    for counts in (_counts(pairings, "mentor_id"), _counts(pending, "mentor_id")):
        for mentor_id, c in counts.items():
            load[mentor_id] += c
    return load


def problem_for(program: Program, options: Options) -> Problem:
    """Read the program and build its candidate graph."""
    mentees = list(unpaired_mentees_qs(program).order_by("pk").values(*PERSON_FIELDS))
    mentor_rows = list(
        Participant.objects.filter(program=program, role=Participant.Role.MENTOR)
        .order_by("pk")
        .values(*PERSON_FIELDS, "capacity", "accepting_requests")
    )
    load = mentor_load(program)
    available, free, unavailable = [], [], []
    for row in mentor_rows:
        seats = row["capacity"] - load.get(row["id"], 0)
        if seats > 0 and (row["accepting_requests"] or options.include_not_accepting):
            available.append(row)
            free.append(seats)
        else:
            unavailable.append(row)
    do_not_pair = Pairing.objects.filter(program=program, do_not_pair_again=True).values_list(
        "mentee_id", "mentor_id"
    )
    preferences = {
        (mentee_id, mentor_id): rank
        for mentee_id, mentor_id, rank in MentorPreference.objects.filter(
            program=program
        ).values_list("mentee_id", "mentor_id", "rank")
    }
    return build_problem(
        mentees,
        available,
        free,
        weights_of(program),
        options,
        unavailable=unavailable,
        do_not_pair=list(do_not_pair),
        preferences=preferences,
        max_rank=max(program.max_preferences, 1),
    )
