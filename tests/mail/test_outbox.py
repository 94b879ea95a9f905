import threading
from datetime import timedelta
from email.policy import compat32

import psycopg
import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from psycopg import pq

from pairing_admin.mail.models import OutboundEmail, Suppression
from pairing_admin.mail.outbox import Draft, outbox_add
from pairing_admin.mail.sending import MAX_ATTEMPTS, outbox_send_batch
from pairing_admin.mail.sweep import outbox_sweep
from programs.email_kinds import EmailKind
from programs.models import WorkerPing
from programs.services import worker_ping_request
from tests.support.smtp import text_of
from tests.support.wait import wait_until

Status = OutboundEmail.Status


def _support_draft(n: int, email: str | None = None) -> Draft:
    return Draft(
        kind=EmailKind.SUPPORT_REQUEST,
        key=f"test:{n}",
        to_email=email or f"person{n}@example.org",
        to_name=f"Person {n}",
        values={"request_subject": f"Question {n}", "message": f"Body {n}", "admin_name": "Ada"},
    )


@pytest.mark.needs_postgres
@pytest.mark.needs_redis
def test_task_enqueued_on_commit_round_trips_through_a_real_worker(celery_worker):
    ping = worker_ping_request()
    assert wait_until(lambda: WorkerPing.objects.get(pk=ping.pk).completed_at is not None), (
        celery_worker.log()[-3000:]
    )
    assert WorkerPing.objects.get(pk=ping.pk).worker


@pytest.mark.needs_postgres
@pytest.mark.needs_redis
def test_committed_email_is_sent_by_the_worker_over_smtp(celery_worker, smtp_server, program):
    with transaction.atomic():
        outbox_add([_support_draft(1), _support_draft(2)], program=program)
    messages = smtp_server.wait_for(2)
    assert sorted(str(m["To"]) for m in messages) == [
        "Person 1 <person1@example.org>",
        "Person 2 <person2@example.org>",
    ]
    assert "Body 1" in text_of(smtp_server.to("person1@example.org")[0])
    assert wait_until(lambda: OutboundEmail.objects.filter(status=Status.SENT).count() == 2)


