"""The outbox's Celery tasks. Their names are the ones they had in invitations.tasks,
so messages already queued and beat's schedule still find them."""

from celery import shared_task


@shared_task(
    name="invitations.tasks.send_outbox_batch",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=240,
    time_limit=300,
)
def send_outbox_batch(ids: list[int]) -> dict[str, int]:
    from pairing_admin.mail.sending import outbox_send_batch

    return outbox_send_batch(ids)


@shared_task(
    name="invitations.tasks.sweep_outbox", acks_late=True, soft_time_limit=50, time_limit=60
)
def sweep_outbox() -> dict[str, int]:
    from pairing_admin.mail.sweep import outbox_sweep

    return outbox_sweep()
