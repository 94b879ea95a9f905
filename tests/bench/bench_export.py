"""Benchmark: Export of 100,000 active pairings, streamed (rows/s, memory growth).

Run with `.venv/bin/python tests/bench/run.py bench_export` (PostgreSQL scratch db).
Creates its own organization and program and deletes them at the end. The CSV
is consumed exactly as Django would send it (the view's streaming_content);
time is measured with tracemalloc off, memory in a second run under it.
"""

import resource
import time
import tracemalloc

ROWS = 100_000


TABLES = ("programs_participant", "pairing_pairing", "pairing_mentoringsession")


def _setup():
    from django.db import connection
    from django.utils import timezone

    from pairing.models import Pairing
    from programs.models import Organization, Participant, Program
    from tests.bench.dbtools import vacuum

    with connection.cursor() as cursor:
        # An earlier run's teardown left dead rows (autovacuum is off on some of our machines):
        # reclaim them first, so this run's tables are as compact as in production.
        vacuum(cursor, TABLES)
    org = Organization.objects.create(name="Bench export org", timezone="Europe/London")
    program = Program.objects.create(organization=org, name="Bench export")
    mentors = Participant.objects.bulk_create(
        Participant(program=program, role="mentor", first_name=f"Mentor{i}", last_name="Bench",
                    email=f"mentor{i}@bench.example", capacity=50)
        for i in range(ROWS // 40)
    )  # fmt: skip
    mentees = Participant.objects.bulk_create(
        (
            Participant(program=program, role="mentee", first_name=f"Mentee{i}",
                        last_name="=Bench" if i % 100 == 0 else "Bench",
                        email=f"mentee{i}@bench.example")
            for i in range(ROWS)
        ),
        batch_size=5000,
    )  # fmt: skip
    now = timezone.now()
    Pairing.objects.bulk_create(
        (
            Pairing(program=program, mentee=m, mentor=mentors[i % len(mentors)], origin="request",
                    started_at=now)
            for i, m in enumerate(mentees)
        ),
        batch_size=5000,
    )  # fmt: skip
    with connection.cursor() as cursor:
        # What autovacuum does after a bulk load (it is off on some of our machines): fresh
        # statistics and a visibility map for the tables read.
        cursor.execute("ANALYZE")
        vacuum(cursor, TABLES, analyze=True)
    return org, program


def _consume(program) -> tuple[int, int]:
    from django.test import RequestFactory

    from pairing.views.monitor import export_active

    request = RequestFactory().get("/export")
    request.user = _admin(program)
    response = export_active.__wrapped__.__wrapped__(request, program.pk)
    lines = size = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\r\n")
    return lines - 1, size


def _admin(program):
    from django.contrib.auth import get_user_model

    from programs.models import Membership

    user, _ = get_user_model().objects.get_or_create(username="bench-export@bench.example")
    Membership.objects.get_or_create(user=user, organization=program.organization)
    return user


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    started = time.perf_counter()
    org, program = _setup()
    print(f"setup: {ROWS:,} active pairings in {time.perf_counter() - started:.1f} s")
    try:
        _consume(program)  # warm-up (plans, caches)
        rss_before = _rss_mb()
        t0 = time.perf_counter()
        rows, size = _consume(program)
        elapsed = time.perf_counter() - t0
        rss_after = _rss_mb()
        from pairing.export_pg import use_copy

        path = "COPY (PostgreSQL)" if use_copy(program) else "csv module"
        print(f"export: {rows:,} rows, {size / 1e6:.1f} MB in {elapsed:.2f} s "
              f"= {rows / elapsed:,.0f} rows/s (target >= 100,000) via {path}")  # fmt: skip
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        _consume(program)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"peak Python memory growth (tracemalloc): {(peak - base) / 1e6:.1f} MB (target < 50)"
        )
        print(f"RSS: {rss_before:.0f} MB before, {rss_after:.0f} MB after "
              f"(growth {rss_after - rss_before:.1f} MB)")  # fmt: skip
    finally:
        org.delete()


if __name__ == "__main__":
    main()
