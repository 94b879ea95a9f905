"""Benchmark: Invite all Mentees for 50,000 mentees (seed_demo) on PostgreSQL.

    .venv/bin/python tests/bench/run.py bench_invite

Seeds the demo program with 50,000 mentees and 12,500 mentors (seed_demo's
own code), turns pairing on, and times `invitation_send_all` from the call to
the commit: the batch, 50,000 invitations, 50,000 personal links and 50,000
rendered outbox rows. Dispatching to the broker happens after the commit and
is timed separately (the broker here is whatever CELERY_BROKER_URL says; with
none configured, tasks run eagerly, so dispatch is skipped). It then removes
what it created, leaving the seeded people for the next run.
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
    from invitations.models import AccessLink, Invitation, InvitationBatch, OutboundEmail

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
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from invitations import outbox, selectors, services
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

    # Dispatch is the outbox's job after commit; measure the request's own work.
    dispatched = []
    real_dispatch = outbox.outbox_dispatch
    services.outbox_dispatch = lambda **kw: dispatched.append(kw)
    try:
        started = time.perf_counter()
        batch = services.invitation_send_all(program=program, user=user, expected=expected)
        committed = time.perf_counter() - started
    finally:
        services.outbox_dispatch = real_dispatch
    assert batch.total == MENTEES
    assert not transaction.get_connection().in_atomic_block

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM invitations_outboundemail WHERE batch_id = %s", [batch.pk]
        )
        rows = cursor.fetchone()[0]
    floor = _insert_floor(connection)
    print(f"Invite all Mentees, {MENTEES:,} mentees ({MENTORS:,} mentors), {vendor}")
    print(f"  seed_demo (create or verify):            {seed_seconds:8.2f} s")
    print(f"  request-to-committed (send_all, commit): {committed:8.3f} s   target <= 1 s")
    print(f"  rows written: {rows:,} emails, {MENTEES:,} invitations and links")
    print(f"  emails per second committed:             {MENTEES / committed:10,.0f}")
    print(
        f"  reference: one bare {MENTEES:,}-row insert (1 kB rows, one unique index) "
        f"on this machine now: {floor:.3f} s"
    )
    _clean(program)
    return 0


if __name__ == "__main__":
    sys.exit(main())
