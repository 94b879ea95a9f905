import socket

from celery import shared_task
from django.db.models.functions import Now

from programs.models import WorkerPing


@shared_task(acks_late=True)
def worker_ping(ping_id: int) -> None:
    # Conditional update: a redelivered message finds it done and does nothing.
    WorkerPing.objects.filter(pk=ping_id, completed_at__isnull=True).update(
        completed_at=Now(), worker=socket.gethostname()[:200]
    )


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def forget_pending_registrations() -> int:
    from programs.registration import pending_registrations_forget

    return pending_registrations_forget()
