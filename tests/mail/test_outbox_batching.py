"""The outbox hands rows to the broker in batches and sends each batch over
one email connection, from a task whose options make delivery safe."""

import runpy
from datetime import timedelta

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone
from kombu.transport.redis import Channel as RedisChannel

import pairing_admin.settings as settings_module
from pairing_admin.celery import app as celery_app
from pairing_admin.mail import outbox, sending
from pairing_admin.mail.models import OutboundEmail
from pairing_admin.mail.outbox import BATCH_SIZE, Draft, outbox_add, outbox_dispatch
from pairing_admin.mail.sending import MAX_ATTEMPTS, outbox_send_batch
from pairing_admin.mail.sweep import outbox_sweep, sending_stale_default
from pairing_admin.mail.tasks import send_outbox_batch
from programs.email_kinds import EmailKind

Status = OutboundEmail.Status

N = 1201  # two full batches of 500 and a partial one


def _rows(program, n: int, *, batch_id: int | None = None, prefix: str = "b") -> list[int]:
    # Written directly: outbox_add outside a transaction would dispatch at once.
    OutboundEmail.objects.bulk_create(
        OutboundEmail(
            program=program, kind=EmailKind.SUPPORT_REQUEST, idempotency_key=f"{prefix}{i}",
            batch_id=batch_id, to_email=f"{prefix}{i}@example.org", to_name=f"Person {i}",
            subject=f"Subject {i}", body_text=f"Body {i}",
        )
        for i in range(n)
    )  # fmt: skip
    return sorted(
        OutboundEmail.objects.filter(idempotency_key__startswith=prefix).values_list(
            "pk", flat=True
        )
    )


@pytest.fixture
def handed_over(monkeypatch):
    """The id lists handed to the broker, one per send_outbox_batch task.

    Captured at apply_async, which delay() and delay_on_commit() both go
    through; nothing is sent.
    """
    tasks: list[list[int]] = []

    def apply_async(args=None, kwargs=None, **options):
        (ids,) = args if args is not None else (kwargs["ids"],)
        tasks.append(list(ids))

    monkeypatch.setattr(send_outbox_batch, "apply_async", apply_async)
    return tasks


def _assert_batched(tasks: list[list[int]], ids: list[int]) -> None:
    assert [len(t) for t in tasks] == [500, 500, 201]
    handed = [pk for task in tasks for pk in task]
    assert len(handed) == len(set(handed)) == len(ids)  # each id exactly once
    assert sorted(handed) == ids


# --- 1. Batches of BATCH_SIZE ids per task, not one task per email -----------------


def test_batch_size_is_500():
    assert BATCH_SIZE == 500  # what docs/features.md promises ("batches of 500")


def test_emails_added_in_a_transaction_go_to_the_broker_in_batches_after_commit(
    db, program, handed_over, django_capture_on_commit_callbacks
):
    drafts = [
        Draft(
            kind=EmailKind.SUPPORT_REQUEST, key=f"batching:{i}", to_email=f"p{i}@example.org",
            values={"request_subject": "Q", "message": "M", "admin_name": "Ada"},
        )
        for i in range(N)
    ]  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outbox_add(drafts, program=program)
    assert handed_over == []  # nothing before commit
    for callback in callbacks:
        callback()
    ids = sorted(OutboundEmail.objects.values_list("pk", flat=True))
    assert len(ids) == N
    _assert_batched(handed_over, ids)
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {Status.QUEUED}


def test_dispatch_by_keys_hands_over_batches_of_500(db, program, handed_over):
    ids = _rows(program, N)
    keys = list(OutboundEmail.objects.values_list("idempotency_key", flat=True))
    assert outbox_dispatch(keys=keys) == N
    _assert_batched(handed_over, ids)


def test_dispatch_by_invitation_batch_hands_over_batches_of_500(db, program, handed_over):
    ids = _rows(program, N, batch_id=77)
    _rows(program, 3, batch_id=78, prefix="other")  # another batch's rows stay put
    assert outbox_dispatch(batch_id=77) == N
    _assert_batched(handed_over, ids)


def test_dispatch_skips_rows_no_longer_queued(db, program, handed_over):
    ids = _rows(program, 502)
    OutboundEmail.objects.filter(pk__in=ids[:2]).update(status=Status.SENT)
    keys = list(OutboundEmail.objects.values_list("idempotency_key", flat=True))
    assert outbox_dispatch(keys=keys) == 500
    assert handed_over == [ids[2:]]


def test_hand_over_gives_the_broker_batches_of_500(db, program, handed_over):
    ids = _rows(program, N)
    outbox.hand_over(ids)
    _assert_batched(handed_over, ids)


def test_sweeper_redispatches_in_batches_of_500(db, program, handed_over):
    ids = _rows(program, N)
    OutboundEmail.objects.update(touched_at=timezone.now() - timedelta(hours=1))
    assert outbox_sweep()["redispatched"] == N
    _assert_batched(handed_over, ids)


# --- 2. One email connection per batch ----------------------------------------------


class _CountingBackend(BaseEmailBackend):
    """Behaves like the SMTP backend: send_messages opens a connection only if
    none is open (and closes the one it opened). Counts backends and opens."""

    instances = 0
    opens = 0
    sent: list[tuple[int, str]] = []  # (backend, X-Outbox-Id)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        type(self).instances += 1
        self.is_open = False

    def open(self):
        if self.is_open:
            return False
        self.is_open = True
        type(self).opens += 1
        return True

    def close(self):
        self.is_open = False

    def send_messages(self, messages):
        opened_here = self.open()
        try:
            for message in messages:
                type(self).sent.append((id(self), message.extra_headers["X-Outbox-Id"]))
        finally:
            if opened_here:
                self.close()
        return len(messages)


