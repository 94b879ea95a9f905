"""Benchmark: auto-pair, optimal (min-cost flow) against a greedy baseline, in the same run.

    .venv/bin/python tests/bench/run.py bench_autopair

For each instance it prints:
- solver time, pairs made and total match score of the optimal assignment,
  for both objectives ("most pairs" and "quality");
- click-to-staged time: the run from the admin's click to proposals in the
  database (reading participants, scoring in bulk, building the candidate
  graph, solving, writing proposals and unpaired rows), the task executed
  in-process instead of by a worker;
- the greedy baseline (best pairs first, taken while both sides are free) on
  the same candidate graph: time, pairs, total score, and the optimum's gain
  over it in percent.

Instances: seed_demo's people (200 x 60, 2,000 x 600, 5,000 x 1,500, their
capacities), and synthetic cohorts of seed_demo profiles with every mentor at
capacity 4: 10,000 x 2,500 and 50,000 x 12,500 (50 candidates per mentee).
Participants are written to the benchmark database first (not timed), and
removed afterwards. Set BENCH_AUTOPAIR_SIZES=small to skip the 50,000 run.

Only the solver, on the two synthetic instances built in memory (no database,
same people, scores and candidate graph as above), each objective solved
BENCH_AUTOPAIR_REPEAT times (default 5), median and range of wall and CPU time:

    .venv/bin/python tests/bench/bench_autopair.py --solver-only
"""

import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def _setup_django() -> None:
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairing_admin.settings")
    import django

    django.setup()


def _program(label: str, people: list[dict], capacity: int | None):
    from programs.models import Organization, Participant, Program
    from tests.bench.dbtools import vacuum

    org = Organization.objects.create(name=f"Bench autopair {label}")
    program = Program.objects.create(organization=org, name=f"Bench {label}")
    rows = []
    for n, person in enumerate(people, start=1):
        fields = {k: v for k, v in person.items() if k in _FIELDS}
        fields["email"] = f"bench{n}@example.org"
        if capacity is not None and person["role"] == Participant.Role.MENTOR:
            fields["capacity"] = capacity
        rows.append(Participant(program=program, **fields))
    Participant.objects.bulk_create(rows, batch_size=5000)
    # What autovacuum does after a bulk load (and after earlier benchmarks left
    # dead rows behind): without it the planner believes the freshly loaded
    # program is empty and picks a nested-loop anti-join for "unpaired mentees"
    # that took minutes at 50,000 mentees.
    from django.db import connection

    with connection.cursor() as cursor:
        vacuum(
            cursor,
            ("programs_participant", "pairing_pairing", "pairing_mentorrequest"),
            analyze=True,
        )
    return org, program


_FIELDS = {
    "role", "first_name", "last_name", "department", "location", "title", "skills",
    "interests", "goals", "bio", "manager_email", "capacity",
}  # fmt: skip


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
        _row("", "solve s", "solve cpu s", "pairs", "total score", "avg score")
        greedy = autopair.solve_greedy(problem)
        for objective in ("most_pairs", "quality"):
            best = autopair.solve(problem, objective)
            _row(
                f"optimal ({objective})",
                f"{best.seconds:.3f}",
                f"{best.cpu_seconds:.3f}",
                f"{best.pairs:,}",
                f"{best.total_score:,.1f}",
                f"{best.total_score / max(best.pairs, 1):.1f}",
            )
        _row(
            "greedy (best pair first)",
            f"{greedy.seconds:.3f}",
            f"{greedy.cpu_seconds:.3f}",
            f"{greedy.pairs:,}",
            f"{greedy.total_score:,.1f}",
            f"{greedy.total_score / max(greedy.pairs, 1):.1f}",
        )
        most = autopair.solve(problem, "most_pairs")
        quality = autopair.solve(problem, "quality")
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
        org.delete()
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
    from programs.match_weights import weights_of
    from programs.models import Participant, Program

    people = generate_people(mentees=mentees, mentors=mentors, seed=2027)
    # What problem_for reads back from _program's rows: ids in insertion order, bench emails.
    for n, person in enumerate(people, start=1):
        person["id"], person["email"] = n, f"bench{n}@example.org"
    mentee_rows = [p for p in people if p["role"] == Participant.Role.MENTEE]
    mentor_rows = [p for p in people if p["role"] == Participant.Role.MENTOR]
    problem = autopair.build_problem(
        mentee_rows,
        mentor_rows,
        [capacity] * len(mentor_rows),
        weights_of(Program()),
        Options(),
        max_rank=max(Program().max_preferences, 1),
    )
    print(
        f"\n{label}: {len(problem.edge_mentee):,} candidate pairs, solve() {repeat} times each",
        flush=True,
    )
    for objective in ("most_pairs", "quality"):
        runs = [autopair.solve(problem, objective) for _ in range(repeat)]
        wall = [r.seconds for r in runs]
        cpu = [r.cpu_seconds for r in runs]
        print(
            f"  {objective:<11} wall median {statistics.median(wall):.3f} s "
            f"({min(wall):.3f}-{max(wall):.3f}), CPU median {statistics.median(cpu):.3f} s "
            f"({min(cpu):.3f}-{max(cpu):.3f}); {runs[0].pairs:,} pairs, "
            f"total weight {runs[0].total_weight:,}",
            flush=True,
        )


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
    _instance("seed_demo 200 x 60", 200, 60, None)
    _instance("seed_demo 2,000 x 600", 2_000, 600, None)
    _instance("seed_demo 5,000 x 1,500", 5_000, 1_500, None)
    _instance("synthetic 10k", 10_000, 2_500, 4)
    if not small:
        _instance("synthetic 50k", 50_000, 12_500, 4)


if __name__ == "__main__":
    main()
