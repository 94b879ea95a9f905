from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=240, time_limit=300)
def prepare_invitation_batch(batch_id: int) -> dict[str, int]:
    from invitations.services import invitation_batch_prepare

    return invitation_batch_prepare(batch_id)


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def resume_invitation_batches() -> dict[str, int]:
    from invitations.services import invitation_batches_resume

    return invitation_batches_resume()
