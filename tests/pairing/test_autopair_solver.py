"""Auto-pair's solver against independent optima on small random instances (no database).

Two independent checks:
- exhaustive enumeration of every assignment on tiny instances, with the
  eligibility, rules and scores worked out here pair by pair
  (matching.score_pair), not through the solver's candidate graph;
- scipy's Hungarian algorithm (linear_sum_assignment) over capacity slots on
  larger ones, on the same integer weights the solver uses.
"""

import itertools
import random
from fractions import Fraction

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from pairing import matching
from pairing.autopair import (
    Options,
    Problem,
    build_problem,
    solve,
    solve_greedy,
    solver,
    unpaired_reasons,
)
from pairing.models import AutoPairRun, AutoPairUnpaired
from tests.support import schemes

MOST, QUALITY = AutoPairRun.Objective.MOST_PAIRS, AutoPairRun.Objective.QUALITY
TAGS = ["python", "sql", "design", "sales", "finance", "leadership", "ml"]
DEPTS = ["Eng", "Sales", "Ops", ""]
PLACES = ["London", "Paris", ""]
MANAGERS = ["boss1@x.org", "boss2@x.org", ""]


def _person(rng, pid):
    return schemes.person(
        **{
            "id": pid,
            "first_name": f"P{pid}",
            "last_name": "",
            "email": f"p{pid}@x.org",
            "department": rng.choice(DEPTS),
            "location": rng.choice(PLACES),
            "skills": rng.sample(TAGS, rng.randint(0, 3)),
            "interests": rng.sample(TAGS, rng.randint(0, 3)),
            "goals": rng.sample(TAGS, rng.randint(0, 2)),
            "manager_email": rng.choice(MANAGERS),
        }
    )


def _instance(seed, n, m, cap_max):
    rng = random.Random(seed)
    mentees = [_person(rng, i + 1) for i in range(n)]
    mentors = [_person(rng, 1000 + j) for j in range(m)]
    # Some mentors manage some mentees.
    for mentor in mentors:
        if rng.random() < 0.3:
            mentor["email"] = rng.choice(MANAGERS[:2])
    free = [rng.randint(1, cap_max) for _ in range(m)]
    weights = schemes.scheme(
        {
            "skills_for_goals": rng.choice([0, 3, 5, 9]),
            "shared_interests": rng.choice([0, 2, 10])
            if rng.random() < 0.3
            else rng.choice([0, 2]),
            "department": rng.choice([0, 1, 4]),
            "location": rng.choice([0, 2, 10]) if rng.random() < 0.2 else 2,
        }
    )
    do_not_pair = {(mentees[i]["id"], mentors[j]["id"]) for i in range(n) for j in range(m)
                   if rng.random() < 0.1}  # fmt: skip
    preferences = {}
    for mentee in mentees:
        for rank, mentor in enumerate(rng.sample(mentors, rng.randint(0, min(3, m))), start=1):
            preferences[(mentee["id"], mentor["id"])] = rank
    options = Options(
        objective=rng.choice([MOST, QUALITY]),
        avoid_shared_manager=rng.random() < 0.5,
        different_department=rng.random() < 0.3,
        preference_bonus=rng.choice([0, 10, 25]),
    )
    return mentees, mentors, free, weights, do_not_pair, preferences, options


def _allowed(mentee, mentor, weights, do_not_pair, options):
    """The rules, written out independently of pairing.autopair."""
    if (mentee["id"], mentor["id"]) in do_not_pair:
        return None
    manager = mentee["manager_email"]
    if manager and manager == mentor["email"]:
        return None
    if options.avoid_shared_manager and manager and manager == mentor["manager_email"]:
        return None
    if (
        options.different_department
        and mentee["department"]
        and (mentee["department"] == mentor["department"])
    ):
        return None
    return matching.score_pair(mentee, mentor, weights)


def _check_valid(problem, solution, do_not_pair, options, weights):
    seats = problem.free.copy()
    seen = set()
    for e in solution.chosen:
        i, j = problem.edge_mentee[e], problem.edge_mentor[e]
        assert i not in seen
        seen.add(i)
        seats[j] -= 1
        assert (
            _allowed(problem.mentees[i], problem.mentors[j], weights, do_not_pair, options)
            is not None
        )
    assert (seats >= 0).all(), "a mentor got more mentees than free seats"


