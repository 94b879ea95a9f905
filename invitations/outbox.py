"""The outbox: every email the product sends goes through here.

1. `outbox_add` renders drafts and inserts one row each, inside the caller's
   transaction. The unique idempotency key drops a second row for the same
   cause. After commit (never before) the rows are handed to the broker in
   batches of BATCH_SIZE.
2. `outbox_send_batch` (a worker) claims rows queued -> sending, sends them
   over one connection, and marks each row sent the moment the provider
   accepted it. While it sends, a lease on its rows is renewed every third
   of OUTBOX_LEASE_SECONDS (`_Lease`).
3. `outbox_sweep` (beat) re-dispatches rows the broker never delivered and
   re-queues rows whose lease ran out: their worker died, so they resume
   within a lease and a sweep of the death instead of minutes later.

Delivery is at least once. A worker killed between the provider accepting a
message and our UPDATE marking it sent leaves that one row in "sending"; the
sweeper re-queues it and it is sent again. We resend rather than flag it:
a mentee who never gets their invitation, or a mentor who never sees a
request, costs a program far more than one duplicate email, and every link in
our emails acts at most once, so a duplicate cannot double an action. The
row keeps the story (attempts > 1, last_error says it was re-queued).
"""

import hashlib
import logging
import secrets
import select
import smtplib
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import formataddr, make_msgid

import psycopg
from anymail.exceptions import AnymailError, AnymailInvalidAddress, AnymailRecipientsRefused
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Now
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from psycopg import pq

from invitations.defaults import DEFAULTS
from invitations.mime import OutboxEmail
from invitations.models import EmailTemplate, OutboundEmail, Suppression
from invitations.rendering import Template, render
from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.text import one_line
from programs.models import ActivityEvent, Program
from programs.services import activity_record

log = logging.getLogger(__name__)

BATCH_SIZE = 500
MAX_ATTEMPTS = 8
SWEEP_LIMIT = 20_000
Status = OutboundEmail.Status


@dataclass
class Draft:
    """One email to write to the outbox. `key` names its cause, uniquely."""

    kind: str
    key: str
    to_email: str
    to_name: str = ""
    values: dict[str, str] = field(default_factory=dict)
    reply_to: str = ""


def template_for(program: Program | None, kind: str) -> Template:
    """The program's own version of an email, or our default."""
    if program is not None:
        custom = EmailTemplate.objects.filter(program=program, kind=kind).first()
        if custom is not None:
            return Template(subject=custom.subject, text=custom.body_text, html=custom.body_html)
    return DEFAULTS[kind]


def outbox_add(
    drafts: Sequence[Draft],
    *,
    program: Program | None,
    batch_id: int | None = None,
    templates: dict[str, Template] | None = None,
) -> int:
    """Write drafts to the outbox in the current transaction; send after commit.

    `templates` fixes the template of some kinds (an invitation batch renders
    from the version the admin confirmed); other kinds use the program's own.
    Returns how many drafts were given (rows already present for the same key
    are left alone: the same cause never produces two emails).
    """
    templates = dict(templates or {})
    rows = []
    for draft in drafts:
        if draft.kind not in templates:
            templates[draft.kind] = template_for(program, draft.kind)
        subject, text, body_html = render(draft.kind, templates[draft.kind], draft.values)
        rows.append(
            OutboundEmail(
                program=program,
                kind=draft.kind,
                idempotency_key=draft.key[:200],
                batch_id=batch_id,
                to_email=draft.to_email.strip().lower(),
                to_name=one_line(draft.to_name)[:200],  # a header: never a newline
                reply_to=draft.reply_to,
                subject=subject,
                body_text=text,
                body_html=body_html,
            )
        )
    OutboundEmail.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    keys = [row.idempotency_key for row in rows]
    # robust: a broker that is down must not turn a committed change into an
    # error page; the sweeper delivers those rows once the broker is back.
    transaction.on_commit(lambda: outbox_dispatch(keys=keys), robust=True)
    return len(rows)


