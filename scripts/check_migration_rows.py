"""Check that migrating a filled database to this checkout keeps every row.

Checks out OLD_COMMIT (default be1a936, the main before the email models
moved to pairing_admin.mail) in a temporary git worktree, migrates the given
PostgreSQL database with it, fills it through that commit's own code
(seed_demo, invitations, mentor requests, pairings, a decline, a support
request, an edited template, sent emails, a suppression, a provider event),
counts every table's rows, migrates it with this checkout and counts again.
Exits 1 if any table's count changed or a table appeared or vanished.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rows_check \\
        .venv/bin/python scripts/check_migration_rows.py [--old-commit be1a936]

The database is created if missing; use a scratch one (rows are added to it).
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent

# Runs in the old checkout (`manage.py shell -c`), with that commit's modules.
FILL = """
from django.conf import settings
from django.contrib.auth import get_user_model

from invitations import outbox, services as invite
from invitations.models import OutboundEmail, ProviderEvent, Suppression
from invitations.support import support_request_submit
from invitations.templates_service import email_template_save
from invitations.rendering import Template
from pairing import services as pairing
from programs.management.commands.seed_demo import DEMO_ADMIN_USERNAME, PROGRAM_NAME
from programs.models import Participant, Program
from programs.services import pairing_turn_on

settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
user = get_user_model().objects.get(username=DEMO_ADMIN_USERNAME)
program = Program.objects.get(name=PROGRAM_NAME)
pairing_turn_on(program=program, user=user)
invite.invitation_send_all(program=program, user=user, expected=None)
mentees = list(Participant.objects.filter(program=program, role="mentee").order_by("pk")[:12])
mentors = list(Participant.objects.filter(program=program, role="mentor").order_by("pk")[:12])
requests = []
for mentee, mentor in zip(mentees, mentors):
    pairing.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk], note="Hello")
    requests += list(mentee.requests_made.values_list("pk", flat=True))
for request_id in requests[:8]:
    pairing.request_approve(request_id=request_id, user=user)
pairing.request_decline(request_id=requests[8], message="Full this term", user=user)
support_request_submit(program=program, user=user, subject="Rows check", message="Hello")
email_template_save(
    program=program, kind="invitation", user=user,
    template=Template(subject="Pick a mentor, {{ first_name }}", text="{{ preferences_link }}"),
)
Suppression.objects.get_or_create(email=mentees[-1].email, defaults={"reason": "bounced"})
ProviderEvent.objects.get_or_create(
    event_id="rows-check-1", defaults={"event_type": "bounced", "recipient": mentees[-1].email}
)
ids = list(OutboundEmail.objects.filter(status="queued").values_list("pk", flat=True))
for start in range(0, len(ids), 500):
    outbox.outbox_send_batch(ids[start : start + 500])
print("filled:", OutboundEmail.objects.count(), "emails,", len(requests), "requests")
"""


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        ]
        query = sql.SQL("SELECT count(*) FROM {}")
        return {t: conn.execute(query.format(sql.Identifier(t))).fetchone()[0] for t in tables}


def ensure_database(url: str) -> None:
    info = psycopg.conninfo.conninfo_to_dict(url)
    name = info["dbname"]
    with psycopg.connect(psycopg.conninfo.make_conninfo(url, dbname="postgres")) as conn:
        conn.autocommit = True
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def run(command: list[str], **kwargs) -> None:
    subprocess.run(command, check=True, **kwargs)  # noqa: S603 - our own fixed commands


def manage(tree: Path, env: dict, *args: str) -> None:
    run([sys.executable, "manage.py", *args], cwd=tree, env=env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old-commit", default="be1a936")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        parser.error("set DATABASE_URL to a scratch PostgreSQL database")
    ensure_database(url)
    # The old code's emails go nowhere: an in-memory broker, no provider.
    env = {**os.environ, "CELERY_BROKER_URL": "memory://", "EMAIL_PROVIDER": ""}
    env.pop("CACHE_URL", None)
    with tempfile.TemporaryDirectory(prefix="rows-check-") as tmp:
        old = Path(tmp) / "old"
        run(["git", "worktree", "add", "--detach", str(old), args.old_commit], cwd=REPO)
        try:
            manage(old, env, "migrate", "--noinput", "-v", "0")
            manage(
                old, env, "seed_demo", "--mentees", "60", "--mentors", "20", "--allow-without-debug"
            )
            manage(old, env, "shell", "-c", FILL)
        finally:
            run(["git", "worktree", "remove", "--force", str(old)], cwd=REPO)
    before = counts(url)
    manage(REPO, env, "migrate", "--noinput")
    after = counts(url)

    failed = False
    print(f"{'table':45} {'before':>8} {'after':>8}")
    for table in sorted(before.keys() | after.keys()):
        b, a = before.get(table), after.get(table)
        # New migrations are the one expected change.
        same = a == b or (table == "django_migrations" and a is not None and b is not None)
        failed |= not same
        print(f"{table:45} {b if b is not None else '-':>8} {a if a is not None else '-':>8}"
              f"{'' if same else '  <-- CHANGED'}")  # fmt: skip
    print("FAILED: row counts changed" if failed else "OK: every table kept its rows")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
