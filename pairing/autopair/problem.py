"""The candidate graph of one run, in memory: who may be paired with whom, at what weight."""

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from pairing import matching
from pairing.autopair.options import (
    _DIAGNOSE_CELLS,
    ALL_PAIRS_LIMIT,
    CANDIDATES,
    SCALE,
    Options,
    Reason,
)
from programs.match_weights import Scheme

# --- The problem, in memory ------------------------------------------------------------


@dataclass
class Problem:
    """Mentees x mentors as arrays: the candidate graph and everything to explain it.

    Edge e joins mentee `edge_mentee[e]` and mentor `edge_mentor[e]` (indexes
    into `mentees` / `mentors`), with its match score, preference bonus and
    preference rank (0 = not a preference).
    """

    mentees: list[dict]
    mentors: list[dict]
    free: np.ndarray  # int64 seats per mentor
    edge_mentee: np.ndarray
    edge_mentor: np.ndarray
    edge_score: np.ndarray  # float64, the match score
    edge_bonus: np.ndarray  # float64
    edge_rank: np.ndarray  # int16
    all_pairs: bool
    k: int
    candidates: matching.Candidates = field(repr=False)
    # Mentees without a single edge, with why (Reason values).
    no_edge_reason: dict[int, str] = field(default_factory=dict)
    preference_bonus: float = 0
    max_rank: int = 3
    _weights: tuple[np.ndarray, Fraction] | None = field(default=None, repr=False)

    def weights(self) -> np.ndarray:
        """Integer weight of every edge: (score + bonus) * weight_scale, exactly when possible."""
        if self._weights is None:
            self._weights = _exact_weights(self) or (
                np.rint((self.edge_score + self.edge_bonus) * SCALE).astype(np.int64),
                Fraction(SCALE),
            )
        return self._weights[0]

    @property
    def weight_scale(self) -> Fraction:
        """Solver weight units per point of score + bonus."""
        self.weights()
        return self._weights[1]

    def reasons(self, i: int, j: int) -> list[str]:
        return self.candidates.reasons(i, j)


# Costs the solver sees stay below this: the quality objective may multiply a
# weight by up to (mentees + 1) and the solver scales costs by its node count.
_COST_LIMIT = 2**62


