"""Benchmark: auto-pair, optimal (min-cost flow) against a greedy baseline, in the same run.

    .venv/bin/python tests/bench/run.py bench_autopair

For each instance it prints:
- solver time, pairs made and total match score of the optimal assignment,
  for both objectives ("most pairs" and "quality"), beside a plain OR-tools
  min-cost flow of the same graph solved in the same run (no node
  potentials, no tie-break: a maximum flow of minimum cost for "most pairs",
  source -> sink allowed for "quality"), each solved BENCH_AUTOPAIR_REPEAT
  times (default 3) in turn: medians, the ratio of CPU times, and a check
  that both reach the same optimum (same pairs and weight for "most pairs",
  same weight and at least as many pairs for "quality");
- click-to-staged time: the run from the admin's click to proposals in the
  database (reading participants, scoring in bulk, building the candidate
  graph, solving, writing proposals and unpaired rows), the task executed
  in-process instead of by a worker;
- the greedy baseline (best pairs first, taken while both sides are free) on
  the same candidate graph: time, pairs, total score, and the optimum's gain
  over it in percent.

First, memory: a 25,000-mentee run executed in a pool process the way a
Celery worker runs it (billiard's pool, with the app's
worker_max_memory_per_child): the process's RSS before, its peak
(ru_maxrss) and what it still holds after the run, then whether the pool
replaced it and what the fresh process holds.

Instances: seed_demo's people (200 x 60, 2,000 x 600, 5,000 x 1,500, their
capacities), and synthetic cohorts of seed_demo profiles with every mentor at
capacity 4: 10,000 x 2,500 and 50,000 x 12,500 (50 candidates per mentee).
Each is a program with the default questions and rules; participants and
their answers (skills, interests, goals) are written to the benchmark
database first through the app's bulk services (not timed), and removed
afterwards (bench_questions does the same with eight questions of mixed
kinds). Set BENCH_AUTOPAIR_SIZES=small to skip the 50,000 run.

Only the solver, on the two synthetic instances built in memory (no database,
same people, scores and candidate graph as above), each objective solved
BENCH_AUTOPAIR_REPEAT times (default 5) beside the plain min-cost flow, median and
range of wall and CPU time:

    .venv/bin/python tests/bench/bench_autopair.py --solver-only
"""

import os
import sys
import time
from pathlib import Path

import numpy as np

BASE_DIR = Path(__file__).resolve().parents[2]


def _setup_django() -> None:
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairing_admin.settings")
    import django

    django.setup()


def _program(label: str, people: list[dict], capacity: int | None):
    """A program with the default questions holding `people` (seed_demo's), their
    answers written by the app's bulk service (tests/bench/people.py)."""
    from programs.models import Organization, Participant
    from programs.services import program_create
    from tests.bench.dbtools import vacuum
    from tests.bench.people import participants_create

    org = Organization.objects.create(name=f"Bench autopair {label}")
    program = program_create(organization=org, name=f"Bench {label}")
    rows = []
    for n, person in enumerate(people, start=1):
        row = dict(person, email=f"bench{n}@example.org")
        if capacity is not None and person["role"] == Participant.Role.MENTOR:
            row["capacity"] = capacity
        rows.append(row)
    participants_create(program, rows)
    # What autovacuum does after a bulk load (and after earlier benchmarks left
    # dead rows behind): without it the planner believes the freshly loaded
    # program is empty and picks a nested-loop anti-join for "unpaired mentees"
    # that took minutes at 50,000 mentees.
    from django.db import connection

    with connection.cursor() as cursor:
        vacuum(
            cursor,
            ("programs_participant", "programs_answer", "pairing_pairing", "pairing_mentorrequest"),
            analyze=True,
        )
    return org, program


def _click_to_staged(program, objective: str):
    from pairing import autopair
    from pairing.models import AutoPairRun

    started, cpu = time.perf_counter(), time.process_time()
    # What the view and the worker do, minus the broker hop.
    run = AutoPairRun.objects.create(
        program=program, objective=objective, options={"objective": objective}
    )
    autopair.autopair_execute(run_id=run.pk)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    run.refresh_from_db()
    assert run.status == "staged", (run.status, run.error)
    return run, elapsed, cpu


def _row(label: str, *cells) -> None:
    print(f"  {label:<34}" + "".join(f"{c:>14}" for c in cells), flush=True)


