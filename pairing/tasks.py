"""Pairing's Celery tasks. They take ids and import the service they call inside
the body (the services import this module to enqueue, so not the other way)."""

from datetime import datetime

from celery import shared_task

from pairing_admin.lib.enqueue import SweptTask


@shared_task(acks_late=True, soft_time_limit=100, time_limit=120)
def expire_requests() -> dict[str, int]:
    from pairing.services import requests_expire_due

    return requests_expire_due()


@shared_task(acks_late=True, soft_time_limit=100, time_limit=120)
def hold_due_sessions() -> int:
    from pairing.services import sessions_hold_due_everywhere

    return sessions_hold_due_everywhere()


@shared_task(acks_late=True, soft_time_limit=100, time_limit=120)
def remind_requests() -> dict[str, int]:
    from pairing.services import requests_remind_due

    return requests_remind_due()


@shared_task(acks_late=True, soft_time_limit=100, time_limit=120)
def offer_waitlist_seats() -> dict[str, int]:
    """The safety net: a seat freed where no offer could run at once waits one sweep."""
    from pairing.waitlist import waitlist_sweep

    return waitlist_sweep()


# Swept: offer_waitlist_seats does the same for every program if the broker was down.
@shared_task(base=SweptTask, acks_late=True, soft_time_limit=100, time_limit=120)
def offer_program_waitlist(program_id: int) -> dict[str, int]:
    """Offer a program's free seats to its waitlist (queued after End Pairing put
    mentees first in line)."""
    from pairing.waitlist import waitlist_sweep

    return waitlist_sweep(program_ids=[program_id])


# The name it had in its own module (pairing.tasks_autopair), so messages already
# queued under it still run.
@shared_task(
    name="pairing.tasks_autopair.autopair_execute_task", acks_late=True, ignore_result=True
)
def autopair_execute_task(run_id: int) -> None:
    """Build, solve and stage one run. A redelivered message finds it no longer queued."""
    from pairing.autopair import autopair_execute

    autopair_execute(run_id=run_id)


@shared_task(acks_late=True, soft_time_limit=100, time_limit=120)
def resume_unavailable_mentors() -> int:
    """Mentors whose "unavailable until" day has come take requests again."""
    from pairing.services.personal import mentors_resume_due

    return mentors_resume_due()


@shared_task(acks_late=True, soft_time_limit=30, time_limit=60, ignore_result=True)
def send_home_links(email: str, asked_at: str = "") -> int:
    """Email a fresh personal-page link to each program row of this address (asked for on
    /me/, which answers the same whether or not the address is known). `asked_at` (ISO)
    keys the emails, so a redelivered task (acks_late) writes no second email."""
    from pairing.services.personal import home_links_send

    now = datetime.fromisoformat(asked_at) if asked_at else None
    return home_links_send(email=email, now=now)
