"""Benchmark: Invite all Mentees for 50,000 mentees (seed_demo) on PostgreSQL.

    .venv/bin/python tests/bench/run.py bench_invite

Seeds the demo program with 50,000 mentees and 12,500 mentors (seed_demo's
own code), turns pairing on, and times `invitation_send_all` from the call to
the commit. At this size the click commits the batch with the 50,000 mentees
it confirmed, and a worker writes the invitations, personal links and
rendered outbox rows, INVITE_WORKER_CHUNK mentees per transaction. The
script then runs that preparation in-process (as the worker would) and
prints when the first chunk's emails were handed to the broker and when all
were written. Handing over is stubbed (recorded, not published), so no
broker is needed. It then removes what it created, leaving the seeded
people for the next run.
"""

import os
import sys
import time
from pathlib import Path

MENTEES = 50_000
SEEDED_TABLES = (
    "programs_participant",
    "invitations_invitation",
    "invitations_accesslink",
    "invitations_outboundemail",
)
MENTORS = 12_500
BASE_DIR = Path(__file__).resolve().parents[2]


def _setup_django() -> None:
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairing_admin.settings")
    import django

    django.setup()


def _seed():
    from django.core.management import call_command

    from programs.management.commands import seed_demo
    from programs.models import Program

    started = time.perf_counter()
    call_command(
        "seed_demo",
        mentees=MENTEES,
        mentors=MENTORS,
        allow_without_debug=True,
        stdout=open(os.devnull, "w"),  # noqa: SIM115 - closed with the process
    )
    program = Program.objects.get(name=seed_demo.PROGRAM_NAME)
    return program, time.perf_counter() - started


def _clean(program) -> None:
    from invitations.models import Invitation, InvitationBatch
    from pairing_admin.mail.models import AccessLink, OutboundEmail

    OutboundEmail.objects.filter(program=program, kind="invitation").delete()
    AccessLink.objects.filter(program=program).delete()
    Invitation.objects.filter(program=program).delete()
    InvitationBatch.objects.filter(program=program).delete()


def _insert_floor(connection) -> float:
    """How long this machine takes for the simplest comparable insert (rolled back).

    The request writes three such tables (plus their indexes and foreign
    keys), so this puts the figure above in context on a busy or slow box.
    """
    from django.db import transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_floor (id bigserial PRIMARY KEY, k varchar(200) UNIQUE,"
            " body text) ON COMMIT DROP"
        )
        started = time.perf_counter()
        cursor.execute(
            "INSERT INTO bench_floor (k, body) SELECT 'invitation:' || g || ':1', "
            "repeat('x', 1000) FROM generate_series(1, %s) AS g",
            [MENTEES],
        )
        return time.perf_counter() - started


def main() -> int:
    _setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from invitations import selectors, services
    from pairing_admin.mail import outbox
    from programs.models import Program
    from tests.bench.dbtools import vacuum

    vendor = connection.vendor
    if vendor != "postgresql":
        print(f"warning: running on {vendor}; the target figure is for PostgreSQL")
    program, seed_seconds = _seed()
    user = get_user_model().objects.get(username__startswith="admin@")
    Program.objects.filter(pk=program.pk).update(pairing_enabled=True)
    program.refresh_from_db()
    _clean(program)
    with connection.cursor() as cursor:
        # What autovacuum does after a big import (it is off on some servers):
        # statistics, so the planner does not believe the freshly seeded
        # tables are empty, and hint bits and the visibility map, so the
        # first statement after seeding does not pay for rewriting every page.
        vacuum(cursor, SEEDED_TABLES, analyze=True)
    expected = selectors.mentees_not_invited(program).count()
    assert expected == MENTEES, expected

    # Handing over to the broker happens after each commit; record it instead.
    handed = []
    real_dispatch, real_later = outbox.outbox_dispatch, services._prepare_later
    services.outbox_dispatch = lambda **kw: handed.append((time.perf_counter(), kw))
    services._prepare_later = lambda pk: handed.append((time.perf_counter(), {"prepare": pk}))
    try:
        started = time.perf_counter()
        batch = services.invitation_send_all(program=program, user=user, expected=expected)
        committed = time.perf_counter() - started
        assert not transaction.get_connection().in_atomic_block
        assert handed == [(handed[0][0], {"prepare": batch.pk})], handed
        handed.clear()
        prepare_started = time.perf_counter()
        result = services.invitation_batch_prepare(batch.pk)
        prepared = time.perf_counter() - prepare_started
    finally:
        services.outbox_dispatch, services._prepare_later = real_dispatch, real_later
    batch.refresh_from_db()
    assert (batch.state, batch.total) == ("ready", MENTEES), (batch.state, batch.total)
    first_handed = handed[0][0] - prepare_started

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM invitations_outboundemail WHERE batch_id = %s", [batch.pk]
        )
        rows = cursor.fetchone()[0]
    floor = _insert_floor(connection)
    print(f"Invite all Mentees, {MENTEES:,} mentees ({MENTORS:,} mentors), {vendor}")
    print(f"  seed_demo (create or verify):            {seed_seconds:8.2f} s")
    print(f"  request-to-committed (send_all, commit): {committed:8.3f} s   target <= 1 s")
    print(
        f"  worker: first {settings.INVITE_WORKER_CHUNK:,} emails handed to the broker after "
        f"{first_handed:.2f} s; all {rows:,} emails, invitations and links written in "
        f"{prepared:.2f} s ({result['chunks']} transactions, {MENTEES / prepared:,.0f} emails/s)"
    )
    print(
        f"  reference: one bare {MENTEES:,}-row insert (1 kB rows, one unique index) "
        f"on this machine now: {floor:.3f} s"
    )
    _clean(program)
    return 0


if __name__ == "__main__":
    sys.exit(main())
