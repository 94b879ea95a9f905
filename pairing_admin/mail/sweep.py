"""The sweeper (beat): re-dispatch queued rows the broker never delivered and
re-queue rows whose lease ran out (their worker died), so they resume within
a lease and a sweep of the death instead of minutes later."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from pairing_admin.mail.models import OutboundEmail
from pairing_admin.mail.outbox import hand_over

SWEEP_LIMIT = 20_000
Status = OutboundEmail.Status


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


def requeue_abandoned(now, stale_after: timedelta, limit: int) -> list[int]:
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
        stuck_sending = requeue_abandoned(now, sending_stale_after, SWEEP_LIMIT)
        stale_queued = list(
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(status=Status.QUEUED, touched_at__lt=cutoff)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=cutoff))
            .order_by("pk")
            .values_list("pk", flat=True)[:SWEEP_LIMIT]
        )
        OutboundEmail.objects.filter(pk__in=stale_queued).update(touched_at=now)
        ids = sorted(set(stuck_sending) | set(stale_queued))
    hand_over(ids)
    return {"requeued_sending": len(stuck_sending), "redispatched": len(ids)}
