"""Benchmark: the Health tab's server time at 10,000 active pairings, and its query count.

Run with `.venv/bin/python tests/bench/run.py bench_health` (PostgreSQL scratch db).
Each pairing has up to four sessions over the last 12 weeks; the view is
rendered in-process (RequestFactory), median of 7 runs after a warm-up.
"""

import statistics
import time
from datetime import timedelta

PAIRINGS = 10_000


TABLES = (
    "programs_participant",
    "pairing_pairing",
    "pairing_mentoringsession",
    "pairing_mentorrequest",
    "invitations_outboundemail",
)


def _setup():
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from pairing.models import MentoringSession, Pairing
    from programs.models import Membership, Organization, Participant, Program
    from tests.bench.dbtools import vacuum

    with connection.cursor() as cursor:
        # An earlier run's teardown left dead rows (autovacuum is off on some of our machines):
        # reclaim them first, so this run's tables are as compact as in production.
        vacuum(cursor, TABLES)
    org = Organization.objects.create(name="Bench health org", timezone="Europe/London")
    program = Program.objects.create(organization=org, name="Bench health")
    user, _ = get_user_model().objects.get_or_create(username="bench-health@bench.example")
    Membership.objects.get_or_create(user=user, organization=org)
    mentors = Participant.objects.bulk_create(
        Participant(program=program, role="mentor", first_name=f"M{i}", email=f"m{i}@h.example",
                    capacity=50)
        for i in range(PAIRINGS // 20)
    )  # fmt: skip
    mentees = Participant.objects.bulk_create(
        (Participant(program=program, role="mentee", first_name=f"E{i}", email=f"e{i}@h.example")
         for i in range(PAIRINGS)),
        batch_size=5000,
    )  # fmt: skip
    now = timezone.now()
    pairings = Pairing.objects.bulk_create(
        (Pairing(program=program, mentee=m, mentor=mentors[i % len(mentors)], origin="request",
                 started_at=now - timedelta(days=i % 120))
         for i, m in enumerate(mentees)),
        batch_size=5000,
    )  # fmt: skip
    today = timezone.localdate()
    MentoringSession.objects.bulk_create(
        (MentoringSession(program=program, pairing=p, date=today - timedelta(days=(i * 7 + k * 13) % 84),
                          minutes=45)
         for i, p in enumerate(pairings) for k in range(i % 5)),
        batch_size=5000,
    )  # fmt: skip
    with connection.cursor() as cursor:
        # What autovacuum does after a bulk load (it is off on some of our machines): fresh
        # statistics and a visibility map for the tables read.
        cursor.execute("ANALYZE")
        vacuum(cursor, TABLES, analyze=True)
    return org, program, user


def main() -> None:
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from pairing.views.tabs import health

    t0 = time.perf_counter()
    org, program, user = _setup()
    print(f"setup: {PAIRINGS:,} active pairings in {time.perf_counter() - t0:.1f} s")
    try:
        view = health.__wrapped__.__wrapped__  # past login_required/admin_view: time the tab itself

        def once():
            request = RequestFactory().get("/health/")
            request.user, request.htmx = user, False
            return view(request, program.pk)

        once()
        times = []
        for _ in range(7):
            start = time.perf_counter()
            response = once()
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
        with CaptureQueriesContext(connection) as queries:
            once()
        print(f"Health tab: median {statistics.median(times):.0f} ms, best {min(times):.0f} ms "
              f"(target <= 150 ms); {len(queries)} queries")  # fmt: skip
    finally:
        org.delete()


if __name__ == "__main__":
    main()
