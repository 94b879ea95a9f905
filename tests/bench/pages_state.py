"""The state of a large program, built through the app's own services, for bench_pages.

50,000 mentees and 12,500 mentors (two seats each) are imported from CSV files
into a program with the default questions, and their skills, interests and
goals written as answers (programs.questions.answers_replace_many); pairing is
turned on and all mentees invited (the worker's preparation run in-process);
6,000 mentees submit their preferences (Approval process: one
pending request each), their mentors approve 1,000 of those; auto-pair, run
as the worker runs it, is confirmed and fills every seat the pending
requests do not hold: 20,000 active pairings in all and 5,000 pending
requests. A tenth of the pairings log a session. Every email the outbox wrote
(about 100,000) is then sent to the locmem backend through the same batches
a worker sends. The participant pages are opened with the links those emails
carry.

Building takes several minutes. The state is kept in the benchmark database
under its own organization and reused by the next run, after run.py's
`migrate` brought it up to date as a production database would be
(BENCH_PAGES_REBUILD=1 builds it again).
"""

import csv
import io
import os
import re
import time
from dataclasses import dataclass
from datetime import timedelta

ORG_NAME = "Bench pages organization"
ADMIN_EMAIL = "bench-pages@bench.example"
ADMIN_PASSWORD = "bench-pages-password-2026"  # a scratch database's user
# BENCH_PAGES_MENTEES builds a smaller program of the same shape (a quick check
# that the benchmark runs; the figures and targets are for 50,000).
MENTEES = int(os.environ.get("BENCH_PAGES_MENTEES", "50000"))
MENTORS = MENTEES // 4
SUBMITS = MENTEES * 6 // 50
APPROVALS = SUBMITS // 6
SESSION_EVERY = 10  # one pairing in ten logs a session
IMPORT_ROWS = 10_000  # per CSV file (the upload limit is 5 MB)

TABLES = (
    "programs_participant",
    "programs_answer",
    "pairing_pairing",
    "pairing_mentorrequest",
    "pairing_pendingrequest",
    "pairing_mentorpreference",
    "pairing_mentoringsession",
    "pairing_autopairproposal",
    "invitations_invitation",
    "invitations_outboundemail",
    "invitations_accesslink",
    "programs_activityevent",
)


@dataclass
class State:
    org_id: int
    program_id: int
    username: str
    password: str


def _say(started: float, what: str) -> None:
    print(f"  [{time.perf_counter() - started:6.1f} s] {what}", flush=True)


def existing() -> State | None:
    """The state an earlier run built, if the database still holds it whole."""
    from django.contrib.auth import get_user_model

    from programs.models import Organization

    org = Organization.objects.filter(name=ORG_NAME).first()
    if org is None:
        return None
    program = org.programs.first()
    user = get_user_model().objects.filter(username=ADMIN_EMAIL).first()
    if program is None or user is None:
        return None
    if program.participants.mentees().count() != MENTEES:
        return None  # built at another size (BENCH_PAGES_MENTEES)
    return State(org.pk, program.pk, ADMIN_EMAIL, ADMIN_PASSWORD)


def drop() -> None:
    from programs.models import Organization
    from tests.bench.people import organization_drop

    for org in Organization.objects.filter(name=ORG_NAME):
        organization_drop(org)


def _email(n: int) -> str:
    return f"p{n}@bench-pages.example"


def _csv_files(people: list[dict]) -> list[bytes]:
    columns = ["email", "role", "first_name", "last_name", "title", "department", "location",
               "manager_email", "capacity"]  # fmt: skip
    files = []
    for start in range(0, len(people), IMPORT_ROWS):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        for n, person in enumerate(people[start : start + IMPORT_ROWS], start=start + 1):
            row = dict(person, email=_email(n), capacity=2)
            if row["role"] != "mentor":
                row["capacity"] = ""
            writer.writerow([row.get(c, "") for c in columns])
        files.append(out.getvalue().encode())
    return files


def _import(program, user, started) -> None:
    """The people's records from CSV files, then their skills, interests and goals: answers
    to the program's default questions, written by the app's bulk service."""
    from programs.imports.services import import_apply, import_create
    from programs.management.commands.seed_demo import generate_people
    from programs.models import Participant
    from tests.bench.people import answers_write

    people = generate_people(mentees=MENTEES, mentors=MENTORS, seed=2026)
    for n, data in enumerate(_csv_files(people), start=1):
        upload = import_create(program=program, user=user, filename=f"cohort-{n}.csv", data=data)
        import_apply(participant_import=upload, user=user)
    _say(started, f"imported {MENTEES:,} mentees and {MENTORS:,} mentors (CSV, 10,000 rows a file)")
    ids = dict(Participant.objects.filter(program=program).values_list("email", "pk"))
    written = answers_write(
        program, [(ids[_email(n)], person) for n, person in enumerate(people, start=1)]
    )
    _say(started, f"{written:,} answers written (skills, interests, goals)")


def _invite(program, user, started) -> None:
    from invitations import selectors
    from invitations.services import invitation_batch_prepare, invitation_send_all

    expected = selectors.mentees_not_invited(program).count()
    batch = invitation_send_all(program=program, user=user, expected=expected)
    invitation_batch_prepare(batch.pk)
    _say(started, f"Invite all Mentees: {expected:,} invitations written")