def chunked(items: Sequence, size: int) -> Iterable[list]:
    """`items` in lists of at most `size`, in order."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _hand_over(ids: Sequence[int]) -> None:
    """Give rows to the broker, BATCH_SIZE ids per task.

    A broker that is down loses nothing: the rows stay queued and the sweeper
    hands them over again later. One warning says so; the rest is not tried.
    """
    from invitations.tasks import send_outbox_batch

    for chunk in chunked(ids, BATCH_SIZE):
        try:
            send_outbox_batch.delay(chunk)
        except KombuOperationalError as exc:
            log.warning(
                "the task broker is unreachable (%s); %d emails wait for the sweeper", exc, len(ids)
            )
            return


def outbox_dispatch(*, keys: Sequence[str] = (), batch_id: int | None = None) -> int:
    """Hand queued rows to the broker, BATCH_SIZE ids per task."""
    queued = OutboundEmail.objects.filter(status=Status.QUEUED)
    if batch_id is not None:
        ids = list(queued.filter(batch_id=batch_id).order_by("pk").values_list("pk", flat=True))
    else:
        ids = []
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            ids += queued.filter(idempotency_key__in=chunk).values_list("pk", flat=True)
        ids.sort()
    _hand_over(ids)
    return len(ids)


# --- Sending ---------------------------------------------------------------------


@dataclass(slots=True)
class _Claimed:
    """What sending needs of a claimed row (a model instance costs more to build)."""

    pk: int
    to_email: str
    to_name: str
    reply_to: str
    subject: str
    body_text: str
    body_html: str
    attempts: int
    suppressed: bool = False  # the address bounced or complained earlier
    claim: str = ""  # this run's claim token (see `_Lease`)


_CLAIMED_COLUMNS = (
    "id", "to_email", "to_name", "reply_to", "subject", "body_text", "body_html", "attempts",
)  # fmt: skip


class _Transient(Exception):
    """Try again later (SMTP 4xx, a provider hiccup)."""


class _ConnectionLost(_Transient):
    """The connection itself failed: the rest of the batch waits too."""


class _Permanent(Exception):
    """This message can never be delivered (SMTP 5xx, invalid address)."""


def _classify(exc: Exception) -> Exception:
    if isinstance(exc, (AnymailRecipientsRefused, AnymailInvalidAddress)):
        return _Permanent(str(exc))
    if isinstance(exc, AnymailError):
        return _Transient(str(exc))
    if isinstance(exc, ValueError):
        # The message itself cannot be built (BadHeaderError: a newline in a
        # name or subject; an address that cannot be encoded): building it
        # again later gives the same error, so retrying only delays the news.
        return _Permanent(_unbuildable(exc))
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, message = next(iter(exc.recipients.values()))
        text = (
            f"{code} {message.decode(errors='replace') if isinstance(message, bytes) else message}"
        )
        return _Permanent(text) if code >= 500 else _Transient(text)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return _ConnectionLost(str(exc) or "SMTP server disconnected")
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        text = f"{exc.smtp_code} {error.decode(errors='replace') if isinstance(error, bytes) else error}"
        return _Permanent(text) if exc.smtp_code >= 500 else _Transient(text)
    if isinstance(exc, (ConnectionError, socket.timeout, OSError, smtplib.SMTPException)):
        return _ConnectionLost(f"{type(exc).__name__}: {exc}")
    return _Transient(f"{type(exc).__name__}: {exc}")


def _unbuildable(exc: Exception) -> str:
    return f"The email could not be built ({type(exc).__name__}: {exc}); fix the recipient's details and resend"


def _backoff(attempts: int) -> timedelta:
    # Capped well below the broker's visibility timeout (3600 s): a retry
    # waiting as a countdown task is never redelivered while it waits.
    base = settings.OUTBOX_RETRY_BASE_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 1800))


def _message(row: _Claimed, connection) -> EmailMultiAlternatives:
    message = OutboxEmail(
        subject=row.subject,
        body=row.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[formataddr((row.to_name, row.to_email)) if row.to_name else row.to_email],
        reply_to=[row.reply_to] if row.reply_to else None,
        connection=connection,
        headers={"Message-ID": make_msgid(domain="pairing.invalid"), "X-Outbox-Id": str(row.pk)},
    )
    if row.body_html:
        message.attach_alternative(row.body_html, "text/html")
    message.metadata = {"outbox_id": str(row.pk)}  # anymail passes it to the provider
    return message


_TABLE = OutboundEmail._meta.db_table
# Lock the claimable rows (SKIP LOCKED: another worker's rows are left to it),
# move them queued -> sending and return them, each with whether its address is
# suppressed: one statement, one round trip.
_CLAIM_SQL = (
    f"WITH claimable AS (SELECT id FROM {_TABLE} WHERE id = ANY(%s) AND status = %s"  # noqa: S608
    " AND (next_attempt_at IS NULL OR next_attempt_at <= %s) FOR UPDATE SKIP LOCKED)"
    f" UPDATE {_TABLE} AS e SET status = %s, attempts = e.attempts + 1, touched_at = now(),"
    " claim = %s FROM claimable WHERE e.id = claimable.id AND e.status = %s"
    f" RETURNING {', '.join(f'e.{column}' for column in _CLAIMED_COLUMNS)},"
    f" EXISTS (SELECT 1 FROM {Suppression._meta.db_table} s WHERE s.email = e.to_email)"
)


def _claim(ids: Sequence[int], token: str) -> list[_Claimed]:
    now = timezone.now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _CLAIM_SQL,
                [list(ids), Status.QUEUED, now, Status.SENDING, token, Status.QUEUED],
            )
            claimed = [_Claimed(*values, claim=token) for values in cursor.fetchall()]
        claimed.sort(key=lambda row: row.pk)
        return claimed
    with transaction.atomic():
        claimable = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, status=Status.QUEUED)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        )
        pks = list(claimable.values_list("pk", flat=True))
        OutboundEmail.objects.filter(pk__in=pks, status=Status.QUEUED).update(
            status=Status.SENDING, attempts=F("attempts") + 1, touched_at=Now(), claim=token
        )
    rows = OutboundEmail.objects.filter(pk__in=pks).order_by("pk")
    claimed = [_Claimed(*values, claim=token) for values in rows.values_list(*_CLAIMED_COLUMNS)]
    suppressed = set(
        Suppression.objects.filter(email__in={row.to_email for row in claimed}).values_list(
            "email", flat=True
        )
    )
    for row in claimed:
        row.suppressed = row.to_email in suppressed
    return claimed


def _mark(row: _Claimed, status: str, **fields) -> None:
    # Only a row this worker still holds may change: a sweeper that re-queued
    # it (the lease ran out) or a Stop sending wins.
    OutboundEmail.objects.filter(pk=row.pk, status=Status.SENDING, claim=row.claim).update(
        status=status, touched_at=timezone.now(), claim="", **fields
    )


_MARK_SENT_SQL = (
    f"UPDATE {_TABLE} SET status = %s, touched_at = %s, sent_at = %s,"  # noqa: S608
    " provider_message_id = %s, claim = '' WHERE id = %s AND status = %s AND claim = %s"
)
# The same statement with libpq's numbered parameters.
_MARK_SENT_PG = _MARK_SENT_SQL.replace("%s", "${}").format(*range(1, 8)).encode()


class _SentMarks:
    """Marks rows "sent", one commit per email, without waiting on each one.

    The hot path (once per email). Each mark is its own autocommit UPDATE, so
    a worker killed at any moment leaves at most the message in flight
    unmarked. On PostgreSQL the mark is sent without waiting for its answer:
    the next message is built meanwhile, and `settle()` collects the answer
    before that message goes out, so no message is ever sent while the
    previous one's mark is unconfirmed. Elsewhere (SQLite) it is a plain
    UPDATE.

    On PostgreSQL the statement is prepared once per connection (at a batch's
    first mark): parsing and planning it for every email cost the server about
    as much again as executing it. (A pooler between us and PostgreSQL that
    hands each statement to any server connection, like PgBouncer's
    transaction mode before 1.21, would lose it; we run none.)
    """

    def __init__(self, cursor) -> None:
        self.cursor = cursor
        self.pgconn = None
        self.in_flight = False
        self.statement = None  # the prepared statement's name, once checked
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            self.pgconn = connection.connection.pgconn

    def __enter__(self) -> "_SentMarks":
        if self.pgconn is not None:
            # libpq's blocking mode for our own sends; psycopg's mode comes back on exit.
            self.nonblocking, self.pgconn.nonblocking = self.pgconn.nonblocking, 0
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        # On a dropped connection both steps fail again ("setting nonblocking
        # failed"): that must never replace the error that ended the batch.
        try:
            self.settle()
        except DatabaseError:
            if exc_type is None:
                raise
            log.debug("the last sent mark failed too", exc_info=True)
        finally:
            if self.pgconn is not None:
                try:
                    self.pgconn.nonblocking = self.nonblocking
                except psycopg.Error:
                    log.debug("could not restore the connection's mode", exc_info=True)

    def mark(self, row: _Claimed, provider_id: str) -> None:
        now = timezone.now()
        params = [Status.SENT, now, now, provider_id[:200], row.pk, Status.SENDING, row.claim]
        if self.pgconn is None:
            self.cursor.execute(_MARK_SENT_SQL, params)
            return
        self.settle()
        statement = self.statement or self._prepare()
        # Flagged first: an exception landing right after the send (a soft time
        # limit) must not leave a statement in flight that settle() ignores.
        self.in_flight = True
        try:
            self.pgconn.send_query_prepared(statement, [str(value).encode() for value in params])
        except psycopg.Error as exc:
            self.in_flight = False
            raise DatabaseError(f"Could not mark an email sent: {exc}") from exc

    def _prepare(self) -> bytes:
        """Prepare the mark on this connection unless an earlier batch did."""
        # Named after the statement itself, so a changed statement never
        # finds an older one under its name.
        name = b"outbox_mark_sent_" + hashlib.sha256(_MARK_SENT_PG).hexdigest()[:16].encode()
        try:
            known = self.pgconn.exec_params(
                b"SELECT 1 FROM pg_prepared_statements WHERE name = $1", [name]
            )
            if known.status != pq.ExecStatus.TUPLES_OK:
                raise psycopg.OperationalError(known.error_message.decode(errors="replace"))
            if not known.ntuples:
                prepared = self.pgconn.prepare(name, _MARK_SENT_PG)
                if prepared.status != pq.ExecStatus.COMMAND_OK:
                    raise psycopg.ProgrammingError(prepared.error_message.decode(errors="replace"))
        except psycopg.Error as exc:
            raise DatabaseError(f"Could not mark an email sent: {exc}") from exc
        self.statement = name
        return name

    def settle(self) -> None:
        """Wait until the last mark is committed (raise if it failed)."""
        if not self.in_flight:
            return
        failure = None
        try:
            while True:
                while self.pgconn.is_busy():
                    # Wait in select(), which lets other threads run: libpq's own
                    # blocking read keeps the interpreter lock, and the lease's
                    # thread could then never commit a renewal this mark waits for.
                    select.select([self.pgconn.socket], [], [])
                    self.pgconn.consume_input()
                if (result := self.pgconn.get_result()) is None:
                    break
                if result.status != pq.ExecStatus.COMMAND_OK:
                    failure = result.error_message.decode(errors="replace")
        except psycopg.Error as exc:  # the connection itself failed
            failure = str(exc)
        self.in_flight = False
        if failure:
            raise DatabaseError(f"Could not mark an email sent: {failure}")


@contextmanager
def _asynchronous_commits():
    """Don't wait for PostgreSQL to flush each "sent" mark to disk.

    A commit is still atomic and at once visible to every other session (the
    sweeper included), and a killed worker loses nothing it committed. Only
    if PostgreSQL itself crashes may the last fraction of a second of marks
    be lost; those rows go back to "sending" and are resent by the sweeper.
    That is the same resend-rather-than-lose choice as for a dead worker,
    and it makes each mark a round trip instead of a disk flush.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    except BaseException:
        # The connection may be what failed: resetting it would fail again
        # and hide the original error.
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except DatabaseError:
            log.debug("could not reset synchronous_commit", exc_info=True)
        raise
    with connection.cursor() as cursor:
        cursor.execute("RESET synchronous_commit")


