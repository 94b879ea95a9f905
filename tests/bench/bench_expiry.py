"""Benchmark: the expiry sweep over 1,000,000 mentor requests, 10,000 of them due.

    .venv/bin/python tests/bench/run.py bench_expiry

Rows are generated set-based in SQL (generate_series): 100,000 mentees and
1,000 mentors; 100,000 pending requests (10,000 past their deadline, the rest
later) and 900,000 decided ones; the tables are vacuumed before and after the
load, as autovacuum would. As in production:

- the due requests were made together (the oldest ids), each among others
  made at the same time and decided since (one request in ten is still
  pending), so they are spread over ~1,500 heap pages; their mentees are spread
  over the whole program (their entries lie all over the mentee index), and
  they go to all the mentors;
- the sweep runs long after those rows were written: a CHECKPOINT just before
  it flushes the load's dirty pages (so the sweep does not pay for writing
  them out) and makes each page the sweep changes its first change since a
  checkpoint, which writes the whole page to the WAL (full_page_writes).

Then one `requests_expire_due()` runs and every statement it sends is timed
at the driver (execute start to finish, so "database time" includes the
round trip); with the server on this machine, its CPU time too (steadier
than the wall time when other work shares the machine). Printed separately:

- state change: the one UPDATE that finds the due requests by deadline in
  the pending requests' table and changes them by compare-and-set, with the
  trigger that deletes their pending rows;
- email enqueueing: loading the ended requests with their people, creating
  the mentees' preference links and writing the outbox rows (database time,
  and the Python time around it for rendering 10,000 emails).

Handing the outbox rows to the broker happens after commit and is not part of
the sweep; it is stubbed out here so the script needs no broker.
The script deletes everything it made at the end.
"""

import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
MENTEES = 100_000
MENTORS = 1_000
PENDING = 100_000
DUE = 10_000
TOTAL = 1_000_000
SPREAD = 7_919  # a prime: g -> g * SPREAD mod MENTEES is a permutation
TABLES = (
    "pairing_mentorrequest",
    "pairing_pendingrequest",
    "programs_participant",
    "invitations_accesslink",
    "invitations_outboundemail",
)


def _setup_django() -> None:
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairing_admin.settings")
    import django

    django.setup()


PARTICIPANTS_SQL = """
INSERT INTO programs_participant
  (program_id, role, first_name, last_name, email, department, location, title, bio,
   manager_email, capacity, source, created_at, updated_at, accepting_requests)
SELECT %(program)s, %(role)s, 'First' || g, 'Last' || (g %% 997), %(role)s || g || '@bench.example.org',
       'Department ' || (g %% 20), 'City ' || (g %% 40), '', '', '', %(capacity)s, 'demo',
       now(), now(), true
FROM generate_series(1, %(n)s) AS g
"""