def test_rolled_back_transaction_sends_nothing(
    db, program, smtp_server, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        outbox_add([_support_draft(1)], program=program)
        raise RuntimeError("the change failed after asking for an email")
    assert callbacks == []
    assert OutboundEmail.objects.count() == 0
    assert smtp_server.messages == []


def test_same_cause_never_produces_two_emails(
    db, program, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        outbox_add([_support_draft(1)], program=program)
    with django_capture_on_commit_callbacks(execute=True):
        outbox_add([_support_draft(1)], program=program)
    assert OutboundEmail.objects.count() == 1
    assert len(smtp_server.messages) == 1


def test_eager_send_marks_row_sent_with_message_id(
    db, program, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        outbox_add([_support_draft(1)], program=program)
    row = OutboundEmail.objects.get()
    assert row.status == Status.SENT and row.attempts == 1 and row.sent_at
    assert row.provider_message_id == smtp_server.messages[0]["Message-ID"]


def test_permanent_refusal_fails_that_row_and_sends_the_rest(db, program, smtp_server):
    smtp_server.refuse["person2@example.org"] = "550 5.1.1 No such user here"
    outbox_add([_support_draft(n) for n in (1, 2, 3)], program=program)
    counts = outbox_send_batch(list(OutboundEmail.objects.values_list("pk", flat=True)))
    assert counts["sent"] == 2 and counts["failed"] == 1
    failed = OutboundEmail.objects.get(to_email="person2@example.org")
    assert failed.status == Status.FAILED
    assert "550" in failed.last_error and "No such user" in failed.last_error
    assert {str(m["To"]) for m in smtp_server.messages} == {
        "Person 1 <person1@example.org>",
        "Person 3 <person3@example.org>",
    }


def test_temporary_refusal_is_retried_later_and_then_delivered(db, program, smtp_server):
    smtp_server.refuse["person1@example.org"] = "451 4.3.0 Mailbox busy, try later"
    outbox_add([_support_draft(1)], program=program)
    row = OutboundEmail.objects.get()
    outbox_send_batch([row.pk])
    row.refresh_from_db()
    assert row.status == Status.QUEUED
    assert "451" in row.last_error
    assert row.next_attempt_at > timezone.now()
    # Not due yet: a redelivered task leaves it alone.
    assert outbox_send_batch([row.pk])["sent"] == 0
    del smtp_server.refuse["person1@example.org"]
    OutboundEmail.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert outbox_send_batch([row.pk])["sent"] == 1
    row.refresh_from_db()
    assert row.status == Status.SENT and row.attempts == 2
    assert len(smtp_server.messages) == 1


def test_temporary_refusals_give_up_after_max_attempts(db, program, smtp_server):
    smtp_server.refuse["person1@example.org"] = "451 4.3.0 try later"
    outbox_add([_support_draft(1)], program=program)
    row = OutboundEmail.objects.get()
    OutboundEmail.objects.filter(pk=row.pk).update(attempts=MAX_ATTEMPTS - 1)
    outbox_send_batch([row.pk])
    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert f"Gave up after {MAX_ATTEMPTS} attempts" in row.last_error


def test_unreachable_server_requeues_the_whole_batch(db, program, settings):
    from tests.support.smtp import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    outbox_add([_support_draft(1), _support_draft(2)], program=program)
    counts = outbox_send_batch(list(OutboundEmail.objects.values_list("pk", flat=True)))
    assert counts == {"sent": 0, "failed": 0, "suppressed": 0, "retry": 2}
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {Status.QUEUED}


def test_suppressed_address_is_not_sent(db, program, smtp_server):
    Suppression.objects.create(email="person1@example.org", reason="bounced")
    outbox_add([_support_draft(1), _support_draft(2)], program=program)
    outbox_send_batch(list(OutboundEmail.objects.values_list("pk", flat=True)))
    assert OutboundEmail.objects.get(to_email="person1@example.org").status == Status.SUPPRESSED
    assert [str(m["To"]) for m in smtp_server.messages] == ["Person 2 <person2@example.org>"]


def test_sending_twice_sends_once(db, program, smtp_server):
    outbox_add([_support_draft(1)], program=program)
    ids = list(OutboundEmail.objects.values_list("pk", flat=True))
    outbox_send_batch(ids)
    outbox_send_batch(ids)
    assert len(smtp_server.messages) == 1


def test_subject_values_cannot_inject_headers(db, program, smtp_server):
    draft = _support_draft(1)
    draft.values["request_subject"] = "Hello\r\nBcc: victim@example.org"
    outbox_add([draft], program=program)
    outbox_send_batch(list(OutboundEmail.objects.values_list("pk", flat=True)))
    message = smtp_server.messages[0]
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"]


def test_a_name_with_a_newline_is_sent_on_one_line(db, program, smtp_server):
    draft = _support_draft(1)
    draft.to_name = "Ann\nBcc: victim@example.org"
    outbox_add([draft], program=program)
    assert outbox_send_batch(list(OutboundEmail.objects.values_list("pk", flat=True)))["sent"] == 1
    assert OutboundEmail.objects.get().to_name == "Ann Bcc: victim@example.org"
    assert smtp_server.messages[0]["Bcc"] is None


@pytest.mark.parametrize(
    "fields",
    [
        {"to_name": "Ann\nBcc: victim@example.org"},  # written before names were one line
        {"subject": "Hi\r\nBcc: victim@example.org"},
    ],
    ids=["name", "subject"],
)
def test_a_message_that_cannot_be_built_fails_at_once_with_the_reason(
    db, program, smtp_server, fields
):
    outbox_add([_support_draft(1), _support_draft(2)], program=program)
    bad = OutboundEmail.objects.get(to_email="person1@example.org")
    OutboundEmail.objects.filter(pk=bad.pk).update(**fields)
    counts = outbox_send_batch(list(OutboundEmail.objects.values_list("pk", flat=True)))
    assert counts == {"sent": 1, "failed": 1, "suppressed": 0, "retry": 0}
    bad.refresh_from_db()
    assert (bad.status, bad.attempts, bad.next_attempt_at) == (Status.FAILED, 1, None)
    assert "could not be built" in bad.last_error and "newline" in bad.last_error
    assert [str(m["To"]) for m in smtp_server.messages] == ["Person 2 <person2@example.org>"]


def test_sweeper_redispatches_stale_queued_and_requeues_stuck_sending(db, program, smtp_server):
    outbox_add([_support_draft(n) for n in (1, 2, 3)], program=program)
    old = timezone.now() - timedelta(hours=1)
    rows = list(OutboundEmail.objects.order_by("pk"))
    OutboundEmail.objects.filter(pk=rows[0].pk).update(touched_at=old)
    OutboundEmail.objects.filter(pk=rows[1].pk).update(
        status=Status.SENDING, attempts=1, touched_at=old
    )
    # rows[2] is fresh: its own task is presumably still on the way.
    result = outbox_sweep()  # tasks run inline here: the sweep sends at once
    assert result == {"requeued_sending": 1, "redispatched": 2}
    statuses = dict(OutboundEmail.objects.values_list("pk", "status"))
    assert statuses[rows[0].pk] == Status.SENT
    assert statuses[rows[1].pk] == Status.SENT
    assert statuses[rows[2].pk] == Status.QUEUED
    assert "may arrive twice" in OutboundEmail.objects.get(pk=rows[1].pk).last_error


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweepers_at_once_split_the_work(program, smtp_server, settings):
    OutboundEmail.objects.bulk_create(
        OutboundEmail(
            program=program, kind=EmailKind.SUPPORT_REQUEST, idempotency_key=f"k{n}",
            to_email=f"p{n}@example.org", subject="s", body_text="b",
        )
        for n in range(40)
    )  # fmt: skip
    OutboundEmail.objects.update(touched_at=timezone.now() - timedelta(hours=1))
    results, barrier = [], threading.Barrier(2)

    def sweep():
        barrier.wait()
        try:
            results.append(outbox_sweep())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["redispatched"] for r in results) == 40
    assert len(smtp_server.messages) == 40
    assert len({m["X-Outbox-Id"] for m in smtp_server.messages}) == 40


def test_retry_wait_follows_the_configured_base(db, program, smtp_server, settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 2
    smtp_server.refuse["person1@example.org"] = "451 4.3.0 try later"
    outbox_add([_support_draft(1)], program=program)
    row = OutboundEmail.objects.get()
    before = timezone.now()
    outbox_send_batch([row.pk])
    row.refresh_from_db()
    assert timedelta(seconds=1) < row.next_attempt_at - before < timedelta(seconds=10)


def test_sweeper_takes_sending_rows_only_once_their_lease_ran_out(
    db, program, smtp_server, settings
):
    settings.OUTBOX_LEASE_SECONDS = 30
    outbox_add([_support_draft(1), _support_draft(2)], program=program)
    first, second = OutboundEmail.objects.order_by("pk")
    now = timezone.now()
    # Renewed 20 s ago: its worker is alive (it renews every 10 s).
    OutboundEmail.objects.filter(pk=first.pk).update(
        status=Status.SENDING, attempts=1, claim="a" * 32, touched_at=now - timedelta(seconds=20)
    )
    # Not renewed for 31 s: its worker is gone.
    OutboundEmail.objects.filter(pk=second.pk).update(
        status=Status.SENDING, attempts=1, claim="b" * 32, touched_at=now - timedelta(seconds=31)
    )
    assert outbox_sweep()["requeued_sending"] == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.claim) == (Status.SENDING, "a" * 32)
    assert second.status == Status.SENT  # re-queued, then sent (tasks run inline here)
    assert second.claim == ""
    assert len(smtp_server.messages) == 1


def _postmark_answers(monkeypatch, settings, status_code: int, answer: dict) -> None:
    import json

    import requests

    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "test-server-token"}

    def fake_request(self, method, url, **kwargs):
        response = requests.Response()
        response.status_code, response.url = status_code, url
        response._content = json.dumps(answer).encode()
        return response

    monkeypatch.setattr(requests.Session, "request", fake_request)


def test_provider_refusing_the_recipient_fails_the_row(db, program, settings, monkeypatch):
    answer = {"ErrorCode": 300, "Message": "Invalid 'To' address: 'person1@example.org'."}
    _postmark_answers(monkeypatch, settings, 422, answer)
    outbox_add([_support_draft(1)], program=program)
    outbox_send_batch(list(OutboundEmail.objects.values_list("pk", flat=True)))
    row = OutboundEmail.objects.get()
    assert row.status == Status.FAILED and "rejected or invalid" in row.last_error


def test_provider_api_error_is_retried_later(db, program, settings, monkeypatch):
    _postmark_answers(monkeypatch, settings, 500, {"ErrorCode": 0, "Message": "Internal"})
    outbox_add([_support_draft(1)], program=program)
    outbox_send_batch(list(OutboundEmail.objects.values_list("pk", flat=True)))
    row = OutboundEmail.objects.get()
    assert row.status == Status.QUEUED and row.next_attempt_at > timezone.now()
    assert "500" in row.last_error


def _queued_rows(program, n: int) -> None:
    # Written directly: outbox_add outside a transaction would send at once.
    OutboundEmail.objects.bulk_create(
        OutboundEmail(
            program=program, kind=EmailKind.SUPPORT_REQUEST, idempotency_key=f"q{i}",
            to_email=f"q{i}@example.org", subject="s", body_text="b",
        )
        for i in range(n)
    )  # fmt: skip


class _MarkCheckingBackend(BaseEmailBackend):
    """Records, as each message goes out, whether the worker's database session
    still has a statement in flight, and how many rows another session sees sent."""

    seen: list[tuple[str, int]] = []

    def send_messages(self, messages):
        state = pq.TransactionStatus(connection.connection.pgconn.transaction_status).name
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            sent = other.execute(
                "SELECT count(*) FROM invitations_outboundemail WHERE status = 'sent'"
            ).fetchone()[0]
        self.seen.append((state, sent))
        return len(messages)


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_each_message_waits_for_the_previous_sent_mark_to_commit(program, settings):
    # The duplicate bound after a SIGKILL rests on this: when a message goes
    # out, the previous one's mark is answered (nothing in flight) and committed.
    settings.EMAIL_BACKEND = f"{__name__}._MarkCheckingBackend"
    _MarkCheckingBackend.seen = []
    _queued_rows(program, 12)
    pgconn = connection.connection.pgconn
    mode = pgconn.nonblocking
    counts = outbox_send_batch(list(OutboundEmail.objects.values_list("pk", flat=True)))
    assert counts["sent"] == 12
    assert _MarkCheckingBackend.seen == [("IDLE", n) for n in range(12)]
    assert OutboundEmail.objects.filter(status=Status.SENT).count() == 12
    assert pgconn.nonblocking == mode  # psycopg's own mode is back
    assert OutboundEmail.objects.exclude(provider_message_id="").count() == 12


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_failed_mark_stops_the_batch_and_leaves_the_row_for_the_sweeper(
    program, smtp_server, monkeypatch
):
    from pairing_admin.mail import sending

    _queued_rows(program, 3)
    ids = list(OutboundEmail.objects.order_by("pk").values_list("pk", flat=True))
    monkeypatch.setattr(sending, "_MARK_SENT_PG", b"UPDATE no_such_table SET x = $1")
    with pytest.raises(DatabaseError, match="Could not mark an email sent"):
        outbox_send_batch(ids)
    # The first message went out; its mark failed, so nothing else was sent.
    assert len(smtp_server.messages) == 1
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {Status.SENDING}
    assert OutboundEmail.objects.count() == 3  # the connection still works


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_sent_mark_is_prepared_once_per_connection(program, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    def prepared():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'outbox_mark_sent_%%'"
            )
            return cursor.fetchone()[0]

    _queued_rows(program, 9)
    ids = list(OutboundEmail.objects.order_by("pk").values_list("pk", flat=True))
    assert outbox_send_batch(ids[:3])["sent"] == 3
    assert prepared() == 1
    assert outbox_send_batch(ids[3:6])["sent"] == 3  # the same connection: found, not re-prepared
    assert prepared() == 1
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what a connection pooler's reset does
    assert outbox_send_batch(ids[6:])["sent"] == 3
    assert prepared() == 1
    assert OutboundEmail.objects.filter(status=Status.SENT).count() == 9


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_claim_skips_rows_another_session_holds_and_sends_in_id_order(program, smtp_server):
    _queued_rows(program, 6)
    ids = list(OutboundEmail.objects.order_by("pk").values_list("pk", flat=True))
    for pk in reversed(ids):  # each new row version lands after the last: stored in reverse
        OutboundEmail.objects.filter(pk=pk).update(subject="s")
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '5s'")  # waiting for the lock fails the test
        # Rows read in storage order, not the primary key's: the order sent
        # must not depend on the plan.
        cursor.execute("SET enable_indexscan = off; SET enable_bitmapscan = off")
    try:
        with psycopg.connect(**connection.get_connection_params()) as other:
            other.execute(
                "SELECT 1 FROM invitations_outboundemail WHERE id = %s FOR UPDATE", [ids[2]]
            )
            counts = outbox_send_batch(list(reversed(ids)))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout; RESET enable_indexscan; RESET enable_bitmapscan")
    assert counts["sent"] == 5
    assert [int(m["X-Outbox-Id"]) for m in smtp_server.messages] == ids[:2] + ids[3:]
    held = OutboundEmail.objects.get(pk=ids[2])
    assert held.status == Status.QUEUED and held.attempts == 0
    assert set(OutboundEmail.objects.exclude(pk=ids[2]).values_list("attempts", flat=True)) == {1}


def test_multipart_boundaries_are_random_per_message_and_parts_survive(db, program, smtp_server):
    outbox_add([_support_draft(n) for n in (1, 2)], program=program)
    outbox_send_batch(list(OutboundEmail.objects.values_list("pk", flat=True)))
    boundaries = []
    for message in smtp_server.wait_for(2):
        boundary = message.get_boundary()
        assert boundary.startswith("=_outbox_") and len(boundary) == len("=_outbox_") + 32
        boundaries.append(boundary)
        types = [part.get_content_type() for part in message.walk()]
        assert types == ["multipart/alternative", "text/plain", "text/html"]
        assert "Body" in text_of(message)
        html = message.get_body(preferencelist=("html",)).get_content()
        assert "<p>" in html and "Body" in html
    assert boundaries[0] != boundaries[1]


_LONG_LINE = "x" * 999  # over RFC 5322's 998: Django encodes the body quoted-printable


@pytest.mark.parametrize(
    ("subject", "to"),
    [
        ("Submit Your Mentor Preferences", "Ada Lovelace <ada@example.org>"),
        ("Two  spaces, a\ttab and a trailing space ", "ada@example.org"),
        ("A subject long enough to need folding " * 3, "Zoë Ångström <zoe@example.org>"),
        ("Ünïcode subject =?utf-8?q?not-encoded?=", '"Quoted, Name" <q@example.org>'),
        ("", "x@example.org"),
    ],
)
def test_outbox_message_bytes_equal_djangos_own(subject, to):
    from django.core.mail import EmailMultiAlternatives

    from pairing_admin.mail.message import OutboxEmail

    headers = {"Message-ID": "<fixed@pairing.invalid>", "Date": "Sat, 28 Nov 2026 10:00:00 -0000"}
    written = []
    for cls in (OutboxEmail, EmailMultiAlternatives):
        message = cls(subject=subject, body="Hello\n\nLine", to=[to], headers=headers)
        message.attach_alternative("<p>Hello</p>", "text/html")
        mime = message.message()
        if cls is OutboxEmail:
            boundary = mime.get_boundary()
        else:
            mime.set_boundary(boundary)
        written.append(mime.as_bytes(linesep="\r\n"))
    assert written[0] == written[1]


def _mime_state(part):
    """Everything a MIME object holds, parts included (the policy aside)."""
    state = dict(vars(part))
    state.pop("policy")
    if isinstance(state["_payload"], list):
        state["_payload"] = [_mime_state(sub) for sub in state["_payload"]]
    return type(part), state


@pytest.mark.parametrize(
    ("fields", "built_directly"),
    [
        ({}, True),
        ({"html": None}, True),  # text only: no multipart
        ({"body": "Grüße, Zoë 🎉\n", "html": "<p>Grüße</p>"}, True),  # 8bit parts
        ({"body": "CRLF\r\nlines\r\n", "html": ""}, True),
        ({"reply_to": ["Help <help@example.org>"], "cc": ["c@example.org", "d@example.org"]}, True),
        ({"to": ["Zoë Ångström <zoe@example.org>", "b@example.org"]}, True),
        ({"subject": "Ünïcode and a subject long enough to need folding " * 2}, True),
        ({"headers": {"X-Outbox-Id": "7"}}, True),  # Django's own Date and Message-ID
        ({"headers": {"Message-ID": "<m@x>", "X-Note": "Ünïcode value"}}, True),
        # Left to Django: quoted-printable bodies, a line split only by a
        # separator bytes do not split at, an empty body, headers Django sets itself.
        ({"body": _LONG_LINE}, False),
        ({"html": "<p>" + _LONG_LINE}, False),
        ({"body": "a" * 600 + "\u2028" + "b" * 600}, False),
        ({"body": ""}, False),
        ({"headers": {"Reply-To": "r@example.org"}}, False),
        ({"headers": {"From": "Someone <s@example.org>"}}, False),
    ],
)
def test_outbox_message_is_the_message_django_builds(fields, built_directly, monkeypatch):
    from django.core.mail import EmailMultiAlternatives
    from django.core.mail import message as django_message

    from pairing_admin.mail import message as mime_module

    # What Django draws at random or from the clock, fixed for both.
    for module in (mime_module, django_message):
        monkeypatch.setattr(module, "formatdate", lambda localtime=False: "Sat, 28 Nov 2026")
        monkeypatch.setattr(module, "make_msgid", lambda domain=None: f"<fixed@{domain}>")
    fields = {
        "subject": "Submit Your Mentor Preferences",
        "body": "Hello\n\nLine",
        "html": "<p>Hello</p>",
        "to": ["Ada Lovelace <ada@example.org>"],
        "headers": {"Message-ID": "<id@pairing.invalid>", "X-Outbox-Id": "7"},
        **fields,
    }
    html = fields.pop("html")
    built = []
    for cls in (mime_module.OutboxEmail, EmailMultiAlternatives):
        message = cls(**fields)
        if html is not None:
            message.attach_alternative(html, "text/html")
        if cls is mime_module.OutboxEmail:
            assert (message._build() is not None) == built_directly
        mime = message.message()
        if mime.is_multipart():
            if cls is mime_module.OutboxEmail:
                boundary = mime.get_boundary()
            else:
                mime.set_boundary(boundary)
        built.append(mime)
    ours, djangos = built
    assert _mime_state(ours) == _mime_state(djangos)
    assert ours.policy is mime_module.HEADER_POLICY
    written = ours.as_bytes(linesep="\r\n")
    djangos.policy = mime_module.HEADER_POLICY
    assert written == djangos.as_bytes(linesep="\r\n")
    djangos.policy = compat32
    assert written == djangos.as_bytes(linesep="\r\n")


def test_outbox_message_checks_headers_like_django():
    from django.core.mail import BadHeaderError

    from pairing_admin.mail.message import OutboxEmail

    message = OutboxEmail(subject="Hi\nBcc: victim@example.org", body="b", to=["a@example.org"])
    with pytest.raises(BadHeaderError):
        message.message()
    message = OutboxEmail(subject="Hi", body="b", to=["a@example.org\nBcc: v@example.org"])
    with pytest.raises(BadHeaderError):
        message.message()


def test_locmem_copy_is_equal_and_independent(settings):
    from email.mime.text import MIMEText

    from django.core import mail

    from pairing_admin.mail.message import OutboxEmail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    attachment = MIMEText("note")
    message = OutboxEmail(
        subject="Hi", body="Body", to=["a@example.org"], reply_to=["r@example.org"],
        headers={"X-Outbox-Id": "7"}, attachments=[attachment],
    )  # fmt: skip
    message.attach_alternative("<p>Body</p>", "text/html")
    message.metadata = {"outbox_id": "7"}
    message.send()
    [kept] = mail.outbox
    assert kept is not message and type(kept) is OutboxEmail
    assert {k: v for k, v in vars(kept).items() if k not in ("attachments", "connection")} == {
        k: v for k, v in vars(message).items() if k not in ("attachments", "connection")
    }
    # Nothing the two could change is shared: changing one leaves the other.
    message.to.append("b@example.org")
    message.extra_headers["X-Outbox-Id"] = "8"
    message.metadata["outbox_id"] = "8"
    message.alternatives.clear()
    attachment.set_payload("changed")
    assert kept.to == ["a@example.org"] and kept.extra_headers == {"X-Outbox-Id": "7"}
    assert kept.metadata == {"outbox_id": "7"}
    assert kept.alternatives == [("<p>Body</p>", "text/html")]
    assert kept.attachments[0] is not attachment
    assert kept.attachments[0].get_payload() == "note"
    assert kept.connection is message.connection  # the backend, not part of the message
    assert b"<p>Body</p>" in kept.message().as_bytes()


@pytest.mark.needs_postgres
def test_outbox_bodies_use_lz4_where_the_server_has_it(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        server_has_lz4 = cursor.fetchone()[0]
        cursor.execute(
            "SELECT attname, attcompression FROM pg_attribute WHERE attrelid ="
            " 'invitations_outboundemail'::regclass AND attname IN ('body_text', 'body_html')"
        )
        methods = dict(cursor.fetchall())
    expected = "l" if server_has_lz4 else ""
    assert methods == {"body_text": expected, "body_html": expected}


def test_the_next_batch_adopts_emails_a_dead_worker_held_without_waiting_for_a_sweep(
    db, program, smtp_server, settings
):
    # Behind a long queue of batches beat's sweep runs late; each batch started
    # by a live worker takes the dead one's emails first.
    settings.OUTBOX_LEASE_SECONDS = 30
    outbox_add([_support_draft(1)], program=program)
    orphan = OutboundEmail.objects.get()
    OutboundEmail.objects.filter(pk=orphan.pk).update(
        status=Status.SENDING,
        attempts=1,
        claim="d" * 32,
        touched_at=timezone.now() - timedelta(seconds=31),
    )
    outbox_add([_support_draft(2)], program=program)
    outbox_send_batch([OutboundEmail.objects.get(to_email="person2@example.org").pk])
    orphan.refresh_from_db()
    assert (orphan.status, orphan.claim, orphan.attempts) == (Status.SENT, "", 2)
    assert "may arrive twice" in orphan.last_error
    assert sorted(str(m["To"]) for m in smtp_server.messages) == [
        "Person 1 <person1@example.org>",
        "Person 2 <person2@example.org>",
    ]