class _Lease:
    """A worker's claim on the rows it is sending, renewed while it sends.

    The rows claimed in one run carry the run's random token. While the batch
    runs, a thread of this worker renews them (touched_at) every third of
    OUTBOX_LEASE_SECONDS, on its own database connection, so a message whose
    send blocks for a long time does not lose its rows. The sweeper re-queues
    "sending" rows nobody renewed for a whole lease: their worker died, was
    killed at its time limit, or lost the database. Inside a transaction (a
    test calling this directly) no other connection would see the rows, so
    the sending loop renews them itself between messages instead.

    Leases are written and judged with the database's clock (claim, renewal,
    the sweep, Stop sending), so hosts whose clocks drift apart cannot take a
    live worker's rows. Before each message the loop asks `holds`: the last renewal must be
    recent (two thirds of a lease, else it renews there and then) and must
    still have found the row with this run's token. A row taken from the run
    (Stop sending, or a sweep once the lease ran out) is never sent by it.
    """

    def __init__(self) -> None:
        self.token = secrets.token_hex(16)
        self.seconds = settings.OUTBOX_LEASE_SECONDS
        self.ids: list[int] = []
        self.lost: frozenset[int] = frozenset()
        self.renewed_at = time.monotonic()  # the claim itself starts the lease
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False

    def __enter__(self) -> "_Lease":
        # SQLite (the demo) allows one writer at a time and refuses a reader
        # turning writer at once: there the loop renews between messages.
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            self._thread = threading.Thread(target=self._keep, name="outbox-lease", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.seconds)

    def renew(self) -> None:
        started = time.monotonic()
        with transaction.atomic():
            ours = OutboundEmail.objects.filter(
                pk__in=self.ids, status=Status.SENDING, claim=self.token
            )
            # Locked in id order, as Stop sending and the sweeper lock them.
            held = list(ours.select_for_update().order_by("pk").values_list("pk", flat=True))
            OutboundEmail.objects.filter(pk__in=held).update(touched_at=Now())
        self.lost = frozenset(self.ids).difference(held)
        self.renewed_at = started

    def holds(self, pk: int) -> bool:
        """Whether this run may still send row `pk` (the main thread, between messages)."""
        age = time.monotonic() - self.renewed_at
        if (self._thread is None and age >= self.seconds / 3) or age >= self.seconds * 2 / 3:
            self.renew()
            if time.monotonic() - self.renewed_at >= self.seconds * 2 / 3:
                raise DatabaseError("Could not renew the lease on the emails in time")
        return pk not in self.lost

    def _keep(self) -> None:
        try:
            while not self._stop.wait(self.seconds / 3):
                try:
                    self.renew()
                except Exception:
                    if not self._warned:  # once per batch, not every few seconds
                        log.warning("could not renew the lease on a batch of emails", exc_info=True)
                        self._warned = True
        finally:
            connections.close_all()  # this thread's own connection


