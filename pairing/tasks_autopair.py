"""The auto-pair run as a Celery task (registered through pairing_admin/celery.py)."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def autopair_execute_task(run_id: int) -> None:
    """Build, solve and stage one run. A redelivered message finds it no longer queued."""
    from pairing.autopair import autopair_execute

    autopair_execute(run_id=run_id)