def _submit(program, started) -> list[int]:
    from pairing.services import preferences_submit
    from programs.models import Participant

    mentees = list(Participant.objects.mentees().filter(program=program).order_by("pk")[:SUBMITS])
    mentors = list(
        Participant.objects.mentors()
        .filter(program=program)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    request_ids = []
    for n, mentee in enumerate(mentees):
        # Spread over the mentors: no mentor gets a second request before all have one.
        choices = [mentors[(n + k * 997) % len(mentors)] for k in range(3)]
        request_ids.append(preferences_submit(mentee=mentee, mentor_ids=choices).request.pk)
    _say(started, f"{SUBMITS:,} mentees submitted preferences (one pending request each)")
    return request_ids


def _approve(request_ids, started) -> None:
    from pairing.services import request_approve

    for request_id in request_ids[:APPROVALS]:
        request_approve(request_id=request_id)
    _say(started, f"{APPROVALS:,} requests approved")


def _autopair(program, user, started) -> None:
    from pairing import autopair
    from pairing.autopair import Options

    run = autopair.autopair_start(program=program, user=user, options=Options())
    autopair.autopair_execute(run_id=run.pk)
    result = autopair.autopair_confirm(program=program, run_id=run.pk, user=user)
    _say(started, f"auto-pair confirmed: {result.created:,} pairings")


def _age(program, started) -> None:
    """Spread the pairings' starts over the last 120 days, as in a program running since
    the summer: the one thing the services cannot do is let time pass."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pairing_pairing SET started_at = started_at - (id %% 120) * interval '1 day' "
            "WHERE program_id = %s",
            [program.pk],
        )
    _say(started, "pairings' start dates spread over 120 days")


def _sessions(program, started) -> None:
    from django.utils import timezone

    from pairing.models import Pairing
    from pairing.services import session_log

    today = timezone.localdate()
    pairings = Pairing.objects.active().filter(program=program).order_by("pk")
    logged = 0
    for n, pairing in enumerate(pairings[::SESSION_EVERY]):
        age = (today - timezone.localdate(pairing.started_at)).days
        session_log(pairing=pairing, on=today - timedelta(days=min(n % 30, age)), minutes=45,
                    participant=pairing.mentee)  # fmt: skip
        logged += 1
    _say(started, f"{logged:,} sessions logged")


def _deliver(program, started) -> int:
    from django.test.utils import override_settings

    from pairing_admin.mail.models import OutboundEmail
    from pairing_admin.mail.sending import outbox_send_batch

    queued = list(
        OutboundEmail.objects.filter(program=program, status="queued")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        from django.core import mail

        for start in range(0, len(queued), 500):
            outbox_send_batch(queued[start : start + 500])
            mail.outbox = []
    _say(started, f"{len(queued):,} emails sent by the outbox's batches (locmem backend)")
    return len(queued)


def build() -> State:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from pairing_admin.celery import app
    from programs.models import Membership, Organization, Program
    from programs.services import pairing_turn_on, program_create
    from tests.bench.dbtools import vacuum

    # Tasks the services hand to the broker after commit go nowhere: this
    # script does the workers' part itself, in-process, where it matters.
    app.conf.broker_url = "memory://"
    started = time.perf_counter()
    drop()
    with connection.cursor() as cursor:
        vacuum(cursor, TABLES)
    org = Organization.objects.create(name=ORG_NAME, timezone="Europe/London")
    program = program_create(
        organization=org, name="Northwind Mentoring",
        pairing_process=Program.Process.USER_LED_APPROVAL,
    )  # fmt: skip
    users = get_user_model().objects
    users.filter(username=ADMIN_EMAIL).delete()
    user = users.create_user(username=ADMIN_EMAIL, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
    Membership.objects.create(user=user, organization=org)
    _import(program, user, started)
    pairing_turn_on(program=program, user=user)
    _invite(program, user, started)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would after the load
    request_ids = _submit(program, started)
    _approve(request_ids, started)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    _autopair(program, user, started)
    _age(program, started)
    _sessions(program, started)
    _deliver(program, started)
    with connection.cursor() as cursor:
        # What autovacuum does to settled data (it is off on some of our machines).
        vacuum(cursor, TABLES, analyze=True)
    _say(started, "vacuumed and analyzed")
    return State(org.pk, program.pk, ADMIN_EMAIL, ADMIN_PASSWORD)


_LINK = re.compile(r"https?://[^\s\"<>]+?(/[psr]/[A-Za-z0-9_\-]+/)")


def _links_in(emails, prefix: str) -> list[str]:
    body = emails.order_by("-pk").values_list("body_text", flat=True).first() or ""
    return [m.group(1) for m in _LINK.finditer(body) if m.group(1).startswith(prefix)]


def emailed_links(program_id: int) -> dict[str, str]:
    """The participant pages as their emails link them: an unpaired mentee's preference
    form, a pending request's Approve and Decline pages, an active pairing's session page."""
    from pairing.models import Pairing, PendingRequest
    from pairing.unpaired import unpaired_mentees
    from pairing_admin.mail.models import OutboundEmail
    from programs.models import Program

    program = Program.objects.get(pk=program_id)
    emails = OutboundEmail.objects.filter(program_id=program_id)
    free = unpaired_mentees(program, waiting=False).order_by("pk").values("email")[:1]
    found = {"preference form": _links_in(emails.filter(kind="invitation", to_email=free), "/p/")}
    waiting = PendingRequest.objects.filter(program_id=program_id).order_by("request_id")
    request_id = waiting.values_list("request_id", flat=True).first()
    approve, decline = _links_in(
        emails.filter(idempotency_key=f"mentor-request:{request_id}"), "/r/"
    )[:2]
    found.update(
        {"request page (Approve link)": [approve], "request page (Decline link)": [decline]}
    )
    pairing = Pairing.objects.active().filter(program_id=program_id).order_by("pk").first()
    assignment = emails.filter(to_email=pairing.mentee.email, body_text__contains="/s/")
    found["session page"] = _links_in(assignment, "/s/")
    return {label: links[0] for label, links in found.items()}
