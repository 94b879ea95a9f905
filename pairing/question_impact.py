"""What a change to a program's questions would do to the mentors suggested now, before
it is made: the questions editor's preview (programs.hooks.register_candidate_impact).

Programs cannot read pairing (the layers), so it asks here. The unpaired mentees and
the mentors with a seat to offer are scored twice with pairing.matching.top_candidates
(k=1): under the rules and answers as they are, and as the change would leave them
(its scheme and answers, built in memory). Nothing is written.
"""

from pairing.matching import top_candidates
from pairing.seats import offerable_seats
from pairing.unpaired import unpaired_mentees
from programs.hooks import CandidateImpact
from programs.match_weights import scheme_of
from programs.models import Participant, Program
from programs.questions import attach_answers

Role = Participant.Role
# What scoring reads of a person besides their answers: the record's profile fields.
FIELDS = ("id", "department", "location")


def _rows(qs) -> list[dict]:
    rows = [dict(zip(FIELDS, row, strict=True)) for row in qs.order_by("pk").values_list(*FIELDS)]
    attach_answers(rows)
    return rows


def _after(change, role: str, rows: list[dict]) -> list[dict]:
    return [{**row, "answers": change.answers_after(role, row["answers"])} for row in rows]


def _best(candidates, i: int) -> int | None:
    """Mentee i's best candidate (a mentor index), or None without any."""
    start, stop = candidates.offsets[i], candidates.offsets[i + 1]
    return int(candidates.mentor[start]) if stop > start else None


def candidate_impact(*, program: Program, change) -> CandidateImpact:
    """How many unpaired mentees would lose every candidate mentor, find one, or get a
    different best match, were the change made."""
    mentees = _rows(unpaired_mentees(program))
    room = offerable_seats(program)
    mentors = _rows(Participant.objects.filter(program=program, pk__in=list(room)))
    before = top_candidates(mentees, mentors, scheme_of(program), k=1)
    after = top_candidates(
        _after(change, Role.MENTEE, mentees),
        _after(change, Role.MENTOR, mentors),
        change.scheme,
        k=1,
    )
    lose_all = gain = best_changed = 0
    for i in range(len(mentees)):
        was, will = _best(before, i), _best(after, i)
        if was is not None and will is None:
            lose_all += 1
        elif was is None and will is not None:
            gain += 1
        elif was != will:
            best_changed += 1
    return CandidateImpact(
        mentees=len(mentees),
        mentors=len(mentors),
        lose_all=lose_all,
        gain=gain,
        best_changed=best_changed,
    )