# Requests come in the order they were made, in groups of ten made at the same
# time: the first of group b is still pending, the nine others were decided
# (TOTAL // PENDING = 10). It is due if b < DUE: the due requests were made
# together (the oldest ids), each among nine decided since, as in production,
# so they lie on ~1,500 heap pages, not packed on 143. Group b's pending
# request is from mentee number 1 + b * SPREAD mod MENTEES, a permutation: one
# pending request per mentee, and the due ones all over the mentee index (not
# the first 10,000 mentees by id); it goes to mentor number 1 + b mod MENTORS.
REQUESTS_SQL = """
WITH mentees AS (
  SELECT id, row_number() OVER (ORDER BY id) AS n FROM programs_participant
  WHERE program_id = %(program)s AND role = 'mentee'
), mentors AS (
  SELECT id, row_number() OVER (ORDER BY id) AS n FROM programs_participant
  WHERE program_id = %(program)s AND role = 'mentor'
), requests AS (
  SELECT g, (g - 1) / %(every)s AS b, (g - 1) %% %(every)s = 0 AS pending
  FROM generate_series(1, %(total)s) AS g
)
INSERT INTO pairing_mentorrequest
  (program_id, mentee_id, mentor_id, rank, note, status, decline_message, created_at,
   expires_at, decided_at, decided_by_id, reminder_sent_at)
SELECT %(program)s, me.id, mo.id, 1, 'Bench note ' || r.g,
       CASE WHEN r.pending THEN 'pending'
            ELSE (ARRAY['approved', 'declined', 'expired', 'withdrawn'])[1 + r.g %% 4] END,
       '',
       now() - interval '10 days',
       CASE WHEN r.pending AND r.b < %(due)s THEN now() - (r.b || ' seconds')::interval
            ELSE now() + interval '1 hour' + ((r.g %% 5000) || ' minutes')::interval END,
       CASE WHEN r.pending THEN NULL ELSE now() - interval '1 day' END,
       NULL, NULL
FROM requests r
JOIN mentees me
  ON me.n = 1 + (CASE WHEN r.pending THEN r.b ELSE r.g - 1 END)::bigint * %(spread)s %% %(mentees)s
JOIN mentors mo ON mo.n = 1 + (r.b + (r.g - 1) %% %(every)s) %% %(mentors)s
"""


WAITING_SQL = """
INSERT INTO pairing_pendingrequest (request_id, program_id, mentee_id, mentor_id, expires_at)
SELECT id, program_id, mentee_id, mentor_id, expires_at FROM pairing_mentorrequest
WHERE program_id = %(program)s AND status = 'pending' ORDER BY id
"""


def _generate(program_id: int) -> float:
    from django.db import connection

    from tests.bench.dbtools import vacuum

    started = time.perf_counter()
    with connection.cursor() as cursor:
        # An earlier run's teardown left a million dead rows (autovacuum is off
        # on some of our machines): reclaim them first, as in production.
        vacuum(cursor, TABLES)
        # Generated rows reference rows generated just before: skip the
        # per-row foreign key triggers while loading (superuser only).
        cursor.execute("SET session_replication_role = replica")
        for role, n, capacity in (("mentee", MENTEES, 0), ("mentor", MENTORS, 3)):
            cursor.execute(
                PARTICIPANTS_SQL,
                {"program": program_id, "role": role, "n": n, "capacity": capacity},
            )
        cursor.execute(
            REQUESTS_SQL,
            {
                "program": program_id,
                "every": TOTAL // PENDING,
                "due": DUE,
                "total": TOTAL,
                "mentees": MENTEES,
                "mentors": MENTORS,
                "spread": SPREAD,
            },
        )
        cursor.execute("SET session_replication_role = DEFAULT")
        # In replica mode no trigger fired: write the pending requests' rows
        # as the insert trigger would have.
        cursor.execute(WAITING_SQL, {"program": program_id})
        # What autovacuum does after a bulk load (off on some of our machines),
        # and what it would long have done to requests made days ago.
        vacuum(cursor, TABLES, analyze=True)
    return time.perf_counter() - started