def _brute_force(mentees, mentors, free, weights, do_not_pair, preferences, options):
    """(most pairs, best points at that count) and best points overall, by enumeration."""
    n, m = len(mentees), len(mentors)
    w = {}
    for i, j in itertools.product(range(n), range(m)):
        score = _allowed(mentees[i], mentors[j], weights, do_not_pair, options)
        if score is None:
            continue
        rank = preferences.get((mentees[i]["id"], mentors[j]["id"]))
        bonus = options.preference_bonus * (3 + 1 - rank) / 3 if rank else 0.0
        w[i, j] = score + bonus  # points
    best_most, best_quality = (0, 0), (0, 0)
    for choice in itertools.product(range(-1, m), repeat=n):
        load = [0] * m
        total, pairs, ok = 0, 0, True
        for i, j in enumerate(choice):
            if j < 0:
                continue
            if (i, j) not in w:
                ok = False
                break
            load[j] += 1
            total += w[i, j]
            pairs += 1
        if not ok or any(load[j] > free[j] for j in range(m)):
            continue
        best_most = max(best_most, (pairs, total))
        best_quality = max(best_quality, (total, pairs))
    return best_most, best_quality


def _value(problem, solution):
    return solution.pairs, solution.total_weight


@pytest.mark.parametrize("seed", range(40))
def test_solver_equals_exhaustive_optimum_on_tiny_instances(seed):
    mentees, mentors, free, weights, dnp, prefs, options = _instance(seed, n=5, m=3, cap_max=2)
    problem = build_problem(
        mentees, mentors, free, weights, options, do_not_pair=dnp, preferences=prefs, max_rank=3
    )
    assert problem.all_pairs
    best_most, best_quality = _brute_force(mentees, mentors, free, weights, dnp, prefs, options)
    solution = solve(problem, options.objective)
    _check_valid(problem, solution, dnp, options, weights)
    # The solver's weights are exact (whole units of the scores' own denominator);
    # the enumeration adds float32 scores, so allow float noise, far below a unit.
    points = float(solution.total_weight / problem.weight_scale)
    if options.objective == MOST:
        assert solution.pairs == best_most[0]
        assert points == pytest.approx(best_most[1], abs=1e-3)
    else:
        assert points == pytest.approx(best_quality[0], abs=1e-3)


def _hungarian(problem, objective):
    """Optimum by linear_sum_assignment over one column per free seat."""
    n = len(problem.mentees)
    slots = np.repeat(np.arange(len(problem.mentors)), problem.free)
    w = problem.weights()
    if objective == MOST:
        big = int(w.sum()) + 1
        value = big + w
    else:
        value = w * (n + 1) + 1
    table = np.zeros((n, len(problem.mentors)), dtype=np.int64)
    table[problem.edge_mentee, problem.edge_mentor] = value
    profit = table[:, slots]
    rows, cols = linear_sum_assignment(profit, maximize=True)
    used = profit[rows, cols] > 0
    pairs = int(used.sum())
    weight_of = np.zeros((n, len(problem.mentors)), dtype=np.int64)
    weight_of[problem.edge_mentee, problem.edge_mentor] = w
    total = int(weight_of[rows[used], slots[cols[used]]].sum())
    return pairs, total


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("objective", [MOST, QUALITY])
def test_solver_equals_hungarian_optimum_over_capacity_slots(seed, objective):
    mentees, mentors, free, weights, dnp, prefs, options = _instance(
        100 + seed, n=40, m=12, cap_max=3
    )
    options = Options(**{**options.as_json(), "objective": objective})
    problem = build_problem(
        mentees, mentors, free, weights, options, do_not_pair=dnp, preferences=prefs
    )
    solution = solve(problem, objective)
    _check_valid(problem, solution, dnp, options, weights)
    pairs, total = _hungarian(problem, objective)
    if objective == MOST:
        assert (solution.pairs, solution.total_weight) == (pairs, total)
    else:
        assert solution.total_weight == total
        assert solution.pairs == pairs
    # The greedy baseline never beats the optimum on its own objective.
    greedy = solve_greedy(problem)
    _check_valid(problem, greedy, dnp, options, weights)
    if objective == MOST:
        assert greedy.pairs <= solution.pairs
    else:
        assert greedy.total_weight <= solution.total_weight


