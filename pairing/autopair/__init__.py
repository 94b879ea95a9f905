"""Auto-pair: an optimal assignment of unpaired mentees to mentors, staged for review.

The objectives, the rules, the candidate graph and the solver are in docs/autopair.md.
Modules: options, problem (the candidate graph in memory), solver (min-cost flow, greedy
baseline), reading (the program from the database), runs (start, execute, stage), review
(remove, swap, confirm, discard), selectors (reads for the pages).
"""

from pairing.autopair.options import (
    ALL_PAIRS_LIMIT,
    CANDIDATES,
    MAX_PREFERENCE_BONUS,
    PERSON_FIELDS,
    SCALE,
    Objective,
    Options,
    Reason,
    RunStatus,
)
from pairing.autopair.problem import Problem, build_problem
from pairing.autopair.reading import (
    excluded_pairs,
    problem_for,
    run_mentees_qs,
    unpaired_mentees_qs,
)
from pairing.autopair.review import (
    ConfirmResult,
    autopair_confirm,
    autopair_discard,
    blocked_mentor_ids,
    pair_problems,
    paired_before_with,
    proposal_remove,
    proposal_set_mentor,
)
from pairing.autopair.runs import autopair_execute, autopair_start, open_run
from pairing.autopair.solver import Solution, solve, solve_greedy, unpaired_reasons

__all__ = [
    "ALL_PAIRS_LIMIT",
    "CANDIDATES",
    "MAX_PREFERENCE_BONUS",
    "PERSON_FIELDS",
    "SCALE",
    "ConfirmResult",
    "Objective",
    "Options",
    "Problem",
    "Reason",
    "RunStatus",
    "Solution",
    "autopair_confirm",
    "autopair_discard",
    "autopair_execute",
    "autopair_start",
    "blocked_mentor_ids",
    "build_problem",
    "excluded_pairs",
    "open_run",
    "pair_problems",
    "paired_before_with",
    "problem_for",
    "proposal_remove",
    "proposal_set_mentor",
    "run_mentees_qs",
    "solve",
    "solve_greedy",
    "unpaired_mentees_qs",
    "unpaired_reasons",
]
