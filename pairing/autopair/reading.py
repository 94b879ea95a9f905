"""Reading a program from the database into a Problem."""

from collections.abc import Mapping

from django.db.models import Exists, OuterRef

from pairing.autopair.options import PERSON_FIELDS, Options, Reason
from pairing.autopair.problem import Problem, build_problem, have_candidates
from pairing.models import (
    MentorPreference,
    WaitlistEntry,
)
from pairing.request_selectors import (
    declined_pairs,
    do_not_pair_again_pairs,
    paired_before_pairs,
)
from pairing.seats import mentor_load
from pairing.unpaired import unpaired_mentees
from programs.match_weights import scheme_of
from programs.models import Participant, Program
from programs.questions import attach_answers, program_answers

# --- Reading the program ------------------------------------------------------------------


def unpaired_mentees_qs(program: Program):
    """Mentees with no active pairing and no pending request."""
    return unpaired_mentees(program, waiting=False)


def person_rows(qs, *extra: str, answers: Mapping[int, dict] | None = None) -> list[dict]:
    """PERSON_FIELDS (and `extra`) of every row, as dicts with their "answers".

    `answers`: the program's answers read at once (programs.questions.program_answers),
    cheaper than one read per queryset at 50,000 people.
    """
    names = [*PERSON_FIELDS, *extra]
    rows = [dict(zip(names, row, strict=True)) for row in qs.order_by("pk").values_list(*names)]
    attach_answers(rows, answers)
    return rows


def run_mentees_qs(program: Program, options: Options):
    """The mentees a run considers: the unpaired ones, or only those on the waitlist."""
    qs = unpaired_mentees_qs(program)
    if options.waitlist_only:
        qs = qs.filter(Exists(WaitlistEntry.objects.filter(mentee=OuterRef("pk"))))
    return qs


def excluded_pairs(program: Program, options: Options) -> set[tuple[int, int]]:
    """(mentee id, mentor id) pairs the run leaves out whatever their score: "do not
    pair again", a mentor who declined the mentee, and (unless the run allows them)
    pairs who were paired before."""
    excluded = _always_excluded(program)
    if not options.allow_paired_before:
        excluded |= paired_before_pairs(program)
    return excluded


def _always_excluded(program: Program) -> set[tuple[int, int]]:
    return do_not_pair_again_pairs(program) | declined_pairs(program)


def held_back_by_paired_before(
    program: Program, options: Options, problem: Problem, reasons: Mapping[int, str]
) -> int:
    """How many mentees a rule left without a candidate would have one if the run
    allowed pairs who were paired before (0 when it does)."""
    if options.allow_paired_before:
        return 0
    rows = [i for i, reason in reasons.items() if reason == Reason.RULE_EXCLUDED]
    if not rows:
        return 0
    found = have_candidates(
        problem, rows, scheme_of(program), options, do_not_pair=list(_always_excluded(program))
    )
    return int(found.sum())


def problem_for(program: Program, options: Options) -> Problem:
    """Read the program and build its candidate graph."""
    mentees = person_rows(
        run_mentees_qs(program, options),
        answers=program_answers(program, role=Participant.Role.MENTEE),
    )
    mentor_rows = person_rows(
        Participant.objects.mentors().filter(program=program),
        "capacity",
        "accepting_requests",
        answers=program_answers(program, role=Participant.Role.MENTOR),
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
        scheme_of(program),
        options,
        unavailable=unavailable,
        do_not_pair=list(excluded_pairs(program, options)),
        preferences=preferences,
        max_rank=max(program.max_preferences, 1),
    )