def test_reported_total_is_the_sum_of_the_chosen_pairs_float_scores():
    mentees, mentors, free, weights, _dnp, prefs, options = _instance(7, n=30, m=8, cap_max=3)
    problem = build_problem(mentees, mentors, free, weights, options, preferences=prefs)
    solution = solve(problem, MOST)
    expected = sum(
        matching.score_pair(problem.mentees[i], problem.mentors[j], weights)
        for i, j in zip(
            problem.edge_mentee[solution.chosen], problem.edge_mentor[solution.chosen], strict=False
        )
    )
    assert solution.total_score == pytest.approx(expected, abs=1e-3)


def _mentor(pid, **kw):
    return schemes.person(**{"id": pid, "first_name": "M", "last_name": str(pid),
            "email": f"m{pid}@x.org", "department": "Eng", "location": "", "skills": ["python"],
            "manager_email": "", **kw})  # fmt: skip


def _mentee(pid, **kw):
    """A mentee; `wants` are their goals (what the default rule matches with skills)."""
    wants = kw.pop("wants", ["python"])
    return schemes.person(**{"id": pid, "first_name": "E", "last_name": str(pid),
            "email": f"e{pid}@x.org", "department": "Eng", "location": "", "goals": wants,
            "manager_email": "", **kw})  # fmt: skip


W = schemes.scheme({"skills_for_goals": 5})


def test_weights_are_the_exact_scores_not_rounded_to_a_thousandth():
    """A third of a field is 33.333... points: rounded to 0.001 point, two such
    pairs would not weigh twice one; in the scores' own unit they do."""
    mentee = _mentee(1, wants=["a", "b", "c"])
    mentors = [_mentor(10, skills=["a"]), _mentor(11, skills=["a", "b"])]
    weights = W
    options = Options(preference_bonus=5)
    problem = build_problem(
        [mentee], mentors, [1, 1], weights, options, preferences={(1, 10): 2}, max_rank=3
    )
    w = problem.weights().tolist()
    by_mentor = dict(zip(problem.edge_mentor.tolist(), w, strict=True))
    scale = problem.weight_scale
    # Mentor 10: a third of the field plus the bonus of a second choice (5 * 2 / 3).
    assert Fraction(by_mentor[0]) / scale == Fraction(100, 3) + Fraction(10, 3)
    assert Fraction(by_mentor[1]) / scale == Fraction(200, 3)


def test_weights_fall_back_to_thousandths_when_the_exact_unit_is_too_fine(monkeypatch):
    from pairing.autopair import problem as problem_module

    monkeypatch.setattr(problem_module, "_COST_LIMIT", 0)
    mentee = _mentee(1, wants=["a", "b", "c"])
    problem = build_problem([mentee], [_mentor(10, skills=["a"])], [1], W, Options())

    assert problem.weight_scale == 1000
    assert problem.weights().tolist() == [33333]
    assert solve(problem, MOST).pairs == 1


def test_most_pairs_gives_up_a_better_pair_to_pair_everyone():
    # Mentee 1 fits both mentors, mentee 2 only mentor 11 (who has one seat).
    mentees = [_mentee(1, wants=["python", "sql"]), _mentee(2)]
    mentors = [_mentor(10, skills=["sql"]), _mentor(11, skills=["python", "sql"])]
    problem = build_problem(mentees, mentors, [1, 1], W, Options())
    most = solve(problem, MOST)
    assert most.pairs == 2
    quality = solve(problem, QUALITY)
    assert quality.pairs == 2  # here both objectives agree; scores are positive


def test_quality_leaves_a_mentee_unpaired_rather_than_a_zero_score_pair_beats_nothing():
    mentees = [_mentee(1), _mentee(2, wants=["knitting"])]
    mentors = [_mentor(10)]
    problem = build_problem(mentees, mentors, [1], W, Options(objective=QUALITY))
    solution = solve(problem, QUALITY)
    assert solution.pairs == 1
    assert problem.mentees[problem.edge_mentee[solution.chosen[0]]]["id"] == 1


def test_quality_prefers_one_great_pair_over_two_weak_ones():
    # Mentor 10 is perfect for mentee 1; mentee 2 may only take mentor 10, weakly;
    # mentor 11 fits mentee 1 with no score. One seat each.
    mentees = [_mentee(1, wants=["a", "b", "c"]), _mentee(2, wants=["a", "x", "y"])]
    mentors = [_mentor(10, skills=["a", "b", "c"]), _mentor(11, skills=["z"])]
    problem = build_problem(mentees, mentors, [1, 1], W, Options(), do_not_pair={(2, 11)})
    most = solve(problem, MOST)
    assert (most.pairs, round(most.total_score)) == (2, 33)
    quality = solve(problem, QUALITY)
    assert round(quality.total_score) == 100
    # Mentee 2 has nowhere left to go (mentor 10 taken, mentor 11 ruled out).
    assert quality.pairs == 1


