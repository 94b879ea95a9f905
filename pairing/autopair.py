"""Auto-pair: an optimal assignment of unpaired mentees to mentors, staged for review.

The problem is a bipartite b-matching, solved exactly as a min-cost flow
(OR-tools' SimpleMinCostFlow):

    source -> each mentee (capacity 1)
    mentee -> mentor      (capacity 1, cost = -weight of the pair)
    mentor -> sink        (capacity = the mentor's free seats)

The weight of a pair is its match score (pairing.matching, 0-100) plus a
bonus when the mentee ranked that mentor in their submitted preferences
(`preference_bonus` points for a first choice, less for later ranks), scaled
to integers (SCALE) so the solver is exact. Two objectives:

- "Pair as many mentees as possible": a maximum flow of minimum cost, i.e.
  the most pairs, and among all assignments with that many pairs the highest
  total weight (`solve_max_flow_with_min_cost`).
- "Highest match quality": the highest total weight; a mentee may stay
  unpaired (an arc source -> sink costs nothing), so only pairs that add
  score are made. Among equally good assignments the one with more pairs
  wins (every pair's cost is -(weight * (n + 1) + 1), and n + 1 one-point
  tie-breakers can never outweigh a single weight point).

The candidate graph. Small programs (mentees x mentors <= ALL_PAIRS_LIMIT)
use every eligible pair, so the result is optimal over all assignments.
Larger ones use each mentee's CANDIDATES best mentors (pairing.matching.
top_candidates, scored in bulk) plus every pair the mentee listed in their
preferences; the result is then optimal over that candidate graph (a mentee
whose 50 best mentors are all taken by better-placed mentees may stay
unpaired although some lower-ranked mentor has a seat). The run records which.

Rules (a pair that breaks one is not in the graph at all): mentor capacity
minus active pairings and pending requests; pairs ended with "Do not pair
again"; never the mentee's own manager (mentor's email = mentee's manager
email); optionally not someone with the same manager; optionally not the same
department; must-match fields from the program's match weights. Mentors who
stopped accepting requests are left out unless the run says otherwise.

A program has one open run at a time (the database holds it): staged
proposals hold their mentors' seats, and a second run would promise the same
seats twice, so a new run is refused until the staged one is confirmed or
discarded. Nothing here sends a request or decision email; confirming writes
the Mentorship Assignments emails to the outbox, one per person.
"""

import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone
from ortools.graph.python import min_cost_flow

from invitations.links import Purpose, link_create, link_url
from invitations.models import EmailKind
from invitations.outbox import Draft, outbox_add
from pairing import matching
from pairing.models import (
    AutoPairProposal,
    AutoPairRun,
    AutoPairUnpaired,
    MentorPreference,
    MentorRequest,
    Pairing,
)
from programs.match_weights import MUST_MATCH, weights_of
from programs.models import ActivityEvent, Participant, Program
from programs.services import DomainError, activity_record

log = logging.getLogger(__name__)

Objective = AutoPairRun.Objective
RunStatus = AutoPairRun.Status
Reason = AutoPairUnpaired.Reason
Verb = ActivityEvent.Verb

SCALE = 1000  # score points -> integer solver units (0.001 of a point)
ALL_PAIRS_LIMIT = 4_000_000  # up to this many mentee x mentor pairs, the graph holds every pair
CANDIDATES = 50  # per mentee above that size
MAX_PREFERENCE_BONUS = 50
SESSION_LINK_VALID_FOR_DAYS = 400
_DIAGNOSE_CELLS = 4_000_000

PERSON_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "department",
    "location",
    "skills",
    "interests",
    "goals",
    "manager_email",
)


