"""The periodic sweeps (expire and remind pending requests) and closing the requests to
mentors left without a free seat. Safe to run twice or concurrently: docs/concurrency.md.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from pairing.drafts import request_draft
from pairing.email_kinds import EmailKind
from pairing.models import MentorRequest, Pairing, PendingRequest, WaitlistEntry
from pairing.services import sweeps_pg
from pairing.services._common import Status
from pairing.services.forwarding import (
    _after_ending,
    _choose_again_emails,
    _Ended,
    _forwards,
    _mentor_emails,
)
from pairing.waitlist import back_in_line, seats_offer
from pairing_admin.lib.db import is_postgresql
from pairing_admin.mail.outbox import Draft, outbox_add
from programs.models import Participant, Program

# A reminder goes out once the last business day before the deadline has
# begun (the deadline is the end of a day, so 24 hours before it), and never
# to a request younger than REMIND_MIN_AGE: the request email is reminder enough.
REMIND_BEFORE = timedelta(hours=24)
REMIND_MIN_AGE = timedelta(hours=12)
SWEEP_LIMIT = 20_000

# --- The sweeper ---------------------------------------------------------------------


def requests_expire_due(*, now: datetime | None = None, limit: int = SWEEP_LIMIT) -> dict[str, int]:
    """Expire every pending request past its deadline, and write the emails.

    Safe to run twice or concurrently: the UPDATE is compare-and-set (a
    second sweep finds the rows no longer pending and leaves them), and each
    email has its own idempotency key. The emails are outbox rows
    written in the same transaction as the expiry.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = _claim_and_expire(now, limit)
        if not due:
            return {"expired": 0}
        _after_expiry(due, now=now)
    return {"expired": len(due)}


# What the sweep returns of each request it expired: the row's own columns.
_EXPIRED_FIELDS = ("pk", "program_id", "mentee_id", "mentor_id")
_Expired = tuple[int, int, int, int]


def _after_expiry(rows: Sequence[_Expired], *, now: datetime) -> None:
    """The emails for requests this sweep expired (thousands at a time).

    Programs that pass an ended request to the mentee's next choice go
    through `_after_ending` one request at a time (each one may create a new
    request); for the others, the expired emails are written in bulk from the
    rows the sweep returned and their people's names and addresses, read by
    primary key (the requests are not read again: at thousands of ids the
    planner would rather scan the whole requests table).
    """
    programs = Program.objects.select_related("organization").in_bulk({r[1] for r in rows})
    # Seats' offers from the waitlist: their mentees are back in line instead.
    offers = back_in_line([(row[0], Status.EXPIRED) for row in rows], now=now)
    back = {row[2] for row in rows if row[0] in offers}
    forward = [
        pk for pk, program_id, _, _ in rows if _forwards(programs[program_id]) and pk not in offers
    ]
    told = [row for row in rows if not _forwards(programs[row[1]]) and row[0] not in offers]
    people = {
        pk: (first, last, email)
        for pk, first, last, email in Participant.objects.filter(
            pk__in={row[2] for row in told} | {row[3] for row in told}
        )
        .order_by()
        .values_list("pk", "first_name", "last_name", "email")
    }
    new_requests: list[MentorRequest] = []
    expired: dict[int, list[_Ended]] = defaultdict(list)
    for pk, program_id, mentee_id, mentor_id in told:
        first, last, email = people[mentee_id]
        mentor_first, mentor_last, _ = people[mentor_id]
        expired[program_id].append(
            _Ended(
                pk=pk,
                status=Status.EXPIRED,
                decline_message="",
                mentee_id=mentee_id,
                mentee_first_name=first,
                mentee_name=f"{first} {last}".strip(),
                mentee_email=email,
                mentor_name=f"{mentor_first} {mentor_last}".strip(),
            )
        )
    if forward:
        ended = MentorRequest.objects.filter(pk__in=forward).select_related(
            "mentee", "mentor", "program", "program__organization"
        )
        _after_ending(list(ended.order_by("pk")), now=now, new_requests=new_requests)
    for program_id, ended in expired.items():
        _choose_again_emails(programs[program_id], ended, now=now)
    # Each expiry gives its mentor's seat back to the waitlist. The sweep
    # holds no mentor: seats_offer takes those nobody holds.
    mentors: dict[int, set[int]] = defaultdict(set)
    for _, program_id, _, mentor_id in rows:
        mentors[program_id].add(mentor_id)
    for program_id, mentor_ids in mentors.items():
        # Mentees just back in line are offered a seat after this commits, in
        # an event (and an email) of their own.
        seats_offer(
            program=programs[program_id],
            mentor_ids=mentor_ids,
            now=now,
            new_requests=new_requests,
            skip_mentees=back,
        )
    # One email per mentor for the whole sweep: passed on to them, offered to them.
    _mentor_emails(new_requests, event="expiry")