def test_rules_exclude_manager_shared_manager_department_and_do_not_pair_again():
    mentee = _mentee(1, manager_email="boss@x.org", department="Eng")
    own_manager = _mentor(10, email="boss@x.org", department="Ops")
    same_manager = _mentor(11, manager_email="BOSS@x.org", department="Ops")
    same_dept = _mentor(12, department="eng")
    blocked = _mentor(13, department="Ops")
    fine = _mentor(14, department="Ops")
    mentors = [own_manager, same_manager, same_dept, blocked, fine]
    options = Options(avoid_shared_manager=True, different_department=True)
    problem = build_problem([mentee], mentors, [1] * 5, W, options, do_not_pair={(1, 13)})
    assert [problem.mentors[j]["id"] for j in problem.edge_mentor] == [14]
    relaxed = build_problem([mentee], mentors, [1] * 5, W, Options(), do_not_pair={(1, 13)})
    assert sorted(problem.mentors[j]["id"] for j in relaxed.edge_mentor) == [11, 12, 14]


def test_unpaired_mentees_say_why():
    weights = schemes.scheme({"skills_for_goals": 5, "location": 10})
    mentees = [
        _mentee(1, location="Paris"),  # nobody in Paris at all
        _mentee(2, location="Rome"),  # the Rome mentor is full
        _mentee(3, location="Oslo", manager_email="m10@x.org"),  # only Oslo mentor manages them
        _mentee(4, location="Lima"),  # Lima has one seat, mentee 5 takes it (better score)
        _mentee(5, location="Lima", wants=["python", "sql", "go"]),
    ]
    mentors = [
        _mentor(10, location="Oslo"),
        _mentor(11, location="Lima", skills=["python", "sql", "go"]),
    ]
    full = [_mentor(12, location="Rome")]
    problem = build_problem(mentees, mentors, [1, 1], weights, Options(), unavailable=full)
    solution = solve(problem, MOST)
    reasons = {
        problem.mentees[i]["id"]: r for i, r in unpaired_reasons(problem, solution, MOST).items()
    }
    assert reasons == {
        1: AutoPairUnpaired.Reason.NO_CANDIDATE,
        2: AutoPairUnpaired.Reason.ALL_FULL,
        3: AutoPairUnpaired.Reason.RULE_EXCLUDED,
        4: AutoPairUnpaired.Reason.NOT_CHOSEN,
    }


def test_preference_bonus_tips_the_choice_to_the_mentees_own_pick():
    mentees = [_mentee(1, wants=["python"])]
    mentors = [_mentor(10, skills=["python"]), _mentor(11, skills=[])]
    prefs = {(1, 11): 1}
    no_bonus = build_problem(
        mentees, mentors, [1, 1], W, Options(preference_bonus=0), preferences=prefs
    )
    chosen = solve(no_bonus, QUALITY).chosen
    assert no_bonus.mentors[no_bonus.edge_mentor[chosen[0]]]["id"] == 10
    bonus = build_problem(
        mentees, mentors, [1, 1], W, Options(preference_bonus=50), preferences=prefs
    )
    chosen = solve(bonus, QUALITY).chosen
    assert bonus.mentors[bonus.edge_mentor[chosen[0]]]["id"] == 11
    assert bonus.edge_rank[chosen[0]] == 1


def test_large_instances_keep_preferences_outside_the_top_k():
    mentees = [_mentee(1, wants=["python"])]
    mentors = [_mentor(10 + j, skills=["python"] if j < 5 else []) for j in range(8)]
    prefs = {(1, 17): 2}
    problem = build_problem(
        mentees, mentors, [1] * 8, W, Options(candidates_per_mentee=3), preferences=prefs
    )
    assert not problem.all_pairs
    ids = sorted(problem.mentors[j]["id"] for j in problem.edge_mentor)
    assert len(ids) == 4 and 17 in ids


def test_preferences_outside_the_top_k_join_their_mentees_edges():
    mentees = [_mentee(1), _mentee(2), _mentee(3)]
    mentors = [_mentor(10 + j, skills=["python"] if j < 5 else []) for j in range(8)]
    prefs = {(1, 17): 1, (3, 16): 2, (1, 15): 3}
    problem = build_problem(
        mentees, mentors, [1] * 8, W, Options(candidates_per_mentee=3), preferences=prefs
    )
    assert problem.edge_mentee.tolist() == [0] * 5 + [1] * 3 + [2] * 4
    assert (problem.edge_rank > 0).sum() == 3


