import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairing_admin.settings")

# The Django task class gives every task delay_on_commit(), so a task is only
# published once the transaction that asked for it has committed.
app = Celery("pairing_admin", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
