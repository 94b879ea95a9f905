"""What a change of match rules would do to the current candidates, before it is saved.

The Match weights page (programs) asks through programs.hooks.candidates_preview:
among the unpaired mentees (no active pairing, no pending request, as auto-pair
reads them) against the mentors with room now, each mentee's best mentor is
worked out under the saved rules and under the edited ones, and the page says
how many would get a different best mentor, lose every candidate (a must-match
rule no mentor with room meets) or gain one. Only the score decides here: "do
not pair again" and the other per-pair rules are the same before and after.
Nothing is written.
"""

from collections.abc import Callable

import numpy as np

from pairing.autopair.options import PERSON_FIELDS
from pairing.autopair.reading import unpaired_mentees_qs
from pairing.matching import Candidates, top_candidates
from pairing.request_selectors import mentors_with_room
from programs.match_weights import CandidatesChange, Scheme
from programs.models import Participant, Program
from programs.questions import attach_answers

# The preview scores at most this many mentees, and at most about PREVIEW_CELLS
# pairs a pass (fewer mentees when many mentors have room): two passes over 10
# million pairs take a few seconds on a busy 2-core machine. Past the limit the
# page says the figures cover the first mentees only.
PREVIEW_MENTEES = 5_000
PREVIEW_CELLS = 10_000_000
Role = Participant.Role


def _rows(qs, limit: int | None = None) -> list[dict]:
    """PERSON_FIELDS of the first `limit` rows by id, each with its "answers" (two queries)."""
    qs = qs.order_by("pk").values_list(*PERSON_FIELDS)
    if limit is not None:
        qs = qs[:limit]
    rows = [dict(zip(PERSON_FIELDS, row, strict=True)) for row in qs]
    attach_answers(rows)
    return rows


def _best(found: Candidates, n: int) -> np.ndarray:
    """Each mentee's best mentor (an index), -1 for none; k=1 gives each mentee with a
    candidate exactly one entry, in mentee order."""
    best = np.full(n, -1, dtype=np.int64)
    best[np.diff(found.offsets) > 0] = found.mentor
    return best


def candidates_change(
    *,
    program: Program,
    before: Scheme,
    after: Scheme,
    limit: int | None = None,
    answers_after: Callable[[str, dict], dict] | None = None,
) -> CandidatesChange:
    """Compare every unpaired mentee's best mentor under `before` and `after` (ties go to
    the mentor who joined first, as in auto-pair); the first `limit` mentees by id
    (unless given: PREVIEW_MENTEES, fewer when PREVIEW_CELLS says so).
    `answers_after(role, answers)`: each person's answers after the change, when it
    changes answers too (removing an option, asking fewer people)."""
    mentors = _rows(mentors_with_room(program))
    if limit is None:
        limit = max(1, min(PREVIEW_MENTEES, PREVIEW_CELLS // max(len(mentors), 1)))
    mentees = _rows(unpaired_mentees_qs(program), limit + 1)
    capped = len(mentees) > limit
    del mentees[limit:]
    was = _best(top_candidates(mentees, mentors, before, k=1), len(mentees))
    if answers_after is not None:
        mentees = [{**r, "answers": answers_after(Role.MENTEE, r["answers"])} for r in mentees]
        mentors = [{**r, "answers": answers_after(Role.MENTOR, r["answers"])} for r in mentors]
    now = _best(top_candidates(mentees, mentors, after, k=1), len(mentees))
    had, has = was >= 0, now >= 0
    return CandidatesChange(
        mentees=len(mentees),
        mentors=len(mentors),
        different=int(np.count_nonzero(had & has & (was != now))),
        lost=int(np.count_nonzero(had & ~has)),
        gained=int(np.count_nonzero(~had & has)),
        capped=capped,
        limit=limit,
    )
