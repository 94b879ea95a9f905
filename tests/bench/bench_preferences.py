"""Benchmark: the mentee's preference form with 5,000 mentors.

    .venv/bin/python tests/bench/run.py bench_preferences

Creates 5,000 mentors with varied profiles (skills and interests are answers
to the program's default questions) and one mentee, then GETs the
preference page through Django's test client (the whole request: link
lookup, mentors with room, ranking every mentor, rendering the top 30).
Prints the server time (median and worst of 10 runs after a warm-up) and the
number of queries, which must not grow with the number of mentors.

The page keeps the program's prepared mentors in the process while none of
them changes (pairing.preference_selectors), so the runs above are the
usual case: every mentee of the program opening the form. The first view
after a mentor changes rebuilds them; that case is timed and printed too
(one mentor's title changed before each of 5 runs).
The script deletes what it made at the end.
"""

import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
MENTORS = 5_000
RUNS = 10
SKILLS = [f"skill {i}" for i in range(60)]


def _setup_django() -> None:
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairing_admin.settings")
    import django

    django.setup()


def main() -> int:
    _setup_django()
    from datetime import timedelta

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.utils import timezone

    from pairing_admin.mail.links import Purpose, link_create
    from programs.models import Organization, Participant
    from programs.services import program_create
    from tests.bench.people import organization_drop, participants_create

    org = Organization.objects.create(name="bench_preferences organization (temporary)")
    try:
        # The default questions: skills, interests and goals are answers.
        program = program_create(organization=org, name="bench", pairing_enabled=True)
        participants_create(
            program,
            [
                {
                    "role": "mentor",
                    "first_name": f"Mentor{i}",
                    "last_name": f"Bench{i % 97}",
                    "email": f"mentor{i}@bench.example.org",
                    "department": f"Department {i % 20}",
                    "location": f"City {i % 40}",
                    "title": f"Title {i % 30}",
                    "skills": [SKILLS[(i * 7 + k) % len(SKILLS)] for k in range(i % 6)],
                    "interests": [SKILLS[(i * 3 + k) % len(SKILLS)] for k in range(i % 4)],
                    "bio": "Happy to help with careers, code and confidence. " * 3,
                    "capacity": 1 + i % 3,
                }
                for i in range(MENTORS)
            ],
            batch_size=1000,
        )
        [mentee] = participants_create(
            program,
            [
                {
                    "role": "mentee",
                    "first_name": "Mentee",
                    "email": "mentee@bench.example.org",
                    "department": "Department 3",
                    "location": "City 7",
                    "interests": SKILLS[:3],
                    "goals": SKILLS[10:13],
                }
            ],
        )
        _, raw = link_create(
            purpose=Purpose.PREFERENCES,
            participant=mentee,
            expires_at=timezone.now() + timedelta(days=1),
        )
        url = f"/p/{raw}/"
        with override_settings(ALLOWED_HOSTS=["*"], TOKEN_PAGE_RATE_LIMIT=10_000):
            client = Client()
            assert client.get(url).status_code == 200  # warm-up
            timings, queries = [], []
            for _ in range(RUNS):
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    response = client.get(url)
                    timings.append(time.perf_counter() - started)
                assert response.status_code == 200
                queries.append(len(captured))
            rebuilt = []
            for n in range(5):
                Participant.objects.filter(
                    pk=Participant.objects.filter(program=program, role="mentor")
                    .order_by("pk")
                    .values_list("pk", flat=True)[n]
                ).update(title=f"Changed {n}")
                started = time.perf_counter()
                response = client.get(url)
                rebuilt.append(time.perf_counter() - started)
                assert response.status_code == 200
        assert len(set(queries)) == 1, queries
        print(f"preference form, {MENTORS:,} mentors, {connection.vendor}")
        print(
            f"  server time  median {statistics.median(timings) * 1000:7.1f} ms   "
            f"worst {max(timings) * 1000:7.1f} ms   ({RUNS} runs)"
        )
        print(
            f"  after a mentor changed  median {statistics.median(rebuilt) * 1000:7.1f} ms   "
            f"worst {max(rebuilt) * 1000:7.1f} ms   (5 runs)"
        )
        print(f"  queries      {queries[0]} per request, whatever the number of mentors")
    finally:
        organization_drop(org)
    return 0


if __name__ == "__main__":
    sys.exit(main())
