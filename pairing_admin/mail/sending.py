"""Sending the outbox (`outbox` writes it, `sweep` re-dispatches what is stuck).

`outbox_send_batch` (a worker) claims rows queued -> sending, sends them over
one connection and marks each row sent the moment the provider accepted it,
renewing a lease on its rows while it sends (`_Lease`). Delivery is at least
once: a worker killed between the provider's acceptance and our mark leaves
that row to the sweeper, which sends it again (docs/emails.md says why).
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
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formataddr, make_msgid

import psycopg
from anymail.exceptions import AnymailError, AnymailInvalidAddress, AnymailRecipientsRefused
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from psycopg import pq

from pairing_admin.lib.db import is_postgresql
from pairing_admin.mail.branding import from_address, from_addresses
from pairing_admin.mail.message import OutboxEmail
from pairing_admin.mail.models import OutboundEmail, Suppression
from pairing_admin.mail.sweep import requeue_abandoned, sending_stale_default
from pairing_admin.mail.tasks import send_outbox_batch

log = logging.getLogger(__name__)

BATCH_SIZE = 500  # the most emails one batch adopts from a dead worker
MAX_ATTEMPTS = 8
Status = OutboundEmail.Status


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
    program_id: int | None
    kind: str
    suppressed: bool = False  # the address bounced or complained earlier
    claim: str = ""  # this run's claim token (see `_Lease`)


_CLAIMED_COLUMNS = (
    "id", "to_email", "to_name", "reply_to", "subject", "body_text", "body_html", "attempts",
    "program_id", "kind",
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


def _message(row: _Claimed, connection, senders: dict) -> EmailMultiAlternatives:
    message = OutboxEmail(
        subject=row.subject,
        body=row.body_text,
        # In the program's name (mail.branding); the address stays ours.
        from_email=from_address(senders, row.program_id, row.kind),
        to=[formataddr((row.to_name, row.to_email)) if row.to_name else row.to_email],
        reply_to=[row.reply_to] if row.reply_to else None,
        connection=connection,
        headers={"Message-ID": make_msgid(domain="pairing.invalid"), "X-Outbox-Id": str(row.pk)},
    )
    if row.body_html:
        message.attach_alternative(row.body_html, "text/html")
    message.metadata = {"outbox_id": str(row.pk)}  # anymail passes it to the provider
    message.envelope_to = [row.to_email]  # the SMTP backend need not parse it back (mail.smtp)
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
    if is_postgresql():
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
        if is_postgresql() and not connection.in_atomic_block:
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
    if not is_postgresql() or connection.in_atomic_block:
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
        if is_postgresql() and not connection.in_atomic_block:
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
    adopted = requeue_abandoned(timezone.now(), sending_stale_default(), BATCH_SIZE)
    if adopted:
        log.info("adopting %d emails a stopped worker held", len(adopted))
    lease = _Lease()
    rows = _claim([*adopted, *ids], lease.token)
    counts = {"sent": 0, "failed": 0, "suppressed": 0, "retry": 0}
    if not rows:
        return counts
    lease.ids = [row.pk for row in rows]
    # Each program's From name (mail.branding), one query for the batch, read
    # at sending time: a program renamed meanwhile sends in its new name.
    senders = from_addresses({row.program_id for row in rows})
    retry_ids: list[int] = []
    mail = get_connection(fail_silently=False)
    remaining = list(rows)
    with (
        lease,
        _asynchronous_commits(),
        connection.cursor() as cursor,
        _SentMarks(cursor) as marks,
    ):
        _send_rows(mail, marks, lease, remaining, counts, retry_ids, senders)
    if retry_ids:
        _schedule_retry(retry_ids)
    return counts


def _send_rows(mail, marks, lease, remaining, counts, retry_ids, senders) -> None:
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
                message = _message(row, mail, senders)
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
