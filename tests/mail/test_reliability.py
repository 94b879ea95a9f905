"""The outbox under failure: PostgreSQL, Redis, real worker processes, a real SMTP server.

Each test runs its own worker on its own queue (and, for the broker outage,
its own Redis), so what it kills or stops touches nothing else.
"""

import time
from datetime import timedelta

import pytest
from django.db import connection, transaction

from pairing_admin.mail.models import OutboundEmail
from pairing_admin.mail.outbox import Draft, outbox_add
from pairing_admin.mail.sweep import outbox_sweep
from programs.email_kinds import EmailKind
from tests.support import smtp
from tests.support.broker import publishing_to
from tests.support.wait import wait_until
from tests.support.worker import Worker

pytestmark = [
    pytest.mark.needs_postgres,
    pytest.mark.needs_redis,
    pytest.mark.django_db(transaction=True),
]
Status = OutboundEmail.Status
NOW = timedelta(milliseconds=1)  # a sweeper threshold every row has passed


def _drafts(n: int, prefix: str = "rel") -> list[Draft]:
    return [
        Draft(
            kind=EmailKind.SUPPORT_REQUEST,
            key=f"{prefix}:{i}",
            to_email=f"{prefix}{i}@example.org",
            values={"request_subject": f"Q{i}", "message": f"Body {i}", "admin_name": "Ada"},
        )
        for i in range(n)
    ]


@pytest.fixture
def slow_smtp():
    controller, receiver, port = smtp.start()
    receiver.port = port
    yield receiver
    controller.stop()


def test_broker_down_at_commit_then_sweeper_delivers_each_email_once(
    program, smtp_server, own_redis, workers
):
    with publishing_to(own_redis.url) as queue:
        worker = Worker(
            queue=queue, smtp_port=smtp_server.port, extra_env={"CELERY_BROKER_URL": own_redis.url}
        ).wait_ready()
        workers.append(worker)
        own_redis.stop()

        started = time.monotonic()
        with transaction.atomic():  # the admin's click: it must succeed
            outbox_add(_drafts(40), program=program)
        print(f"commit with the broker down took {time.monotonic() - started:.2f} s")
        assert OutboundEmail.objects.filter(status=Status.QUEUED).count() == 40

        own_redis.start()  # same port, empty: the worker reconnects by itself
        assert own_redis.queue_length(queue) == 0  # nothing was handed over
        result = outbox_sweep(stale_after=NOW)
        assert result["redispatched"] == 40

        assert wait_until(lambda: len(smtp_server.messages) >= 40, timeout=90), worker.log()[-4000:]
        assert wait_until(
            lambda: OutboundEmail.objects.filter(status=Status.SENT).count() == 40, timeout=60
        )
        time.sleep(1)  # anything sent twice would have arrived by now
    counts = smtp_server.per_recipient()
    assert len(counts) == 40
    assert set(counts.values()) == {1}, worker.log()[-3000:]


def test_worker_killed_mid_batch_every_email_arrives_at_most_one_twice(program, slow_smtp, workers):
    slow_smtp.delay = 0.02  # 300 emails take 6 s or more
    with publishing_to(None) as queue:
        first = Worker(queue=queue, smtp_port=slow_smtp.port).wait_ready()
        workers.append(first)
        with transaction.atomic():
            outbox_add(_drafts(300, "kill"), program=program)
        assert wait_until(lambda: len(slow_smtp.messages) >= 40, timeout=60), first.log()[-3000:]
        first.kill()
        arrived = len(slow_smtp.messages)
        assert arrived < 300, "the batch finished before the kill: make the server slower"
        stuck = OutboundEmail.objects.filter(status=Status.SENDING).count()
        assert stuck >= 300 - arrived  # claimed, not marked: only the sweeper frees them

        second = Worker(queue=queue, smtp_port=slow_smtp.port).wait_ready()
        workers.append(second)
        slow_smtp.delay = 0
        result = outbox_sweep(stale_after=NOW, sending_stale_after=NOW)
        assert result["requeued_sending"] == stuck
        assert wait_until(
            lambda: OutboundEmail.objects.filter(status=Status.SENT).count() == 300, timeout=90
        ), second.log()[-3000:]
        time.sleep(1)
    counts = slow_smtp.per_recipient()
    assert len(counts) == 300  # every email arrived
    twice = [to for to, n in counts.items() if n > 1]
    assert len(twice) <= 1 and max(counts.values()) <= 2, twice
    resent = OutboundEmail.objects.filter(last_error__contains="may arrive twice")
    assert resent.count() == stuck