def _claim_and_expire(now: datetime, limit: int) -> list[_Expired]:
    """Expire the due pending requests (up to `limit`); the expired rows, by id.

    The due requests are found in PendingRequest by deadline and changed by
    compare-and-set (still pending, deadline passed); the database's trigger
    then deletes their PendingRequest rows. No index of the requests table
    mentions status, so each change is made in place on its page.

    Concurrent sweeps: the UPDATE locks each row it changes; a second sweep
    that meets a row the first one holds waits for it, then finds it no
    longer pending and leaves it. A person deciding at the same moment is
    the same race, won by whoever locks the row first. The request row is
    always locked before its PendingRequest row (by the trigger), as in
    every other status change, so these never deadlock.
    """
    due = (
        PendingRequest.objects.filter(expires_at__lte=now)
        .order_by("expires_at")
        .values("request_id")[:limit]
    )
    if is_postgresql():
        return sweeps_pg.expire_due(due, now)
    ids = list(due.values_list("request_id", flat=True))
    MentorRequest.objects.filter(pk__in=ids, status=Status.PENDING, expires_at__lte=now).update(
        status=Status.EXPIRED, decided_at=now
    )
    return list(
        MentorRequest.objects.filter(pk__in=ids, status=Status.EXPIRED, decided_at=now)
        .order_by("pk")
        .values_list(*_EXPIRED_FIELDS)
    )


def requests_remind_due(*, now: datetime | None = None, limit: int = SWEEP_LIMIT) -> dict[str, int]:
    """Remind mentors once, when the last business day before a deadline begins."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            MentorRequest.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                pk__in=PendingRequest.objects.filter(
                    expires_at__gt=now, expires_at__lte=now + REMIND_BEFORE
                ).values("request_id"),
                status=Status.PENDING,
                reminder_sent_at__isnull=True,
                created_at__lte=now - REMIND_MIN_AGE,
                program__request_reminders=True,
            )
            .order_by("expires_at")
            .values_list("pk", flat=True)[:limit]
        )
        if not due:
            return {"reminded": 0}
        MentorRequest.objects.filter(pk__in=due, reminder_sent_at__isnull=True).update(
            reminder_sent_at=now
        )
        by_program: dict[int, list[Draft]] = defaultdict(list)
        programs = {}
        for request in MentorRequest.objects.filter(pk__in=due).select_related(
            "mentee", "mentor", "program", "program__organization"
        ):
            programs[request.program_id] = request.program
            by_program[request.program_id].append(
                request_draft(
                    request, kind=EmailKind.REQUEST_REMINDER, key=f"request-reminder:{request.pk}"
                )
            )
        for program_id, drafts in by_program.items():
            outbox_add(drafts, program=programs[program_id])
    return {"reminded": len(due)}


# --- Seats ----------------------------------------------------------------------------


def _full(mentor_ids: Sequence[int]) -> list[int]:
    """Of these people, those no request may wait for: not a mentor (any more), not
    accepting requests ("unavailable for now"), or as many active pairings as seats."""
    rows = list(
        Participant.objects.filter(pk__in=list(mentor_ids)).values_list(
            "pk", "role", "capacity", "accepting_requests"
        )
    )
    active = dict(
        Pairing.objects.filter(mentor_id__in=[r[0] for r in rows])
        .active()
        .order_by()
        .values("mentor_id")
        .annotate(n=Count("pk"))
        .values_list("mentor_id", "n")
    )
    return [
        pk
        for pk, role, capacity, accepting in rows
        if role != Participant.Role.MENTOR or not accepting or active.get(pk, 0) >= capacity
    ]


def requests_close_full(*, mentor_ids: Sequence[int], now: datetime | None = None) -> int:
    """End every pending request to a mentor among these who has no free seat left.

    Called in the transaction that took the last seat (an approval, a pairing
    without approval or by hand, auto-pair confirm, a lower capacity,
    "unavailable for now"), which holds the mentors' rows: no request can be
    made for them meanwhile, so none is left waiting for a seat that is gone.
    Each closed request goes where a decline goes under the program's setting
    (the next choice, or an email to choose again). Returns how many closed.
    """
    now = now or timezone.now()
    full = _full(mentor_ids)
    if not full:
        return 0
    ids = list(
        PendingRequest.objects.filter(mentor_id__in=full).values_list("request_id", flat=True)
    )
    if not ids:
        return 0
    MentorRequest.objects.filter(pk__in=ids, status=Status.PENDING).update(
        status=Status.CLOSED, decided_at=now
    )
    closed = list(
        MentorRequest.objects.filter(pk__in=ids, status=Status.CLOSED, decided_at=now)
        .select_related("mentee", "mentor", "program", "program__organization")
        .order_by("pk")
    )
    _after_ending(closed, now=now)
    return len(closed)


def seats_changed(
    *, program: Program, mentor_ids: Sequence[int], now: datetime | None = None
) -> None:
    """After a mentor's seats changed (capacity, availability, role, a new mentor): close
    the requests of those now full, and offer the free seats of the others to the waitlist.

    Registered on programs.hooks.mentors_changed. The admin's edit and the
    import lock a mentor whose seats they take away (pairing.participant_ties), so
    no request can be made for them meanwhile; seats they add are offered
    under locks taken without waiting.
    """
    now = now or timezone.now()
    # Someone who became a mentor no longer waits for one.
    WaitlistEntry.objects.filter(mentee_id__in=list(mentor_ids)).exclude(
        mentee__role=Participant.Role.MENTEE
    ).delete()
    requests_close_full(mentor_ids=mentor_ids, now=now)
    seats_offer(program=program, mentor_ids=mentor_ids, now=now)