@pytest.fixture
def counting_backend(settings):
    settings.EMAIL_BACKEND = f"{__name__}._CountingBackend"
    _CountingBackend.instances = _CountingBackend.opens = 0
    _CountingBackend.sent = []
    return _CountingBackend


def test_a_batch_is_sent_over_one_connection_and_every_row_is_marked_sent(
    db, program, counting_backend
):
    ids = _rows(program, 25)
    counts = outbox_send_batch(ids)
    assert counts == {"sent": 25, "failed": 0, "suppressed": 0, "retry": 0}
    assert counting_backend.instances == 1
    assert counting_backend.opens == 1
    assert len({backend for backend, _ in counting_backend.sent}) == 1
    assert sorted(int(pk) for _, pk in counting_backend.sent) == ids
    rows = OutboundEmail.objects.filter(pk__in=ids)
    assert set(rows.values_list("status", flat=True)) == {Status.SENT}
    assert not rows.filter(sent_at__isnull=True).exists()
    assert not rows.filter(provider_message_id="").exists()


def test_each_dispatched_batch_opens_one_connection(db, program, counting_backend):
    # Tasks run inline here: 1,201 rows make three tasks, hence three connections.
    ids = _rows(program, N)
    keys = list(OutboundEmail.objects.values_list("idempotency_key", flat=True))
    outbox_dispatch(keys=keys)
    assert counting_backend.instances == 3
    assert counting_backend.opens == 3
    per_backend: dict[int, int] = {}
    for backend, _ in counting_backend.sent:
        per_backend[backend] = per_backend.get(backend, 0) + 1
    assert sorted(per_backend.values()) == [201, 500, 500]
    assert sorted(int(pk) for _, pk in counting_backend.sent) == ids
    assert OutboundEmail.objects.filter(status=Status.SENT).count() == N


# --- 3. The task options that make delivery safe ------------------------------------


def _redis_visibility_timeout(monkeypatch) -> int:
    """The visibility timeout the settings give a Redis broker (whatever this run uses)."""
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    production = runpy.run_path(settings_module.__file__)
    options = production["CELERY_BROKER_TRANSPORT_OPTIONS"]
    # Unset, kombu's own default would apply.
    return options.get("visibility_timeout", RedisChannel.visibility_timeout)


def _effective_limits(task) -> tuple[float, float]:
    """(soft, hard) as a worker applies them: the task's own, else the app's defaults."""
    soft = task.soft_time_limit or celery_app.conf.task_soft_time_limit
    hard = task.time_limit or celery_app.conf.task_time_limit
    return soft, hard


def test_send_task_is_acknowledged_only_after_it_ran():
    # A worker that dies mid-batch leaves the message on the broker: it is redelivered.
    assert send_outbox_batch.acks_late is True
    assert send_outbox_batch.reject_on_worker_lost is True


def test_send_task_has_a_soft_limit_below_its_hard_limit():
    soft, hard = _effective_limits(send_outbox_batch)
    assert soft and hard
    # The soft limit fires first, so the batch can re-queue what it did not send.
    assert 0 < soft < hard


def test_send_task_hard_limit_is_far_below_the_visibility_timeout(monkeypatch):
    visibility = _redis_visibility_timeout(monkeypatch)
    _, hard = _effective_limits(send_outbox_batch)
    # "Far below": a task still running is never redelivered to a second worker.
    assert hard <= visibility / 2
    # The app's default hard limit (any task without its own) is too.
    assert celery_app.conf.task_time_limit <= visibility / 2
    if "visibility_timeout" in celery_app.conf.broker_transport_options:  # a Redis run
        assert celery_app.conf.broker_transport_options["visibility_timeout"] == visibility


def test_longest_retry_wait_is_below_the_visibility_timeout(monkeypatch, settings):
    # A retry waits as a countdown task; one waiting past the visibility
    # timeout would be redelivered and sent twice.
    visibility = _redis_visibility_timeout(monkeypatch)
    settings.OUTBOX_RETRY_BASE_SECONDS = 1800  # the largest the settings allow
    longest = max(sending._backoff(attempts) for attempts in range(1, MAX_ATTEMPTS + 20))
    assert longest.total_seconds() < visibility


def test_a_dead_workers_emails_resume_within_a_minute_by_default():
    # Not renewed for a lease, then found by the next sweep (beat's schedule).
    from django.conf import settings

    assert sending_stale_default() == timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    sweep = settings.CELERY_BEAT_SCHEDULE["sweep-outbox"]["schedule"]
    assert sweep == settings.OUTBOX_SWEEP_SECONDS
    assert settings.OUTBOX_LEASE_SECONDS + sweep <= 60


def test_a_broker_that_is_down_leaves_the_rows_to_the_sweeper_with_one_warning(
    db, program, monkeypatch, caplog
):
    from kombu.exceptions import OperationalError

    tried = []

    def unreachable(args=None, kwargs=None, **options):
        tried.append(args)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    monkeypatch.setattr(send_outbox_batch, "apply_async", unreachable)
    with caplog.at_level("WARNING", logger="pairing_admin.mail.outbox"):
        outbox.hand_over(list(range(1, 1202)))
    assert len(tried) == 1  # the first refusal ends the hand-over
    (record,) = [r for r in caplog.records if r.name == "pairing_admin.mail.outbox"]
    assert record.levelname == "WARNING" and "1201 emails wait for the sweeper" in record.message