def _exact_weights(problem: Problem) -> tuple[np.ndarray, Fraction] | None:
    """Weights in the smallest unit the scores and bonuses actually have, or None.

    Mentee i's scores are whole multiples of 100 / T_i points (T_i = the sum
    of the scoring weights times the least common multiple of the mentee's
    denominators, pairing.matching), and a bonus is a multiple of
    preference_bonus / max_rank. In units of 1 / (T * max_rank) points, with
    T the least common multiple of the T_i, every weight is a whole number:
    the solver optimises the score as defined, with no rounding. None (round
    to 1/SCALE of a point instead) when the scores are not in that form or
    the unit would make the costs too large.
    """
    unit = problem.candidates.unit
    bonus = problem.preference_bonus
    rank_count = int(problem.max_rank)
    if unit is None or bonus != int(bonus) or not len(problem.edge_mentee):
        return None
    edge_unit = unit[problem.edge_mentee]
    numerator = np.rint(problem.edge_score / edge_unit)
    if np.abs(problem.edge_score / edge_unit - numerator).max() > 0.05:
        return None
    per_mentee = np.rint(100.0 / edge_unit).astype(np.int64)  # T_i
    common = math.lcm(*np.unique(per_mentee).tolist())  # T
    top = (100 + int(bonus)) * common * rank_count
    if top * (len(problem.mentees) + 2) * (len(problem.mentees) + len(problem.mentors) + 3) > (
        _COST_LIMIT
    ):
        return None
    rank = problem.edge_rank.astype(np.int64)
    bonus_steps = np.where(rank > 0, rank_count + 1 - rank, 0)
    weight = numerator.astype(np.int64) * (common // per_mentee) * (100 * rank_count)
    weight += int(bonus) * bonus_steps * common
    divisor = int(np.gcd.reduce(weight)) or 1
    return weight // divisor, Fraction(common * rank_count, divisor)


def _lower(value: object) -> str:
    return str(value or "").strip().lower()


def _rule_exclusions(
    mentees: Sequence[Mapping],
    mentors: Sequence[Mapping],
    *,
    do_not_pair: Iterable[tuple[int, int]],
    avoid_shared_manager: bool,
) -> list[tuple[int, int]]:
    """(mentee index, mentor index) pairs the rules forbid."""
    mentee_at = {p["id"]: i for i, p in enumerate(mentees)}
    mentor_at = {p["id"]: j for j, p in enumerate(mentors)}
    out = []
    for mentee_id, mentor_id in do_not_pair:
        i, j = mentee_at.get(mentee_id), mentor_at.get(mentor_id)
        if i is not None and j is not None:
            out.append((i, j))
    by_email: dict[str, list[int]] = defaultdict(list)
    by_manager: dict[str, list[int]] = defaultdict(list)
    for j, mentor in enumerate(mentors):
        by_email[_lower(mentor.get("email"))].append(j)
        if avoid_shared_manager and _lower(mentor.get("manager_email")):
            by_manager[_lower(mentor.get("manager_email"))].append(j)
    for i, mentee in enumerate(mentees):
        manager = _lower(mentee.get("manager_email"))
        if not manager:
            continue
        # Never the mentee's own manager.
        out.extend((i, j) for j in by_email.get(manager, ()))
        if avoid_shared_manager:
            out.extend((i, j) for j in by_manager.get(manager, ()))
    return out


def _differs(options: Options) -> list[str]:
    return ["department"] if options.different_department else []


def _any_eligible(
    mentees: Sequence[Mapping], mentors: Sequence[Mapping], scheme: Scheme
) -> np.ndarray:
    """For each mentee: does any of these mentors pass the must-match fields?"""
    if not mentors:
        return np.zeros(len(mentees), dtype=bool)
    if not scheme.has_must_match:
        return np.ones(len(mentees), dtype=bool)
    out = np.zeros(len(mentees), dtype=bool)
    step = max(1, _DIAGNOSE_CELLS // len(mentors))
    for start in range(0, len(mentees), step):
        block = matching.score_matrix(mentees[start : start + step], mentors, scheme)
        out[start : start + step] = block.eligible.any(axis=1)
    return out


def build_problem(
    mentees: Sequence[Mapping],
    mentors: Sequence[Mapping],
    free: Sequence[int],
    scheme: Scheme,
    options: Options,
    *,
    unavailable: Sequence[Mapping] = (),
    do_not_pair: Iterable[tuple[int, int]] = (),
    preferences: Mapping[tuple[int, int], int] | None = None,
    max_rank: int = 3,
) -> Problem:
    """The candidate graph for these mentees and the mentors with free seats.

    `free[j]` is mentor j's number of free seats (> 0). `unavailable` are the
    program's other mentors (full, or not accepting): they are never
    candidates, only used to say why a mentee has none. `do_not_pair` are
    (mentee id, mentor id) pairs the run leaves out ("do not pair again", and
    pairs who were paired before unless the run allows them): a mentee whose
    every passing mentor is among them is diagnosed RULE_EXCLUDED.
    `preferences` maps (mentee id, mentor id) to the mentee's rank for that mentor.
    """
    mentees, mentors, free = _by_id(mentees, mentors, free)
    n, m = len(mentees), len(mentors)
    preferences = dict(sorted((preferences or {}).items()))
    exclude = _rule_exclusions(
        mentees, mentors, do_not_pair=do_not_pair, avoid_shared_manager=options.avoid_shared_manager
    )
    k = options.candidates_per_mentee or (m if n * m <= ALL_PAIRS_LIMIT else CANDIDATES)
    k = min(k, m)
    cands = matching.top_candidates(
        mentees, mentors, scheme, k=k, exclude=exclude, differ_on=_differs(options)
    )
    edge_mentee = cands.mentee.astype(np.int64)
    edge_mentor = cands.mentor.astype(np.int64)
    edge_score = cands.score.astype(np.float64)

    # Preferences outside a mentee's top k still belong in the graph.
    mentee_at = {p["id"]: i for i, p in enumerate(mentees)}
    mentor_at = {p["id"]: j for j, p in enumerate(mentors)}
    pref_key, pref_rank = [], []
    for (mentee_id, mentor_id), rank in preferences.items():
        i, j = mentee_at.get(mentee_id), mentor_at.get(mentor_id)
        if i is not None and j is not None:
            pref_key.append(i * m + j)
            pref_rank.append(rank)
    pref_key = np.asarray(pref_key, dtype=np.int64)
    pref_rank = np.asarray(pref_rank, dtype=np.int64)
    if len(pref_key) and k < m:
        have = np.isin(pref_key, edge_mentee * m + edge_mentor)
        missing = pref_key[~have]
        extra = _score_pairs(mentees, mentors, scheme, missing // m, missing % m, exclude, options)
        if extra is not None:
            # Each after its mentee's own candidates: the edges stay grouped by mentee.
            at = np.searchsorted(edge_mentee, extra[0], side="right")
            edge_mentee, edge_mentor, edge_score = (
                np.insert(values, at, more)
                for values, more in zip((edge_mentee, edge_mentor, edge_score), extra, strict=True)
            )

    edge_rank = np.zeros(len(edge_mentee), dtype=np.int16)
    edge_bonus = np.zeros(len(edge_mentee), dtype=np.float64)
    if len(pref_key) and len(edge_mentee):
        order = np.argsort(pref_key)
        sorted_keys, sorted_rank = pref_key[order], pref_rank[order]
        keys = edge_mentee * m + edge_mentor
        pos = np.clip(np.searchsorted(sorted_keys, keys), 0, len(sorted_keys) - 1)
        hit = sorted_keys[pos] == keys
        rank = np.where(hit, np.clip(sorted_rank[pos], 1, max_rank), 0)
        edge_rank = rank.astype(np.int16)
        # A first choice earns the full bonus, the last of max_rank choices 1/max_rank of it.
        edge_bonus = np.where(
            hit, options.preference_bonus * (max_rank + 1 - rank) / max_rank, 0.0
        ).astype(np.float64)

    problem = Problem(
        mentees=mentees,
        mentors=mentors,
        free=free,
        edge_mentee=edge_mentee,
        edge_mentor=edge_mentor,
        edge_score=edge_score,
        edge_bonus=edge_bonus,
        edge_rank=edge_rank,
        all_pairs=k >= m,
        k=k,
        candidates=cands,
        preference_bonus=options.preference_bonus,
        max_rank=max_rank,
    )
    problem.no_edge_reason = _diagnose(problem, scheme, unavailable)
    # The solver's integer weights are part of the graph: worked out here, once
    # for both objectives, not inside the solve (0.3 s at 2.5 million pairs).
    problem.weights()
    return problem


def have_candidates(
    problem: Problem,
    rows: Sequence[int],
    scheme: Scheme,
    options: Options,
    *,
    do_not_pair: Iterable[tuple[int, int]],
) -> np.ndarray:
    """For these mentees (indexes into problem.mentees): would a mentor with a free seat
    pass the must-match fields and every rule if only `do_not_pair` were left out?

    The review asks it of the mentees a rule left without a candidate, to say
    which of them only the "paired before" rule held back.
    """
    out = np.zeros(len(rows), dtype=bool)
    if not len(rows) or not problem.mentors:
        return out
    people = [problem.mentees[i] for i in rows]
    exclude = _rule_exclusions(
        people,
        problem.mentors,
        do_not_pair=do_not_pair,
        avoid_shared_manager=options.avoid_shared_manager,
    )
    found = matching.top_candidates(
        people, problem.mentors, scheme, k=1, exclude=exclude, differ_on=_differs(options)
    )
    out[found.mentee] = True
    return out


def _by_id(
    mentees: Sequence[Mapping], mentors: Sequence[Mapping], free: Sequence[int]
) -> tuple[list, list, np.ndarray]:
    """Mentees, and mentors with their free seats, in id order.

    The graph, and so the solver's choice among equally good assignments,
    then depends on who takes part, not on the order the rows came in.
    """
    order = sorted(range(len(mentors)), key=lambda j: mentors[j]["id"])
    seats = np.asarray(free, dtype=np.int64).reshape(len(mentors))[order]
    return sorted(mentees, key=lambda p: p["id"]), [mentors[j] for j in order], seats


def _score_pairs(mentees, mentors, scheme, rows, cols, exclude, options):
    """Scores of chosen (mentee, mentor) index pairs that pass every rule, or None."""
    if not len(rows):
        return None
    forbidden = {(int(i), int(j)) for i, j in exclude}
    dept = "department" in _differs(options)
    keep_i, keep_j, keep_s = [], [], []
    by_mentee: dict[int, list[int]] = defaultdict(list)
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        if (i, j) in forbidden:
            continue
        if dept:
            a, b = (
                matching.normalise(mentees[i].get("department") or ""),
                matching.normalise(mentors[j].get("department") or ""),
            )
            if a and a == b:
                continue
        by_mentee[i].append(j)
    mentee_list = sorted(by_mentee)
    step = 500
    for start in range(0, len(mentee_list), step):
        chunk = mentee_list[start : start + step]
        mentor_list = sorted({j for i in chunk for j in by_mentee[i]})
        col_of = {j: c for c, j in enumerate(mentor_list)}
        block = matching.score_matrix(
            [mentees[i] for i in chunk], [mentors[j] for j in mentor_list], scheme
        )
        for r, i in enumerate(chunk):
            for j in by_mentee[i]:
                if block.eligible[r, col_of[j]]:
                    keep_i.append(i)
                    keep_j.append(j)
                    keep_s.append(float(block.scores[r, col_of[j]]))
    if not keep_i:
        return None
    return (
        np.asarray(keep_i, dtype=np.int64),
        np.asarray(keep_j, dtype=np.int64),
        np.asarray(keep_s, dtype=np.float64),
    )


def _diagnose(problem: Problem, scheme, unavailable) -> dict[int, str]:
    """Why each mentee without a single candidate has none."""
    has_edge = np.zeros(len(problem.mentees), dtype=bool)
    has_edge[problem.edge_mentee] = True
    lonely = np.flatnonzero(~has_edge).tolist()
    if not lonely:
        return {}
    people = [problem.mentees[i] for i in lonely]
    # A must-match pass among mentors with seats means only the rules stood in the way.
    ruled_out = _any_eligible(people, problem.mentors, scheme)
    full = _any_eligible(people, list(unavailable), scheme)
    out = {}
    for n, i in enumerate(lonely):
        if ruled_out[n]:
            out[i] = Reason.RULE_EXCLUDED
        elif full[n]:
            out[i] = Reason.ALL_FULL
        else:
            out[i] = Reason.NO_CANDIDATE
    return out