def _instance(label: str, mentees: int, mentors: int, capacity: int | None) -> None:
    from django.db import connection

    from pairing import autopair
    from pairing.autopair import Options
    from programs.management.commands.seed_demo import generate_people
    from tests.bench.people import organization_drop

    people = generate_people(mentees=mentees, mentors=mentors, seed=2027)
    org, program = _program(label, people, capacity)
    try:
        options = Options()
        started = time.perf_counter()
        problem = autopair.problem_for(program, options)
        build = time.perf_counter() - started
        seats = int(problem.free.sum())
        print(
            f"\n{label}: {mentees:,} mentees x {mentors:,} mentors, {seats:,} free seats, "
            f"{len(problem.edge_mentee):,} candidate pairs "
            f"({'all pairs' if problem.all_pairs else f'top {problem.k} per mentee'}); "
            f"read + score + graph {build:.2f} s",
            flush=True,
        )
        repeat = int(os.environ.get("BENCH_AUTOPAIR_REPEAT", "3"))
        best = _against_plain(problem, repeat)
        greedy = autopair.solve_greedy(problem)
        _row("", "solve s", "solve cpu s", "pairs", "total score", "avg score")
        for objective, solution in best.items():
            _row(
                f"optimal ({objective})",
                f"{solution.seconds:.3f}",
                f"{solution.cpu_seconds:.3f}",
                f"{solution.pairs:,}",
                f"{solution.total_score:,.1f}",
                f"{solution.total_score / max(solution.pairs, 1):.1f}",
            )
        _row(
            "greedy (best pair first)",
            f"{greedy.seconds:.3f}",
            f"{greedy.cpu_seconds:.3f}",
            f"{greedy.pairs:,}",
            f"{greedy.total_score:,.1f}",
            f"{greedy.total_score / max(greedy.pairs, 1):.1f}",
        )
        most, quality = best["most_pairs"], best["quality"]
        print(
            "  gap, optimal over greedy: most pairs "
            f"{_gap(most.pairs, greedy.pairs)} pairs and "
            f"{_gap(most.total_score, greedy.total_score)} score, "
            f"quality {_gap(quality.total_weight, greedy.total_weight)} total weight "
            f"(score + preference bonus), {_gap(quality.total_score, greedy.total_score)} score",
            flush=True,
        )
        for objective in ("most_pairs", "quality"):
            run, elapsed, cpu = _click_to_staged(program, objective)
            t = run.timings
            print(
                f"  click-to-staged ({objective}): {elapsed:.2f} s, {cpu:.2f} s CPU here "
                f"(read+score {t['score']:.2f}, solve {t['solve']:.2f} "
                f"[{t.get('solve_cpu', 0):.2f} CPU], stage {t['stage']:.2f}); "
                f"{run.totals['pairs']:,} pairs, average score {run.totals['average_score']}",
                flush=True,
            )
            autopair.autopair_discard(program=program, run_id=run.pk, user=None)
            # Greedy staged the same way costs the same reads and writes: only the solve differs.
        print(
            f"  greedy click-to-staged (same reads and writes): about "
            f"{t['score'] + greedy.seconds + t['stage']:.2f} s",
            flush=True,
        )
    finally:
        organization_drop(org)
        connection.close()


def _plain(problem, objective: str) -> tuple[np.ndarray, float, float]:
    """The baseline: OR-tools' min-cost flow of the same graph, nothing added.

    Source -> mentee (capacity 1), mentee -> mentor (1, minus the pair's
    weight), mentor -> sink (free seats); for "quality" also source -> sink at
    no cost. No node potentials, no tie-break. (chosen edges, wall s, CPU s)
    """
    from ortools.graph.python import min_cost_flow

    started, cpu = time.perf_counter(), time.process_time()
    n, m, e = len(problem.mentees), len(problem.mentors), len(problem.edge_mentee)
    source, sink = 0, n + m + 1
    tails = [np.zeros(n, np.int32), problem.edge_mentee + 1, np.arange(n + 1, n + m + 1)]
    heads = [np.arange(1, n + 1), problem.edge_mentor + n + 1, np.full(m, sink)]
    caps = [np.ones(n + e, np.int64), problem.free]
    costs = [np.zeros(n, np.int64), -problem.weights(), np.zeros(m, np.int64)]
    if objective == "quality":
        for parts, value in ((tails, source), (heads, sink), (caps, n), (costs, 0)):
            parts.append([value])
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails).astype(np.int32),
        np.concatenate(heads).astype(np.int32),
        np.concatenate(caps).astype(np.int64),
        np.concatenate(costs).astype(np.int64),
    )
    flow.set_nodes_supplies(np.array([source, sink], np.int32), np.array([n, -n], np.int64))
    status = flow.solve() if objective == "quality" else flow.solve_max_flow_with_min_cost()
    assert status == flow.OPTIMAL, status
    chosen = np.flatnonzero(flow.flows(np.arange(n, n + e, dtype=np.int32)) > 0)
    return chosen, time.perf_counter() - started, time.process_time() - cpu