@dataclass(frozen=True)
class Options:
    """What the admin chose for one run (stored in AutoPairRun.options)."""

    objective: str = Objective.MOST_PAIRS
    include_not_accepting: bool = False
    avoid_shared_manager: bool = False
    different_department: bool = False
    preference_bonus: int = 10
    # None: every pair for small programs, CANDIDATES per mentee for large ones.
    candidates_per_mentee: int | None = None

    def __post_init__(self) -> None:
        if self.objective not in Objective.values:
            raise DomainError("Choose what auto-pair should aim for.")
        if not 0 <= int(self.preference_bonus) <= MAX_PREFERENCE_BONUS:
            raise DomainError(
                f"The bonus for a mentee's own choice must be 0 to {MAX_PREFERENCE_BONUS} points."
            )

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping | None) -> "Options":
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


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

    def weights(self) -> np.ndarray:
        """Integer weight of every edge: (score + bonus) in thousandths of a point."""
        return np.rint((self.edge_score + self.edge_bonus) * SCALE).astype(np.int64)

    def reasons(self, i: int, j: int) -> list[str]:
        return self.candidates.reasons(i, j)


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
    mentees: Sequence[Mapping], mentors: Sequence[Mapping], weights: Mapping[str, int]
) -> np.ndarray:
    """For each mentee: does any of these mentors pass the must-match fields?"""
    if not mentors:
        return np.zeros(len(mentees), dtype=bool)
    if MUST_MATCH not in weights.values():
        return np.ones(len(mentees), dtype=bool)
    out = np.zeros(len(mentees), dtype=bool)
    step = max(1, _DIAGNOSE_CELLS // len(mentors))
    for start in range(0, len(mentees), step):
        block = matching.score_matrix(mentees[start : start + step], mentors, weights)
        out[start : start + step] = block.eligible.any(axis=1)
    return out


def build_problem(
    mentees: Sequence[Mapping],
    mentors: Sequence[Mapping],
    free: Sequence[int],
    weights: Mapping[str, int],
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
    candidates, only used to say why a mentee has none. `preferences` maps
    (mentee id, mentor id) to the mentee's rank for that mentor.
    """
    mentees, mentors = list(mentees), list(mentors)
    n, m = len(mentees), len(mentors)
    preferences = preferences or {}
    exclude = _rule_exclusions(
        mentees, mentors, do_not_pair=do_not_pair, avoid_shared_manager=options.avoid_shared_manager
    )
    k = options.candidates_per_mentee or (m if n * m <= ALL_PAIRS_LIMIT else CANDIDATES)
    k = min(k, m)
    cands = matching.top_candidates(
        mentees, mentors, weights, k=k, exclude=exclude, differ_on=_differs(options)
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
        extra = _score_pairs(mentees, mentors, weights, missing // m, missing % m, exclude, options)
        if extra is not None:
            ei, ej, es = extra
            edge_mentee = np.concatenate([edge_mentee, ei])
            edge_mentor = np.concatenate([edge_mentor, ej])
            edge_score = np.concatenate([edge_score, es])

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
        free=np.asarray(free, dtype=np.int64).reshape(m),
        edge_mentee=edge_mentee,
        edge_mentor=edge_mentor,
        edge_score=edge_score,
        edge_bonus=edge_bonus,
        edge_rank=edge_rank,
        all_pairs=k >= m,
        k=k,
        candidates=cands,
    )
    problem.no_edge_reason = _diagnose(problem, weights, unavailable)
    return problem


def _score_pairs(mentees, mentors, weights, rows, cols, exclude, options):
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
            [mentees[i] for i in chunk], [mentors[j] for j in mentor_list], weights
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


def _diagnose(problem: Problem, weights, unavailable) -> dict[int, str]:
    """Why each mentee without a single candidate has none."""
    has_edge = np.zeros(len(problem.mentees), dtype=bool)
    has_edge[problem.edge_mentee] = True
    lonely = np.flatnonzero(~has_edge).tolist()
    if not lonely:
        return {}
    people = [problem.mentees[i] for i in lonely]
    # A must-match pass among mentors with seats means only the rules stood in the way.
    ruled_out = _any_eligible(people, problem.mentors, weights)
    full = _any_eligible(people, list(unavailable), weights)
    out = {}
    for n, i in enumerate(lonely):
        if ruled_out[n]:
            out[i] = Reason.RULE_EXCLUDED
        elif full[n]:
            out[i] = Reason.ALL_FULL
        else:
            out[i] = Reason.NO_CANDIDATE
    return out


# --- Solving -----------------------------------------------------------------------------


@dataclass
class Solution:
    chosen: np.ndarray  # indexes of the chosen edges
    pairs: int
    total_score: float  # sum of the chosen pairs' match scores (floats)
    total_weight: int  # sum of their integer weights (score + bonus), the solver's objective
    seconds: float
    # CPU time of this process: what the solve costs when the machine is busy with other work.
    cpu_seconds: float = 0.0


def _summarise(problem: Problem, chosen: np.ndarray, seconds: float, cpu: float = 0.0) -> Solution:
    return Solution(
        chosen=chosen,
        pairs=len(chosen),
        total_score=float(problem.edge_score[chosen].sum()),
        total_weight=int(problem.weights()[chosen].sum()),
        seconds=seconds,
        cpu_seconds=cpu,
    )


def solve(problem: Problem, objective: str) -> Solution:
    """The optimal assignment over the candidate graph (exact: integer min-cost flow)."""
    started, cpu = time.perf_counter(), time.process_time()
    n, m, e = len(problem.mentees), len(problem.mentors), len(problem.edge_mentee)
    if e == 0:
        return _summarise(problem, np.zeros(0, dtype=np.int64), time.perf_counter() - started)
    source, sink = 0, n + m + 1
    weight = problem.weights()
    edge_cost = -weight if objective == Objective.MOST_PAIRS else -(weight * (n + 1) + 1)
    tails = [np.zeros(n, np.int64), 1 + problem.edge_mentee, n + 1 + np.arange(m)]
    heads = [1 + np.arange(n), n + 1 + problem.edge_mentor, np.full(m, sink, np.int64)]
    caps = [np.ones(n, np.int64), np.ones(e, np.int64), problem.free]
    costs = [np.zeros(n, np.int64), edge_cost, np.zeros(m, np.int64)]
    if objective != Objective.MOST_PAIRS:
        # Leaving a mentee unpaired costs nothing: flow may go straight to the sink.
        tails.append(np.array([source]))
        heads.append(np.array([sink]))
        caps.append(np.array([n]))
        costs.append(np.array([0]))
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails), np.concatenate(heads), np.concatenate(caps), np.concatenate(costs)
    )
    flow.set_nodes_supplies(np.array([source, sink]), np.array([n, -n]))
    if objective == Objective.MOST_PAIRS:
        status = flow.solve_max_flow_with_min_cost()
    else:
        status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"The min-cost flow solver stopped with status {status}")
    edge_arcs = np.arange(n, n + e)
    chosen = np.flatnonzero(flow.flows(edge_arcs) > 0)
    return _summarise(problem, chosen, time.perf_counter() - started, time.process_time() - cpu)


def solve_greedy(problem: Problem) -> Solution:
    """Baseline for the benchmark: best pairs first, taken while both sides are free."""
    started, cpu = time.perf_counter(), time.process_time()
    order = np.lexsort((problem.edge_mentor, problem.edge_mentee, -problem.weights()))
    seats = problem.free.copy().tolist()
    taken = [False] * len(problem.mentees)
    chosen = []
    mentees, mentors = problem.edge_mentee.tolist(), problem.edge_mentor.tolist()
    for e in order.tolist():
        i, j = mentees[e], mentors[e]
        if not taken[i] and seats[j] > 0:
            taken[i] = True
            seats[j] -= 1
            chosen.append(e)
    chosen = np.asarray(chosen, dtype=np.int64)
    return _summarise(problem, chosen, time.perf_counter() - started, time.process_time() - cpu)


def unpaired_reasons(problem: Problem, solution: Solution, objective: str) -> dict[int, str]:
    """Why each mentee the solution leaves unpaired stays so ({mentee index: Reason})."""
    paired = np.zeros(len(problem.mentees), dtype=bool)
    paired[problem.edge_mentee[solution.chosen]] = True
    positive = np.zeros(len(problem.mentees), dtype=bool)
    positive[problem.edge_mentee[problem.weights() > 0]] = True
    out = {}
    for i in np.flatnonzero(~paired).tolist():
        if i in problem.no_edge_reason:
            out[i] = problem.no_edge_reason[i]
        elif objective == Objective.QUALITY and not positive[i]:
            out[i] = Reason.NO_SCORE
        else:
            out[i] = Reason.NOT_CHOSEN
    return out


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


# --- Services -------------------------------------------------------------------------------


def open_run(program: Program) -> AutoPairRun | None:
    return AutoPairRun.objects.filter(program=program, status__in=AutoPairRun.OPEN).first()


def _open_run_message(run: AutoPairRun) -> str:
    if run.status == RunStatus.STAGED:
        return (
            "An auto-pair run is waiting for review: confirm or discard it before starting "
            "another (its proposals hold mentors' seats)."
        )
    return "An auto-pair run is already in progress for this program."


def _describe(options: Options) -> str:
    rules = []
    if options.include_not_accepting:
        rules.append("including mentors not accepting requests")
    if options.avoid_shared_manager:
        rules.append("not someone with the same manager")
    if options.different_department:
        rules.append("different department")
    if options.preference_bonus:
        rules.append(f"preference bonus {options.preference_bonus}")
    label = Objective(options.objective).label
    return label + (f" ({'; '.join(rules)})" if rules else "")


def autopair_start(*, program: Program, user, options: Options) -> AutoPairRun:
    """Queue a run; the worker builds and solves it (pairing.tasks_autopair)."""
    from pairing.tasks_autopair import autopair_execute_task

    with transaction.atomic():
        Program.objects.select_for_update().filter(pk=program.pk).first()
        existing = open_run(program)
        if existing is not None:
            raise DomainError(_open_run_message(existing))
        try:
            with transaction.atomic():
                run = AutoPairRun.objects.create(
                    program=program,
                    objective=options.objective,
                    options=options.as_json(),
                    created_by=user,
                    progress_label="Waiting for a worker",
                )
        except IntegrityError:
            raise DomainError("An auto-pair run is already in progress for this program.") from None
        activity_record(
            program=program, actor=user, verb=Verb.AUTOPAIR_RUN, detail=_describe(options)
        )
        autopair_execute_task.delay_on_commit(run.pk)
    return run


def _progress(run_id: int, percent: int, label: str) -> None:
    AutoPairRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
        progress=percent, progress_label=label
    )


def autopair_execute(*, run_id: int) -> bool:
    """Build, solve and stage a queued run. False when it was not queued (a redelivery)."""
    started_at = timezone.now()
    claimed = AutoPairRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING,
        started_at=started_at,
        progress=5,
        progress_label="Reading mentees and mentors",
    )
    if not claimed:
        return False
    run = AutoPairRun.objects.select_related("program").get(pk=run_id)
    try:
        _execute(run)
    except Exception as exc:
        log.exception("Auto-pair run %s failed", run_id)
        AutoPairRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            closed_at=timezone.now(),
        )
    return True


def _execute(run: AutoPairRun) -> None:
    options = Options.from_json(run.options)
    t0 = time.perf_counter()
    _progress(run.pk, 15, "Scoring candidate pairs")
    problem = problem_for(run.program, options)
    t1 = time.perf_counter()
    _progress(run.pk, 60, "Finding the best assignment")
    solution = solve(problem, options.objective)
    t2 = time.perf_counter()
    _progress(run.pk, 75, "Writing the proposals")
    reasons = unpaired_reasons(problem, solution, options.objective)
    totals = _totals(problem, solution, reasons)
    with transaction.atomic():
        locked = AutoPairRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != RunStatus.RUNNING:
            return  # discarded while we worked
        _stage(locked, problem, solution, reasons)
        t3 = time.perf_counter()
        locked.timings = {
            "score": round(t1 - t0, 3),
            "solve": round(solution.seconds, 3),
            "stage": round(t3 - t2, 3),
            "total": round(t3 - t0, 3),
        }
        locked.totals = totals
        locked.status = RunStatus.STAGED
        locked.progress = 100
        locked.progress_label = "Ready for review"
        locked.staged_at = timezone.now()
        locked.save(
            update_fields=[
                "timings",
                "totals",
                "status",
                "progress",
                "progress_label",
                "staged_at",
            ]
        )


def _totals(problem: Problem, solution: Solution, reasons: Mapping[int, str]) -> dict:
    by_reason: dict[str, int] = defaultdict(int)
    for reason in reasons.values():
        by_reason[reason] += 1
    ranks = problem.edge_rank[solution.chosen]
    seats = int(problem.free.sum())
    return {
        "mentees": len(problem.mentees),
        "mentors": len(problem.mentors),
        "seats": seats,
        "pairs": solution.pairs,
        "total_score": round(solution.total_score, 3),
        "average_score": round(solution.total_score / solution.pairs, 2) if solution.pairs else 0,
        "preferences_honoured": int((ranks > 0).sum()),
        "first_choices": int((ranks == 1).sum()),
        "unpaired": dict(by_reason),
        "candidate_edges": len(problem.edge_mentee),
        "all_pairs": problem.all_pairs,
        "k": problem.k,
    }


def _insert(model, columns: Sequence[str], rows: list[tuple]) -> None:
    """Insert many plain rows. On PostgreSQL through COPY: a 50,000-row stage is
    dominated by INSERT statement building otherwise (bulk_create prepares every
    field of every row in Python)."""
    if not rows:
        return
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = ", ".join(connection.ops.quote_name(c) for c in columns)
            with cursor.cursor.copy(
                f"COPY {connection.ops.quote_name(table)} ({names}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            names = ", ".join(connection.ops.quote_name(c) for c in columns)
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                # Names come from the model's own metadata, values are parameters.
                f"INSERT INTO {connection.ops.quote_name(table)} ({names}) VALUES ({marks})",  # noqa: S608
                rows,
            )


def _stage(run: AutoPairRun, problem: Problem, solution: Solution, reasons) -> None:
    proposals = []
    for e in solution.chosen.tolist():
        i, j = int(problem.edge_mentee[e]), int(problem.edge_mentor[e])
        rank = int(problem.edge_rank[e])
        proposals.append(
            (
                run.pk,
                problem.mentees[i]["id"],
                problem.mentors[j]["id"],
                float(problem.edge_score[e]),
                json.dumps(problem.reasons(i, j)),
                rank or None,
                False,
            )
        )
    _insert(
        AutoPairProposal,
        ["run_id", "mentee_id", "mentor_id", "score", "reasons", "preference_rank", "swapped"],
        proposals,
    )
    _insert(
        AutoPairUnpaired,
        ["run_id", "mentee_id", "reason"],
        [(run.pk, problem.mentees[i]["id"], str(reason)) for i, reason in reasons.items()],
    )


def _staged_run(program: Program, run_id: int) -> AutoPairRun:
    run = AutoPairRun.objects.select_for_update().filter(program=program, pk=run_id).first()
    if run is None:
        raise DomainError("There is no such auto-pair run.")
    if run.status != RunStatus.STAGED:
        raise DomainError(f"This run is {run.get_status_display().lower()}; it cannot change.")
    return run


@transaction.atomic
def proposal_remove(*, program: Program, run_id: int, mentee_id: int) -> None:
    """Take a mentee out of the proposals; they join the unpaired list."""
    run = _staged_run(program, run_id)
    deleted, _ = AutoPairProposal.objects.filter(run=run, mentee_id=mentee_id).delete()
    if not deleted:
        raise DomainError("That mentee has no proposal in this run.")
    AutoPairUnpaired.objects.create(run=run, mentee_id=mentee_id, reason=Reason.REMOVED)


def seats_free(run: AutoPairRun, mentor_ids: Sequence[int]) -> dict[int, int]:
    """Free seats of mentors, counting this run's proposals as held."""
    mentors = dict(
        Participant.objects.filter(pk__in=mentor_ids, program=run.program_id).values_list(
            "pk", "capacity"
        )
    )
    load = mentor_load(run.program, list(mentors))
    held = _counts(AutoPairProposal.objects.filter(run=run, mentor_id__in=mentors), "mentor_id")
    return {pk: cap - load.get(pk, 0) - held.get(pk, 0) for pk, cap in mentors.items()}


def blocked_mentor_ids(mentee: Participant) -> set[int]:
    """Mentors this mentee must not be paired with again."""
    return set(
        Pairing.objects.filter(mentee=mentee, do_not_pair_again=True).values_list(
            "mentor_id", flat=True
        )
    )


def pair_problems(
    run: AutoPairRun,
    mentee: Participant,
    mentor: Participant,
    options: Options,
    *,
    blocked: set[int] | None = None,
    check_score: bool = True,
) -> str | None:
    """Why this mentor cannot be proposed for this mentee in this run (None: they can).

    `blocked` (from blocked_mentor_ids) saves a query per mentor when checking many.
    """
    if mentor.role != Participant.Role.MENTOR or mentor.program_id != run.program_id:
        return "That person is not a mentor in this program."
    if not mentor.accepting_requests and not options.include_not_accepting:
        return f"{mentor.full_name} is not accepting new mentees."
    if blocked is None:
        blocked = blocked_mentor_ids(mentee)
    if mentor.pk in blocked:
        return f"{mentee.full_name} and {mentor.full_name} were marked “do not pair again”."
    manager = _lower(mentee.manager_email)
    if manager and manager == _lower(mentor.email):
        return f"{mentor.full_name} is {mentee.full_name}'s manager."
    if options.avoid_shared_manager and manager and manager == _lower(mentor.manager_email):
        return f"{mentor.full_name} and {mentee.full_name} have the same manager."
    if options.different_department:
        dept = matching.normalise(mentee.department)
        if dept and dept == matching.normalise(mentor.department):
            return f"This run pairs across departments; both are in {mentor.department}."
    if check_score and matching.score_pair(mentee, mentor, weights_of(run.program)) is None:
        return f"{mentor.full_name} does not share a must-match field with {mentee.full_name}."
    return None


@transaction.atomic
def proposal_set_mentor(
    *, program: Program, run_id: int, mentee_id: int, mentor_id: int
) -> AutoPairProposal:
    """Swap in another mentor for a proposal, or propose one for a mentee left unpaired."""
    run = _staged_run(program, run_id)
    options = Options.from_json(run.options)
    mentee = Participant.objects.filter(pk=mentee_id, program=program).first()
    in_run = mentee is not None and (
        AutoPairProposal.objects.filter(run=run, mentee=mentee).exists()
        or AutoPairUnpaired.objects.filter(run=run, mentee=mentee).exists()
    )
    if not in_run:
        raise DomainError("That mentee is not part of this run.")
    # Lock the mentor so two swaps cannot both take their last seat.
    mentor = Participant.objects.select_for_update().filter(pk=mentor_id, program=program).first()
    if mentor is None:
        raise DomainError("There is no such mentor in this program.")
    problem = pair_problems(run, mentee, mentor, options)
    if problem:
        raise DomainError(problem)
    current = AutoPairProposal.objects.filter(run=run, mentee=mentee).first()
    if current is not None and current.mentor_id == mentor.pk:
        return current
    if seats_free(run, [mentor.pk]).get(mentor.pk, 0) <= 0:
        raise DomainError(f"{mentor.full_name} has no free seat left.")
    weights = weights_of(program)
    score = matching.score_pair(mentee, mentor, weights) or 0.0
    rank = (
        MentorPreference.objects.filter(mentee=mentee, mentor=mentor)
        .values_list("rank", flat=True)
        .first()
    )
    fields = {
        "mentor": mentor,
        "score": score,
        "reasons": matching.explain(mentee, mentor, weights),
        "preference_rank": rank,
        "swapped": True,
    }
    if current is None:
        AutoPairUnpaired.objects.filter(run=run, mentee=mentee).delete()
        return AutoPairProposal.objects.create(run=run, mentee=mentee, **fields)
    for key, value in fields.items():
        setattr(current, key, value)
    current.save()
    return current


@dataclass
class ConfirmResult:
    created: int
    skipped: list[dict]


def _assignment_drafts(program: Program, pairs, people, now: datetime) -> list[Draft]:
    common = {"program_name": program.name, "organization_name": program.organization.name}
    drafts = []
    for pairing_id, mentee_id, mentor_id in pairs:
        for person_id, partner_id, role in (
            (mentee_id, mentor_id, "mentor"),
            (mentor_id, mentee_id, "mentee"),
        ):
            person, partner = people[person_id], people[partner_id]
            _, raw = link_create(
                purpose=Purpose.SESSION,
                participant=person,
                expires_at=now + timedelta(days=SESSION_LINK_VALID_FOR_DAYS),
                object_id=pairing_id,
            )
            drafts.append(
                Draft(
                    kind=EmailKind.ASSIGNMENT,
                    key=f"assignment:{pairing_id}:{person_id}",
                    to_email=person.email,
                    to_name=person.full_name,
                    values={
                        **common,
                        "first_name": person.first_name,
                        "partner_name": partner.full_name,
                        "partner_email": partner.email,
                        "partner_role": role,
                        "session_link": link_url(raw, Purpose.SESSION),
                    },
                )
            )
    return drafts


def autopair_confirm(*, program: Program, run_id: int, user) -> ConfirmResult:
    """Create the proposed pairings in one transaction, re-checking every seat.

    Mentor rows are locked in id order (the same order request approvals
    lock them in, so the two cannot deadlock), then each proposal is checked
    again: the mentee may have been paired or asked someone meanwhile, a
    mentor may have filled up. Those are skipped and listed, never dropped
    silently; the rest become pairings and Mentorship Assignments emails.
    """
    try:
        with transaction.atomic():
            return _confirm(program=program, run_id=run_id, user=user)
    except IntegrityError:
        # A mentee was paired by a concurrent approval between our check and insert.
        raise DomainError(
            "Someone paired one of these mentees while confirming. Nothing was created; "
            "confirm again and that proposal will be listed as skipped."
        ) from None


def _confirm(*, program: Program, run_id: int, user) -> ConfirmResult:
    run = _staged_run(program, run_id)
    proposals = list(
        AutoPairProposal.objects.filter(run=run)
        .order_by("-score", "id")
        .values_list("mentee_id", "mentor_id")
    )
    mentor_ids = sorted({mentor_id for _, mentor_id in proposals})
    mentee_ids = [mentee_id for mentee_id, _ in proposals]
    locked = list(
        Participant.objects.select_for_update()
        .filter(pk__in=mentor_ids, program=program, role=Participant.Role.MENTOR)
        .order_by("pk")
        .values_list("pk", "capacity")
    )
    seats = {pk: cap for pk, cap in locked}
    for pk, used in mentor_load(program, mentor_ids).items():
        seats[pk] = seats.get(pk, 0) - used
    busy = set(
        Pairing.objects.filter(mentee_id__in=mentee_ids, status=Pairing.Status.ACTIVE).values_list(
            "mentee_id", flat=True
        )
    ) | set(
        MentorRequest.objects.filter(
            mentee_id__in=mentee_ids, status=MentorRequest.Status.PENDING
        ).values_list("mentee_id", flat=True)
    )
    blocked = set(
        Pairing.objects.filter(program=program, do_not_pair_again=True).values_list(
            "mentee_id", "mentor_id"
        )
    )
    people = {
        p.pk: p
        for p in Participant.objects.filter(pk__in=set(mentee_ids) | set(mentor_ids)).only(
            "first_name", "last_name", "email", "program_id"
        )
    }
    keep, skipped = [], []
    for mentee_id, mentor_id in proposals:
        why = None
        if mentee_id in busy:
            why = "the mentee was paired or requested a mentor meanwhile"
        elif mentor_id not in seats:
            why = "the mentor is no longer in the program"
        elif (mentee_id, mentor_id) in blocked:
            why = "the pair was marked “do not pair again”"
        elif seats[mentor_id] <= 0:
            why = "the mentor has no free seat left"
        if why:
            skipped.append(
                {
                    "mentee": people[mentee_id].full_name if mentee_id in people else "",
                    "mentor": people[mentor_id].full_name if mentor_id in people else "",
                    "why": why,
                }
            )
            continue
        seats[mentor_id] -= 1
        keep.append((mentee_id, mentor_id))
    created = Pairing.objects.bulk_create(
        [
            Pairing(
                program=program,
                mentee_id=mentee_id,
                mentor_id=mentor_id,
                origin=Pairing.Origin.AUTO_PAIR,
                created_by=user,
            )
            for mentee_id, mentor_id in keep
        ],
        batch_size=2000,
    )
    now = timezone.now()
    pairs = [(p.pk, p.mentee_id, p.mentor_id) for p in created]
    outbox_add(_assignment_drafts(program, pairs, people, now), program=program)
    run.status = RunStatus.CONFIRMED
    run.closed_at = now
    run.closed_by = user
    run.totals = {**run.totals, "confirmed": len(created), "skipped": skipped[:1000]}
    run.totals["skipped_count"] = len(skipped)
    run.save(update_fields=["status", "closed_at", "closed_by", "totals"])
    detail = f"Created {len(created)} pairing{'s' if len(created) != 1 else ''}"
    if skipped:
        detail += f"; skipped {len(skipped)} that no longer fit"
    activity_record(program=program, actor=user, verb=Verb.AUTOPAIR_CONFIRMED, detail=detail)
    return ConfirmResult(created=len(created), skipped=skipped)


@transaction.atomic
def autopair_discard(*, program: Program, run_id: int, user) -> AutoPairRun:
    """Drop a run (queued, running or staged): its proposals release their seats."""
    run = AutoPairRun.objects.select_for_update().filter(program=program, pk=run_id).first()
    if run is None:
        raise DomainError("There is no such auto-pair run.")
    if run.status not in AutoPairRun.OPEN:
        raise DomainError(f"This run is {run.get_status_display().lower()}; it cannot change.")
    pairs = run.proposals.count()
    run.proposals.all().delete()
    run.unpaired.all().delete()
    run.status = RunStatus.DISCARDED
    run.closed_at = timezone.now()
    run.closed_by = user
    run.save(update_fields=["status", "closed_at", "closed_by"])
    activity_record(
        program=program,
        actor=user,
        verb=Verb.AUTOPAIR_DISCARDED,
        detail=f"Discarded {pairs} proposed pair{'s' if pairs != 1 else ''}",
    )
    return run