def _requeue(rows: Iterable[_Claimed], error: str) -> list[int]:
    retry, give_up = [], []
    for row in rows:
        (give_up if row.attempts >= MAX_ATTEMPTS else retry).append(row)
    now = timezone.now()
    for row in retry:
        _mark(
            row,
            Status.QUEUED,
            last_error=error[:2000],
            next_attempt_at=now + _backoff(row.attempts),
        )
    for row in give_up:
        _mark(
            row, Status.FAILED, last_error=f"Gave up after {row.attempts} attempts: {error}"[:2000]
        )
    return [row.pk for row in retry]


def outbox_send_batch(ids: Sequence[int]) -> dict[str, int]:
    """Send the rows among `ids` that are still queued. Safe to run twice.

    First it adopts up to BATCH_SIZE emails a dead worker held (their lease
    ran out): beat's sweep finds them too, but behind a long queue of batches
    the sweep itself waits its turn, while every batch a live worker starts
    looks first, so those emails wait at most for the next batch to start.
    """
    adopted = _requeue_abandoned(timezone.now(), sending_stale_default(), BATCH_SIZE)
    if adopted:
        log.info("adopting %d emails a stopped worker held", len(adopted))
    lease = _Lease()
    rows = _claim([*adopted, *ids], lease.token)
    counts = {"sent": 0, "failed": 0, "suppressed": 0, "retry": 0}
    if not rows:
        return counts
    lease.ids = [row.pk for row in rows]
    retry_ids: list[int] = []
    mail = get_connection(fail_silently=False)
    remaining = list(rows)
    with (
        lease,
        _asynchronous_commits(),
        connection.cursor() as cursor,
        _SentMarks(cursor) as marks,
    ):
        _send_rows(mail, marks, lease, remaining, counts, retry_ids)
    if retry_ids:
        _schedule_retry(retry_ids)
    return counts


