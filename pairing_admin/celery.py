import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairing_admin.settings")

# The Django task class gives every task delay_on_commit(), so a task is only
# published once the transaction that asked for it has committed.
app = Celery("pairing_admin", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A task is to the database what a request is: its connection is kept until
# DATABASE_CONN_MAX_AGE and closed if it broke, as Django does around a
# request. Celery's own handlers (CELERY_DB_REUSE_MAX, set high in settings)
# would close it around every task: each batch of emails then paid for a new
# PostgreSQL backend and prepared its "sent" mark again. An eager task runs
# inside its caller's transaction, on the caller's connection: left alone.


def _eager(task) -> bool:
    return task is None or bool(getattr(task.request, "is_eager", False))


@task_prerun.connect
@task_postrun.connect
def _recycle_connections(task=None, **kwargs) -> None:
    """Close an expired or broken connection; a kept one is checked at its first use."""
    if not _eager(task):
        close_old_connections()