def _weighted_problem(seed):
    """A candidate graph with integer weights chosen here, not scored: few distinct
    values (ties everywhere), zeros, mentees without a pair, edges in random order."""
    rng = random.Random(seed)
    n, m = rng.randint(5, 45), rng.randint(1, 12)
    density = rng.choice([0.1, 0.3, 0.7, 1.0])
    top = rng.choice([1, 3, 20, 1000])
    pairs = [(i, j) for i in range(n) for j in range(m) if rng.random() < density]
    rng.shuffle(pairs)
    weights = np.array([rng.randint(0, top) for _ in pairs], dtype=np.int64)
    e = len(pairs)
    return Problem(
        mentees=[{"id": i} for i in range(n)],
        mentors=[{"id": 1000 + j} for j in range(m)],
        free=np.array([rng.randint(1, 4) for _ in range(m)], dtype=np.int64),
        edge_mentee=np.array([i for i, _ in pairs], dtype=np.int64).reshape(e),
        edge_mentor=np.array([j for _, j in pairs], dtype=np.int64).reshape(e),
        edge_score=weights.astype(np.float64),
        edge_bonus=np.zeros(e),
        edge_rank=np.zeros(e, dtype=np.int16),
        all_pairs=False,
        k=m,
        candidates=None,
        _weights=(weights, Fraction(1)),
    )


@pytest.mark.parametrize("seed", range(60))
@pytest.mark.parametrize("objective", [MOST, QUALITY])
def test_solver_equals_hungarian_on_tied_and_zero_weights_in_any_edge_order(seed, objective):
    problem = _weighted_problem(seed)
    solution = solve(problem, objective)
    mentees = problem.edge_mentee[solution.chosen]
    assert len(set(mentees.tolist())) == len(mentees)
    load = np.bincount(problem.edge_mentor[solution.chosen], minlength=len(problem.mentors))
    assert (load <= problem.free).all()
    assert solution.total_weight == int(problem.weights()[solution.chosen].sum())
    assert (solution.pairs, solution.total_weight) == _hungarian(problem, objective)


@pytest.mark.parametrize("seed", range(30))
def test_more_pairs_bound_is_zero_exactly_when_no_assignment_has_more_pairs(seed):
    problem = _weighted_problem(seed)
    if not len(problem.edge_mentee):
        return
    heaviest = solver._flow(problem, -problem.weights(), unpaired_allowed=True)
    most = solve(problem, MOST).pairs
    bound = solver._more_pairs_bound(problem, heaviest)
    assert (bound == 0) == (len(heaviest) == most)
    assert bound >= most - len(heaviest)


def _pairs_by_id(problem, solution):
    return sorted(
        (problem.mentees[i]["id"], problem.mentors[j]["id"])
        for i, j in zip(
            problem.edge_mentee[solution.chosen].tolist(),
            problem.edge_mentor[solution.chosen].tolist(),
            strict=True,
        )
    )


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("objective", [MOST, QUALITY])
@pytest.mark.parametrize("k", [None, 3])
def test_same_people_in_any_order_get_the_same_pairs(seed, objective, k):
    """Ties (few distinct scores) are settled the same way whatever order the rows,
    preferences and exclusions come in."""
    mentees, mentors, free, weights, dnp, prefs, options = _instance(
        300 + seed, n=40, m=12, cap_max=3
    )
    options = Options(**{**options.as_json(), "objective": objective, "candidates_per_mentee": k})

    def pairs(mentees, mentors, free, dnp, prefs):
        problem = build_problem(
            mentees, mentors, free, weights, options, do_not_pair=dnp, preferences=prefs
        )
        return _pairs_by_id(problem, solve(problem, objective))

    expected = pairs(mentees, mentors, free, list(dnp), prefs)
    rng = random.Random(seed)
    for _ in range(3):
        order = rng.sample(range(len(mentors)), len(mentors))
        shuffled_prefs = list(prefs.items())
        rng.shuffle(shuffled_prefs)
        shuffled_dnp = list(dnp)
        rng.shuffle(shuffled_dnp)
        got = pairs(
            rng.sample(mentees, len(mentees)),
            [mentors[j] for j in order],
            [free[j] for j in order],
            shuffled_dnp,
            dict(shuffled_prefs),
        )
        assert got == expected