def test_temporary_refusal_is_retried_by_the_worker_and_delivered(program, smtp_server, workers):
    smtp_server.refuse["busy0@example.org"] = "451 4.3.0 Mailbox busy, try later"
    with publishing_to(None) as queue:
        worker = Worker(
            queue=queue,
            smtp_port=smtp_server.port,
            extra_env={"OUTBOX_RETRY_BASE_SECONDS": "1"},
        ).wait_ready()
        workers.append(worker)
        with transaction.atomic():
            outbox_add(_drafts(3, "busy"), program=program)
        assert wait_until(
            lambda: smtp_server.refused_count.get("busy0@example.org", 0) >= 2, timeout=60
        ), worker.log()[-3000:]
        row = OutboundEmail.objects.get(to_email="busy0@example.org")
        assert row.status in (Status.QUEUED, Status.SENDING) and "451" in row.last_error
        del smtp_server.refuse["busy0@example.org"]
        smtp_server.wait_for(3)
        assert wait_until(
            lambda: OutboundEmail.objects.filter(status=Status.SENT).count() == 3, timeout=60
        )
    row.refresh_from_db()
    assert row.attempts >= 3
    assert set(smtp_server.per_recipient().values()) == {1}


def test_permanent_refusal_fails_that_row_with_the_reason_and_sends_the_rest(
    program, smtp_server, workers
):
    smtp_server.refuse["gone1@example.org"] = "550 5.1.1 No such user here"
    with publishing_to(None) as queue:
        workers.append(Worker(queue=queue, smtp_port=smtp_server.port).wait_ready())
        with transaction.atomic():
            outbox_add(_drafts(5, "gone"), program=program)
        smtp_server.wait_for(4)
        assert wait_until(
            lambda: OutboundEmail.objects.filter(status=Status.FAILED).exists(), timeout=60
        )
        # The last "sent" mark is written just after the server accepted the message.
        assert wait_until(
            lambda: OutboundEmail.objects.filter(status=Status.SENT).count() == 4, timeout=60
        )
    failed = OutboundEmail.objects.get(status=Status.FAILED)
    assert failed.to_email == "gone1@example.org"
    assert "550" in failed.last_error and "No such user" in failed.last_error
    assert failed.attempts == 1  # never retried
    assert OutboundEmail.objects.filter(status=Status.SENT).count() == 4
    assert "gone1@example.org" not in str(smtp_server.per_recipient())


def test_rolled_back_transaction_sends_nothing_through_a_real_worker(program, smtp_server, workers):
    with publishing_to(None) as queue:
        workers.append(Worker(queue=queue, smtp_port=smtp_server.port).wait_ready())
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox_add(_drafts(1, "rollback"), program=program)
            raise RuntimeError("the change failed after asking for an email")
        # A later, committed email proves the worker was there all along.
        with transaction.atomic():
            outbox_add(_drafts(1, "after"), program=program)
        smtp_server.wait_for(1)
        time.sleep(1)
    assert [str(m["To"]) for m in smtp_server.messages] == ["after0@example.org"]
    assert not OutboundEmail.objects.filter(to_email="rollback0@example.org").exists()


# --- Leases: a dead worker's emails resume in seconds, a live one's are never taken ---


def test_a_live_worker_keeps_its_emails_however_slow_each_one_is(
    program, slow_smtp, settings, workers
):
    # Each message takes longer than a whole lease: only renewing it while the
    # send blocks keeps the sweeper (run every half second here) off the rows.
    slow_smtp.delay = 2.5
    with publishing_to(None) as queue:
        worker = Worker(
            queue=queue, smtp_port=slow_smtp.port, extra_env={"OUTBOX_LEASE_SECONDS": "2"}
        ).wait_ready()
        workers.append(worker)
        with transaction.atomic():
            outbox_add(_drafts(3, "slow"), program=program)
        taken = 0
        deadline = time.monotonic() + 60
        while OutboundEmail.objects.filter(status=Status.SENT).count() < 3:
            assert time.monotonic() < deadline, worker.log()[-3000:]
            taken += outbox_sweep(sending_stale_after=timedelta(seconds=2))["requeued_sending"]
            time.sleep(0.5)
    assert taken == 0
    assert slow_smtp.per_recipient() == {f"slow{i}@example.org": 1 for i in range(3)}
    assert not OutboundEmail.objects.filter(last_error__contains="may arrive twice").exists()


