"""Benchmark: CSV import of 10,000 participants on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pairing_bench \\
        .venv/bin/python tests/bench/bench_import.py

Times parse+validate and apply separately, for a first import (all rows new)
and a re-import (all rows updates), and prints rows/s. The skills, interests
and goals columns answer the program's default questions (open multiple
choices), so apply writes the answers and adds their options too.
BENCH_IMPORT_ROWS sets the size (10,000 by default). Each phase runs twice:
once for time with tracemalloc off (it slows Python down a lot), once under
tracemalloc for the peak memory. The script creates its own organization and
programs and deletes them at the end.
"""

import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "10000"))
BASE_DIR = Path(__file__).resolve().parents[2]


def _setup_django() -> None:
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairing_admin.settings")
    import django

    django.setup()


def make_csv(rows: int, *, revision: int) -> str:
    header = "email,role,first_name,last_name,title,department,location,skills,interests,goals,bio,manager_email,capacity"
    # Skills are asked of mentors, goals of mentees: each row answers its own role's.
    lines = [header]
    for i in range(rows):
        mentor = i % 4 == 0
        lines.append(
            ",".join(
                [
                    f"Person{i}@Example.org",
                    "mentor" if mentor else "mentee",
                    f"First{i}",
                    f"Last{i % 997}",
                    f"Title {revision}-{i % 50}",
                    f"Department {i % 20}",
                    f"City {i % 40}",
                    f'"Python; SQL, skill{i % 30}"' if mentor else "",
                    f"interest{i % 15}|reading",
                    "" if mentor else f"goal{i % 10}",
                    f'"Bio of person {i}, revision {revision}.\nSecond line."',
                    f"manager{i % 100}@example.org",
                    str(1 + i % 5) if mentor else "",
                ]
            )
        )
    return "\n".join(lines) + "\n"


def _measure(fn: Callable[[], object], *, traced: bool) -> tuple[float, float]:
    """(seconds, peak MB); peak is 0 when not traced."""
    if traced:
        tracemalloc.start()
        tracemalloc.reset_peak()
    started = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - started
    peak = 0.0
    if traced:
        peak = tracemalloc.get_traced_memory()[1] / (1024 * 1024)
        tracemalloc.stop()
    return elapsed, peak


def _run(program, *, traced: bool) -> dict[str, tuple[float, float]]:
    from django.db import transaction

    from programs.imports.parse import parse_import
    from programs.imports.services import participants_upsert
    from programs.models import Answer, Participant
    from programs.questions import questions_of

    results: dict[str, tuple[float, float]] = {}
    for label, revision in (("first import", 1), ("re-import", 2)):
        text = make_csv(ROWS, revision=revision)
        parsed = {}

        def parse(text=text, parsed=parsed):
            parsed["value"] = parse_import(
                text,
                default_mentor_capacity=program.default_mentor_capacity,
                questions=questions_of(program),
            )

        results[f"{label}: parse+validate"] = _measure(parse, traced=traced)
        outcome = parsed["value"]
        assert outcome.is_valid, outcome.row_errors[:5] or outcome.file_errors
        counts = {}

        def apply(outcome=outcome, counts=counts):
            with transaction.atomic():
                counts["value"] = participants_upsert(program=program, parsed=outcome)

        results[f"{label}: apply"] = _measure(apply, traced=traced)
        expected = (ROWS, 0) if revision == 1 else (0, ROWS)
        assert counts["value"] == expected, counts
    assert Participant.objects.filter(program=program).count() == ROWS
    assert Participant.objects.filter(program=program, title__startswith="Title 2-").count() == ROWS
    # Mentors: 3 skills + 2 interests; mentees: 2 interests + 1 goal.
    mentors = len(range(0, ROWS, 4))
    assert Answer.objects.filter(program=program).count() == 5 * mentors + 3 * (ROWS - mentors)
    return results


def main() -> int:
    _setup_django()
    from django.db import connection

    from programs.models import Answer, Organization, Program
    from programs.questions import create_defaults

    def program(name: str) -> Program:
        created = Program.objects.create(organization=org, name=name)
        create_defaults(created)  # as programs.services.program_create gives them
        return created

    vendor = connection.vendor
    if vendor != "postgresql":
        print(f"warning: running on {vendor}; the target figures are for PostgreSQL")
    org = Organization.objects.create(name="bench_import organization (temporary)")
    try:
        timed = _run(program("bench timed"), traced=False)
        traced = _run(program("bench traced"), traced=True)
    finally:
        # Answers first: an answer's option is PROTECTed, which stops the cascade.
        Answer.objects.filter(program__organization=org).delete()
        org.delete()  # cascades to its programs and participants
    print(f"CSV import, {ROWS:,} rows, {vendor}")
    print(f"{'phase':32} {'seconds':>8} {'rows/s':>10} {'peak MB':>9}")
    for phase, (seconds, _) in timed.items():
        peak = traced[phase][1]
        print(f"{phase:32} {seconds:8.3f} {ROWS / seconds:10,.0f} {peak:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
