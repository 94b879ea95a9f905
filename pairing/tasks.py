from celery import shared_task

from pairing import services, waitlist
from pairing_admin.lib.enqueue import SweptTask


@shared_task(acks_late=True, soft_time_limit=100, time_limit=120)
def expire_requests() -> dict[str, int]:
    return services.requests_expire_due()


@shared_task(acks_late=True, soft_time_limit=100, time_limit=120)
def remind_requests() -> dict[str, int]:
    return services.requests_remind_due()


@shared_task(acks_late=True, soft_time_limit=100, time_limit=120)
def offer_waitlist_seats() -> dict[str, int]:
    """The safety net: a seat freed where no offer could run at once waits one sweep."""
    return waitlist.waitlist_sweep()


# Swept: offer_waitlist_seats does the same for every program if the broker was down.
@shared_task(base=SweptTask, acks_late=True, soft_time_limit=100, time_limit=120)
def offer_program_waitlist(program_id: int) -> dict[str, int]:
    """Offer a program's free seats to its waitlist (queued after End Pairing put
    mentees first in line)."""
    return waitlist.waitlist_sweep(program_ids=[program_id])
