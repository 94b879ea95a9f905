"""Tasks whose publishing after commit must not make the broker a point of failure."""

import logging

from celery.contrib.django.task import DjangoTask
from django.db import transaction
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)


class SweptTask(DjangoTask):
    """A task a beat sweeper also does, so a message that never reaches the
    broker is done on the next sweep anyway.

    Celery's own delay_on_commit raises from the commit when the broker is
    down, which turns a change that was saved into an error page for the
    person who made it (a mentor declining from their email, say). Here the
    outage costs a logged warning and the sweeper's delay. The publish gives
    up quickly (CELERY_TASK_PUBLISH_RETRY_POLICY).
    """

    def delay_on_commit(self, *args, **kwargs) -> None:
        transaction.on_commit(lambda: self._delay_or_warn(args, kwargs))

    def _delay_or_warn(self, args: tuple, kwargs: dict) -> None:
        try:
            self.delay(*args, **kwargs)
        except OperationalError as exc:
            log.warning(
                "Could not hand %s to the broker (%s); the next sweep does it.", self.name, exc
            )