def _send_rows(mail, marks, lease, remaining, counts, retry_ids) -> None:
    try:
        mail.open()
        while remaining:
            row = remaining.pop(0)
            if row.suppressed:
                marks.settle()
                _mark(
                    row,
                    Status.SUPPRESSED,
                    last_error="Address suppressed after a bounce or complaint",
                )
                counts["suppressed"] += 1
                continue
            try:
                message = _message(row, mail)
            except ValueError as exc:  # a header Python's email package refuses
                marks.settle()
                _mark(row, Status.FAILED, last_error=_unbuildable(exc)[:2000])
                counts["failed"] += 1
                continue
            # Built while the previous mark was on its way; now wait for it.
            marks.settle()
            if not lease.holds(row.pk):
                # Stopped by an admin, or re-queued by the sweeper: not ours now.
                log.info("email %s was taken from this batch; not sending it", row.pk)
                continue
            try:
                message.send()
            except SoftTimeLimitExceeded:
                remaining.insert(0, row)
                raise
            except DatabaseError:
                remaining.insert(0, row)
                raise
            except Exception as exc:
                problem = _classify(exc)
                if isinstance(problem, _Permanent):
                    _mark(row, Status.FAILED, last_error=str(problem)[:2000])
                    counts["failed"] += 1
                    continue
                retry_ids += _requeue([row], str(problem))
                counts["retry"] += 1
                if isinstance(problem, _ConnectionLost):
                    retry_ids += _requeue(remaining, f"Not sent: {problem}")
                    counts["retry"] += len(remaining)
                    remaining = []
                continue
            status = getattr(message, "anymail_status", None)
            provider_id = getattr(status, "message_id", None) or message.extra_headers["Message-ID"]
            marks.mark(row, str(provider_id))
            counts["sent"] += 1
    except SoftTimeLimitExceeded:
        marks.settle()
        retry_ids += _requeue(remaining, "Not sent: the batch ran out of time")
        counts["retry"] += len(remaining)
    except DatabaseError:
        raise  # the rows stay in "sending"; the sweeper re-queues them
    except Exception as exc:  # opening the connection failed
        marks.settle()
        problem = _classify(exc)
        retry_ids += _requeue(remaining, f"Not sent: {problem}")
        counts["retry"] += len(remaining)
    finally:
        try:
            mail.close()
        except Exception:  # closing a broken connection may fail again
            log.debug("closing the email connection failed", exc_info=True)


