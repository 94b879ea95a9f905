"""Solving the candidate graph exactly (min-cost flow), and the greedy baseline."""

import time
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from pairing.autopair.options import Objective, Reason
from pairing.autopair.problem import Problem

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
    # Node ids as int32, what the solver takes (int64 would be converted arc by arc).
    node = np.int32
    tails = [
        np.zeros(n, node),
        (1 + problem.edge_mentee).astype(node),
        n + 1 + np.arange(m, dtype=node),
    ]
    heads = [
        1 + np.arange(n, dtype=node),
        (n + 1 + problem.edge_mentor).astype(node),
        np.full(m, sink, node),
    ]
    caps = [np.ones(n, np.int64), np.ones(e, np.int64), problem.free]
    costs = [np.zeros(n, np.int64), edge_cost, np.zeros(m, np.int64)]
    if objective != Objective.MOST_PAIRS:
        # Leaving a mentee unpaired costs nothing: flow may go straight to the sink.
        tails.append(np.array([source], node))
        heads.append(np.array([sink], node))
        caps.append(np.array([n], np.int64))
        costs.append(np.array([0], np.int64))
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails), np.concatenate(heads), np.concatenate(caps), np.concatenate(costs)
    )
    flow.set_nodes_supplies(np.array([source, sink], node), np.array([n, -n], np.int64))
    if objective == Objective.MOST_PAIRS:
        status = flow.solve_max_flow_with_min_cost()
    else:
        status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"The min-cost flow solver stopped with status {status}")
    edge_arcs = np.arange(n, n + e, dtype=node)
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