def _against_plain(problem, repeat: int) -> dict:
    """Each objective and the plain min-cost flow, solved in turn `repeat` times.

    Prints medians of wall and CPU time, the CPU ratio, and checks that both
    reach the same optimum. Returns each objective's first solution.
    """
    import statistics

    from pairing import autopair

    median = statistics.median
    weight = problem.weights()
    _row("", "solve s", "cpu s", "plain s", "plain cpu s", "cpu ratio", "pairs", "weight")
    best = {}
    for objective in ("most_pairs", "quality"):
        ours, plain = [], []
        for _ in range(repeat):
            ours.append(autopair.solve(problem, objective))
            plain.append(_plain(problem, objective))
        solution, chosen = ours[0], plain[0][0]
        plain_weight = int(weight[chosen].sum())
        assert solution.total_weight == plain_weight, (solution.total_weight, plain_weight)
        if objective == "most_pairs":
            assert solution.pairs == len(chosen), (solution.pairs, len(chosen))
        else:
            assert solution.pairs >= len(chosen), (solution.pairs, len(chosen))
        cpu, plain_cpu = median(r.cpu_seconds for r in ours), median(p[2] for p in plain)
        _row(
            f"optimal ({objective})",
            f"{median(r.seconds for r in ours):.3f}",
            f"{cpu:.3f}",
            f"{median(p[1] for p in plain):.3f}",
            f"{plain_cpu:.3f}",
            f"{cpu / plain_cpu:.2f}x",
            f"{solution.pairs:,}",
            f"{solution.total_weight:,}",
        )
        if solution.pairs != len(chosen):
            print(
                f"    the plain flow found the same weight with {len(chosen):,} pairs", flush=True
            )
        best[objective] = solution
    return best


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pool_process() -> tuple[int, float]:
    """In the pool process: (pid, RSS MB)."""
    return os.getpid(), _rss_mb()


def _run_in_pool_process(program_id: int) -> dict:
    """In the pool process: one auto-pair run, staged, with the process's memory around it."""
    import gc

    from django.db import connection

    from pairing import autopair
    from pairing.models import AutoPairRun

    before = _rss_mb()
    run = AutoPairRun.objects.create(
        program_id=program_id, objective="most_pairs", options={"objective": "most_pairs"}
    )
    started = time.perf_counter()
    autopair.autopair_execute(run_id=run.pk)
    seconds = time.perf_counter() - started
    run.refresh_from_db()
    connection.close()
    gc.collect()
    return {
        "pid": os.getpid(),
        "before": before,
        "peak": _peak_mb(),
        "after": _rss_mb(),
        "seconds": seconds,
        "status": run.status,
        "pairs": (run.totals or {}).get("pairs"),
        "run_id": run.pk,
    }


def _memory(mentees: int, mentors: int, capacity: int) -> None:
    """A run in a pool process as a Celery worker runs it, and what the process keeps."""
    import importlib

    from billiard.pool import Pool
    from django.db import connection

    from pairing import autopair
    from pairing_admin.celery import app
    from programs.management.commands.seed_demo import generate_people
    from tests.bench.people import organization_drop

    # Functions a pool process runs must be importable by name (run.py loads this file
    # under another one).
    here = importlib.import_module("tests.bench.bench_autopair")
    limit = app.conf.worker_max_memory_per_child
    org, program = _program("memory", generate_people(mentees=mentees, mentors=mentors, seed=2027),
                            capacity)  # fmt: skip
    connection.close()  # the pool process opens its own
    pool = Pool(processes=1, max_memory_per_child=limit)
    try:
        run = pool.apply(here._run_in_pool_process, (program.pk,))
        time.sleep(1)  # the pool replaces a process that exited
        pid, fresh = pool.apply(here._pool_process)
    finally:
        pool.close()
        pool.join()
    try:
        assert run["status"] == "staged", run
        print(
            f"\nmemory: one {mentees:,}-mentee run (most pairs, {run['pairs']:,} pairs, "
            f"{run['seconds']:.2f} s) in a pool process, worker_max_memory_per_child "
            f"{limit or 0:,} KiB",
            flush=True,
        )
        print(
            f"  pool process RSS: {run['before']:.0f} MB before, peak {run['peak']:.0f} MB, "
            f"{run['after']:.0f} MB still held after the run",
            flush=True,
        )
        verdict = (
            f"replaced: the next task ran in a fresh process (pid {pid}) holding {fresh:.0f} MB"
            if pid != run["pid"]
            else f"not replaced: the next task ran in the same process, holding {fresh:.0f} MB"
        )
        print(f"  {verdict}", flush=True)
        autopair.autopair_discard(program=program, run_id=run["run_id"], user=None)
    finally:
        organization_drop(org)
        connection.close()


