"""A worker's pool process does not stay fat after a large auto-pair run.

CELERY_WORKER_MAX_MEMORY_PER_CHILD (settings, docker-compose.yml) reaches the
Celery app, and a real worker replaces the process a run took past it.
"""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from pairing import autopair
from pairing.autopair import Options
from pairing.models import AutoPairRun
from pairing_admin.celery import app as celery_app
from tests.support.autopair import skilled_mentee, skilled_mentor
from tests.support.broker import publishing_to
from tests.support.wait import wait_until
from tests.support.worker import ROOT, Worker, _children


def test_the_memory_bound_reaches_the_celery_app():
    assert settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD == 250_000
    assert celery_app.conf.worker_max_memory_per_child == 250_000


def _bound_in_a_fresh_process(value: str) -> str:
    env = {**os.environ, "CELERY_WORKER_MAX_MEMORY_PER_CHILD": value}
    code = (
        "import django; django.setup(); from pairing_admin.celery import app; "
        "print(app.conf.worker_max_memory_per_child)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip().splitlines()[-1]


def test_the_environment_sets_the_bound_and_zero_turns_it_off():
    assert _bound_in_a_fresh_process("123456") == "123456"
    assert _bound_in_a_fresh_process("0") == "None"


@pytest.mark.needs_postgres
@pytest.mark.needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_replaces_the_pool_process_an_auto_pair_run_took_past_the_bound(
    program, org_admin, workers
):
    for _ in range(3):
        skilled_mentee(program)
    skilled_mentor(program, capacity=3)
    with publishing_to(None) as queue:
        # Every pool process is past 1 KiB: the bound must recycle it after the run.
        worker = Worker(
            queue=queue,
            smtp_port=None,
            concurrency=1,
            extra_env={"CELERY_WORKER_MAX_MEMORY_PER_CHILD": "1"},
        ).wait_ready()
        workers.append(worker)
        pool = _children(worker.process.pid)
        assert len(pool) == 1
        run = autopair.autopair_start(program=program, user=org_admin, options=Options())
        connection.close()
        assert wait_until(
            lambda: AutoPairRun.objects.get(pk=run.pk).status == AutoPairRun.Status.STAGED,
            timeout=60,
        ), worker.log()[-3000:]
        # The pool process that ran it exits and a fresh one takes its place.
        assert wait_until(
            lambda: (now := _children(worker.process.pid)) and not set(now) & set(pool),
            timeout=30,
        ), worker.log()[-3000:]
    assert AutoPairRun.objects.get(pk=run.pk).proposals.count() == 3