def _schedule_retry(ids: list[int]) -> None:
    from invitations.tasks import send_outbox_batch

    delay = min(
        OutboundEmail.objects.filter(pk__in=ids).values_list("next_attempt_at", flat=True),
        default=None,
    )
    countdown = max((delay - timezone.now()).total_seconds(), 1) if delay else 30
    # Back to the queue this batch came from: a worker serving its own queue
    # retries there, not on the default queue some other worker may serve.
    current = send_outbox_batch.request
    queue = (current.delivery_info or {}).get("routing_key") if current.id else None
    try:
        send_outbox_batch.apply_async(
            (ids,), countdown=countdown, **({"queue": queue} if queue else {})
        )
    except Exception:  # broker down: the sweeper will find these rows
        log.warning("could not schedule the retry of %d emails", len(ids), exc_info=True)


# --- The sweeper -----------------------------------------------------------------


def sending_stale_default() -> timedelta:
    """How long a row may sit in "sending" unrenewed before its worker counts as gone.

    One lease: a live worker renews its rows every third of it (`_Lease`),
    however long its batch or one message takes, so only the rows of a
    worker that died or lost the database grow this old.
    """
    return timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


def abandoned(stale_after: timedelta | None = None) -> Q:
    """Rows a worker claimed and stopped renewing: it died or lost the database.

    Judged by the database's clock, as the lease renewals write it. Never
    handed to the email service by a live worker: the sweep re-queues them,
    the next batch adopts them, Stop sending may stop them.
    """
    stale_after = sending_stale_default() if stale_after is None else stale_after
    return Q(status=Status.SENDING, touched_at__lt=Now() - stale_after)