def _gap(optimal: float, greedy: float) -> str:
    if not greedy:
        return "n/a"
    return f"{100.0 * (optimal - greedy) / greedy:+.2f}%"


def _solver_only(label: str, mentees: int, mentors: int, capacity: int, repeat: int) -> None:
    import statistics

    from pairing import autopair
    from pairing.autopair import Options
    from programs.management.commands.seed_demo import generate_people
    from programs.models import Participant, Program
    from tests.bench.people import default_scheme

    people = generate_people(mentees=mentees, mentors=mentors, seed=2027)
    # What problem_for reads back from _program's rows: ids in insertion order, bench
    # emails, answers to the default questions.
    for n, person in enumerate(people, start=1):
        person["id"], person["email"] = n, f"bench{n}@example.org"
    scheme = default_scheme(people)
    mentee_rows = [p for p in people if p["role"] == Participant.Role.MENTEE]
    mentor_rows = [p for p in people if p["role"] == Participant.Role.MENTOR]
    problem = autopair.build_problem(
        mentee_rows,
        mentor_rows,
        [capacity] * len(mentor_rows),
        scheme,
        Options(),
        max_rank=max(Program().max_preferences, 1),
    )
    print(
        f"\n{label}: {len(problem.edge_mentee):,} candidate pairs, solve() {repeat} times each",
        flush=True,
    )
    for objective in ("most_pairs", "quality"):
        runs, plain = [], []
        for _ in range(repeat):
            runs.append(autopair.solve(problem, objective))
            plain.append(_plain(problem, objective))
        for name, wall, cpu, pairs, weight in (
            (objective, [r.seconds for r in runs], [r.cpu_seconds for r in runs],
             runs[0].pairs, runs[0].total_weight),
            ("  plain", [p[1] for p in plain], [p[2] for p in plain],
             len(plain[0][0]), int(problem.weights()[plain[0][0]].sum())),
        ):  # fmt: skip
            print(
                f"  {name:<11} wall median {statistics.median(wall):.3f} s "
                f"({min(wall):.3f}-{max(wall):.3f}), CPU median {statistics.median(cpu):.3f} s "
                f"({min(cpu):.3f}-{max(cpu):.3f}); {pairs:,} pairs, total weight {weight:,}",
                flush=True,
            )
        assert runs[0].total_weight == int(problem.weights()[plain[0][0]].sum())
        assert runs[0].pairs >= len(plain[0][0])
        ratio = statistics.median(r.cpu_seconds for r in runs) / statistics.median(
            p[2] for p in plain
        )
        print(f"  {objective} / plain, CPU medians: {ratio:.2f}x", flush=True)


def main() -> None:
    _setup_django()
    if "--solver-only" in sys.argv:
        repeat = int(os.environ.get("BENCH_AUTOPAIR_REPEAT", "5"))
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        _solver_only("synthetic 10k", 10_000, 2_500, 4, repeat)
        if os.environ.get("BENCH_AUTOPAIR_SIZES") != "small":
            _solver_only("synthetic 50k", 50_000, 12_500, 4, repeat)
        return
    load = os.getloadavg()[0]
    print(
        f"load average {load:.1f} on {os.cpu_count()} cores: wall times include waiting for the CPU"
    )
    small = os.environ.get("BENCH_AUTOPAIR_SIZES") == "small"
    # First, while this process is small: the pool process is forked from it.
    _memory(*((5_000, 1_250, 4) if small else (25_000, 6_250, 4)))
    _instance("seed_demo 200 x 60", 200, 60, None)
    _instance("seed_demo 2,000 x 600", 2_000, 600, None)
    _instance("seed_demo 5,000 x 1,500", 5_000, 1_500, None)
    _instance("synthetic 10k", 10_000, 2_500, 4)
    if not small:
        _instance("synthetic 50k", 50_000, 12_500, 4)


if __name__ == "__main__":
    main()