def _checkpoint() -> None:
    """Flush every dirty page: the sweep meets the load as if written long ago."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


class Timer:
    """Times every statement at the driver and files it under a phase.

    When the database server runs on this machine, it also reads the server
    process's CPU time and its time waiting for a CPU (/proc/<pid>/schedstat):
    on a machine shared with other work, the wall time is noisy and the CPU
    time much less so.
    """

    def __init__(self, backend_pid: int) -> None:
        self.by_phase: dict[str, float] = {"state change": 0.0, "email enqueueing": 0.0}
        self.counts: dict[str, int] = {"state change": 0, "email enqueueing": 0}
        self.cpu: dict[str, float] = {"state change": 0.0, "email enqueueing": 0.0}
        self.waited: dict[str, float] = {"state change": 0.0, "email enqueueing": 0.0}
        self._schedstat = Path(f"/proc/{backend_pid}/schedstat")
        self.has_cpu = self._sched() is not None

    def _sched(self) -> tuple[int, int] | None:
        try:
            on_cpu, waiting = self._schedstat.read_text().split()[:2]
        except OSError:
            return None
        return int(on_cpu), int(waiting)

    def __call__(self, execute, sql, params, many, context):
        before = self._sched() if self.has_cpu else None
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            after = self._sched() if before else None
            text = sql.lstrip().upper()
            state = (
                "FOR UPDATE SKIP LOCKED" in text
                or text.startswith('UPDATE "PAIRING_MENTORREQUEST"')
                or text.startswith("UPDATE PAIRING_MENTORREQUEST")
            )
            phase = "state change" if state else "email enqueueing"
            self.by_phase[phase] += elapsed
            self.counts[phase] += 1
            if before and after:
                self.cpu[phase] += (after[0] - before[0]) / 1e9
                self.waited[phase] += (after[1] - before[1]) / 1e9


def _server(timer: Timer, phase: str) -> str:
    if not timer.has_cpu:
        return ""
    return (
        f"; server CPU {timer.cpu[phase] * 1000:.1f} ms, "
        f"waited for a CPU {timer.waited[phase] * 1000:.1f} ms"
    )


def main() -> int:
    _setup_django()
    from django.db import connection
    from django.utils import timezone

    from pairing.models import MentorRequest
    from pairing.services import requests_expire_due
    from pairing_admin.mail import outbox
    from pairing_admin.mail.models import OutboundEmail
    from programs.models import Organization, Program

    if connection.vendor != "postgresql":
        print(f"warning: running on {connection.vendor}; the target figures are for PostgreSQL")
    org = Organization.objects.create(name="bench_expiry organization (temporary)")
    program = Program.objects.create(organization=org, name="bench expiry")
    dispatched = []
    outbox.outbox_dispatch = lambda keys=(), batch_id=None: dispatched.append(len(keys)) or 0
    try:
        generated = _generate(program.pk)
        print(
            f"generated {TOTAL:,} requests ({PENDING:,} pending, {DUE:,} due), "
            f"{MENTEES + MENTORS:,} participants in {generated:.1f} s"
        )
        _checkpoint()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            timer = Timer(cursor.fetchone()[0])
        now = timezone.now()
        started = time.perf_counter()
        with connection.execute_wrapper(timer):
            result = requests_expire_due(now=now)
        wall = time.perf_counter() - started
        expired = MentorRequest.objects.filter(program=program, status="expired", decided_at=now)
        emails = OutboundEmail.objects.filter(program=program, kind="request_expired").count()
        assert result == {"expired": DUE}, result
        assert expired.count() == DUE and emails == DUE, (expired.count(), emails)
        again = requests_expire_due(now=now)
        assert again == {"expired": 0}, again
        state_ms = timer.by_phase["state change"] * 1000
        email_ms = timer.by_phase["email enqueueing"] * 1000
        print(f"expiry sweep, {DUE:,} due of {TOTAL:,}, {connection.vendor}")
        print(
            f"  state change      database {state_ms:8.1f} ms  "
            f"({timer.counts['state change']} statements){_server(timer, 'state change')}"
        )
        print(
            f"  email enqueueing  database {email_ms:8.1f} ms  "
            f"({timer.counts['email enqueueing']} statements), "
            f"Python {wall * 1000 - state_ms - email_ms:8.1f} ms{_server(timer, 'email enqueueing')}"
        )
        print(f"  whole sweep       wall     {wall * 1000:8.1f} ms; a second sweep found nothing")
    finally:
        with connection.cursor() as cursor:
            for table in ("invitations_outboundemail", "invitations_accesslink"):
                cursor.execute(f"DELETE FROM {table} WHERE program_id = %s", [program.pk])
            cursor.execute("DELETE FROM pairing_mentorrequest WHERE program_id = %s", [program.pk])
            cursor.execute("DELETE FROM programs_participant WHERE program_id = %s", [program.pk])
        org.delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