def _requeue_abandoned(now, stale_after: timedelta, limit: int) -> list[int]:
    """Put back in the queue up to `limit` "sending" rows nobody renewed for `stale_after`."""
    with transaction.atomic():
        ids = list(
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(abandoned(stale_after))
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        OutboundEmail.objects.filter(pk__in=ids, status=Status.SENDING).update(
            status=Status.QUEUED,
            touched_at=now,
            claim="",
            next_attempt_at=None,
            last_error="Re-queued: the worker stopped mid-batch (this one may arrive twice)",
        )
    return ids


def outbox_sweep(
    *, stale_after: timedelta | None = None, sending_stale_after: timedelta | None = None
) -> dict[str, int]:
    """Re-dispatch queued rows nobody picked up; re-queue rows a dead worker held.

    Rows are locked with SKIP LOCKED, so two sweeps at once split the work
    instead of doubling it. `sending_stale_after` (default: one lease) is
    only shortened by tests that killed their worker.
    """
    if stale_after is None:
        stale_after = timedelta(seconds=settings.OUTBOX_STALE_SECONDS)
    if sending_stale_after is None:
        sending_stale_after = sending_stale_default()
    now = timezone.now()
    cutoff = now - stale_after
    with transaction.atomic():
        stuck_sending = _requeue_abandoned(now, sending_stale_after, SWEEP_LIMIT)
        stale_queued = list(
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(status=Status.QUEUED, touched_at__lt=cutoff)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=cutoff))
            .order_by("pk")
            .values_list("pk", flat=True)[:SWEEP_LIMIT]
        )
        OutboundEmail.objects.filter(pk__in=stale_queued).update(touched_at=now)
        ids = sorted(set(stuck_sending) | set(stale_queued))
    _hand_over(ids)
    return {"requeued_sending": len(stuck_sending), "redispatched": len(ids)}


# --- The email log -----------------------------------------------------------------

EMAIL_RESENT = ActivityEvent.Verb.EMAIL_RESENT
LOG_PAGE_SIZE = 50


def outbox_log(
    *, program: Program, status: str = "", kind: str = "", recipient: str = ""
) -> QuerySet[OutboundEmail]:
    """The program's emails, newest first, filtered; `suppressed_address` annotated.

    One query per page whatever its size (the pagination count is another).
    """
    emails = (
        OutboundEmail.objects.filter(program=program)
        .only(
            "id", "kind", "to_email", "to_name", "status", "attempts", "last_error",
            "created_at", "sent_at", "program_id",
        )
        .annotate(
            suppressed_address=Exists(Suppression.objects.filter(email=OuterRef("to_email")))
        )
        .order_by("-created_at", "-id")
    )  # fmt: skip
    if status:
        emails = emails.filter(status=status)
    if kind:
        emails = emails.filter(kind=kind)
    if recipient:
        emails = emails.filter(
            Q(to_email__icontains=recipient.strip()) | Q(to_name__icontains=recipient.strip())
        )
    return emails


def outbox_status_counts(*, program: Program) -> dict[str, int]:
    """How many of the program's emails are in each status (one query)."""
    counts = dict.fromkeys(Status.values, 0)
    rows = (
        OutboundEmail.objects.filter(program=program)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts.update(dict(rows))
    return counts


def outbox_resend(*, program: Program, email_id: int, user) -> OutboundEmail:
    """Send a failed email again: the same row goes back to the queue.

    Re-queueing the row (never copying it) keeps its idempotency key, so two
    admins clicking Resend at once cannot produce two emails: only the first
    conditional update (failed -> queued) wins. Suppressed addresses stay
    suppressed: an admin cannot override a bounce or a complaint from here.
    """
    with transaction.atomic():
        row = OutboundEmail.objects.filter(program=program, pk=email_id).first()
        if row is None:
            raise DomainError("There is no such email in this program's log.")
        if row.status != Status.FAILED:
            raise DomainError(
                f"Only failed emails can be sent again; this one is "
                f"{row.get_status_display().lower()}."
            )
        if Suppression.objects.filter(email=row.to_email).exists():
            raise DomainError(
                f"{row.to_email} bounced or complained earlier, so we no longer send to it."
            )
        who = getattr(user, "get_username", lambda: "an admin")()
        # A deliberate resend starts a fresh set of attempts (the sender may
        # have given up after MAX_ATTEMPTS); last_error keeps what happened.
        history = f"Resent by {who} after {row.attempts} attempt{'s' if row.attempts != 1 else ''}"
        requeued = OutboundEmail.objects.filter(pk=row.pk, status=Status.FAILED).update(
            status=Status.QUEUED,
            attempts=0,
            next_attempt_at=None,
            touched_at=timezone.now(),
            last_error=f"{history}: {row.last_error}"[:2000],
        )
        if not requeued:
            raise DomainError("This email has already been queued again.")
        activity_record(
            program=program,
            actor=user,
            verb=EMAIL_RESENT,
            detail=f"{row.get_kind_display()} to {row.to_email}",
        )
        transaction.on_commit(lambda: _hand_over([row.pk]), robust=True)
    row.refresh_from_db()
    return row
