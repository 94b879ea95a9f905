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
  unpaired (an arc source -> sink costs nothing), so no pair is made at the
  expense of a better one. Among equally good assignments the one with more
  pairs wins, so a pair that adds no score is still made where a seat is free (every pair's cost is -(weight * (n + 1) + 1), and n + 1 one-point
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
again"; pairs who were paired before in this program (any ended pairing),
unless the run allows them; never the mentee's own manager (mentor's email =
mentee's manager email); optionally not someone with the same manager;
optionally not the same department; must-match fields from the program's
match weights. Mentors who stopped accepting requests are left out unless the
run says otherwise. A run may take only the mentees on the waitlist.

A program has one open run at a time (the database holds it): staged
proposals hold their mentors' seats, and a second run would promise the same
seats twice, so a new run is refused until the staged one is confirmed or
discarded. Nothing here sends a request or decision email; confirming writes
the Mentorship Assignments emails to the outbox, one per person.

The package, along its seams: options (what a run can be asked for),
problem (the candidate graph in memory), solver (min-cost flow, greedy
baseline), reading (the program from the database), runs (start, execute,
stage), review (remove, swap, confirm, discard), selectors (reads for the
auto-pair pages).
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