def test_a_killed_workers_emails_are_sent_by_another_once_its_lease_runs_out(
    program, slow_smtp, workers
):
    # Nobody sweeps by hand: the surviving worker's beat does, every second.
    lease = {"OUTBOX_LEASE_SECONDS": "3", "OUTBOX_SWEEP_SECONDS": "1"}
    slow_smtp.delay = 0.02
    with publishing_to(None) as queue:
        first = Worker(queue=queue, smtp_port=slow_smtp.port, extra_env=lease).wait_ready()
        workers.append(first)
        with transaction.atomic():
            outbox_add(_drafts(300, "lease"), program=program)
        assert wait_until(lambda: len(slow_smtp.messages) >= 40, timeout=60), first.log()[-3000:]
        first.kill()
        arrived = len(slow_smtp.messages)
        assert arrived < 300, "the batch finished before the kill: make the server slower"
        stuck = OutboundEmail.objects.filter(status=Status.SENDING).count()
        assert stuck >= 300 - arrived
        slow_smtp.delay = 0
        second = Worker(queue=queue, smtp_port=slow_smtp.port, extra_env=lease, beat=True)
        workers.append(second.wait_ready())
        assert wait_until(
            lambda: OutboundEmail.objects.filter(status=Status.SENT).count() == 300, timeout=90
        ), second.log()[-3000:]
        time.sleep(1)
    counts = slow_smtp.per_recipient()
    assert len(counts) == 300
    assert max(counts.values()) <= 2 and sum(counts.values()) <= 301
    assert OutboundEmail.objects.filter(last_error__contains="may arrive twice").count() == stuck


def test_a_dropped_database_connection_fails_the_batch_with_its_own_error(
    program, slow_smtp, workers
):
    lease = {"OUTBOX_LEASE_SECONDS": "3", "OUTBOX_SWEEP_SECONDS": "1"}
    slow_smtp.delay = 0.02
    with publishing_to(None) as queue:
        worker = Worker(queue=queue, smtp_port=slow_smtp.port, extra_env=lease, beat=True)
        workers.append(worker.wait_ready())
        with transaction.atomic():
            outbox_add(_drafts(200, "dropped"), program=program)
        assert wait_until(lambda: len(slow_smtp.messages) >= 20, timeout=60), worker.log()[-3000:]
        with connection.cursor() as cursor:  # what a database restart or failover does
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        slow_smtp.delay = 0
        assert wait_until(
            lambda: OutboundEmail.objects.filter(status=Status.SENT).count() == 200, timeout=90
        ), worker.log()[-3000:]
        time.sleep(1)
        log = worker.log()
    assert "setting nonblocking failed" not in log
    failures = [
        line for line in log.splitlines() if "send_outbox_batch" in line and "raised" in line
    ]
    assert len(failures) == 1, log[-4000:]
    assert "terminating connection" in failures[0] or "server closed the connection" in failures[0]
    counts = slow_smtp.per_recipient()
    assert len(counts) == 200 and max(counts.values()) <= 2


def test_a_worker_keeps_its_database_connection_between_tasks_and_replaces_a_dropped_one(
    program, smtp_server, workers
):
    name = f"keep-{time.monotonic_ns()}"
    kept = {"DATABASE_CONN_MAX_AGE": "600", "PGAPPNAME": name}

    def backends() -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [name])
            return {pid for (pid,) in cursor.fetchall()}

    def send(prefix: str, done: int) -> None:
        with transaction.atomic():
            outbox_add(_drafts(2, prefix), program=program)
        assert wait_until(
            lambda: (
                worker.log().count("send_outbox_batch") >= 2 * done
                and OutboundEmail.objects.filter(status=Status.SENT).count() == 2 * done
            ),
            timeout=60,
        ), worker.log()[-3000:]

    with publishing_to(None) as queue:
        worker = Worker(queue=queue, smtp_port=smtp_server.port, concurrency=1, extra_env=kept)
        workers.append(worker.wait_ready())
        send("keep1", 1)  # the task's received and succeeded lines
        first = backends()
        assert first, "the connection was closed after the task"
        send("keep2", 2)
        assert backends() == first  # the next task ran on the same backend
        with connection.cursor() as cursor:  # what a database restart or failover does
            cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s) AS pid", [list(first)])
        assert wait_until(lambda: not backends(), timeout=10)
        send("keep3", 3)  # a fresh connection, not a task failing on the dead one
        assert backends() and not backends() & first
    assert "raised" not in worker.log()
    assert len(smtp_server.messages) == 6
