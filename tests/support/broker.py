"""The broker under test: publish to another broker or queue, run a throwaway Redis."""

import contextlib
import os
import subprocess
import uuid

from pairing_admin.celery import app as celery_app
from tests.support import smtp
from tests.support.wait import wait_until

# This run's queue (tests/conftest.py makes it the default): its own, by pid.
TEST_QUEUE = f"pairing-tests-{os.getpid()}"


@contextlib.contextmanager
def publishing_to(broker_url: str | None):
    """This process publishes to `broker_url` (or the run's broker) on a fresh queue."""
    conf = celery_app.conf
    urls = ("broker_url", "broker_read_url", "broker_write_url")
    saved_urls = {name: conf[name] for name in urls}
    saved = (conf.task_default_queue, conf.task_always_eager)

    def reset_pools():
        # Forget (never close: kombu keeps one pool per broker URL for the
        # whole process) the pools of the broker we published to until now.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    if broker_url:
        conf.update(dict.fromkeys(urls, broker_url))
        reset_pools()
    queue = f"{TEST_QUEUE}-{uuid.uuid4().hex[:8]}"
    conf.task_default_queue = queue
    conf.task_always_eager = False
    try:
        yield queue
    finally:
        conf.task_default_queue, conf.task_always_eager = saved
        if broker_url:
            conf.update(saved_urls)
            reset_pools()


class OwnRedis:
    """A throwaway redis-server of our own, stopped and started by pid."""

    def __init__(self) -> None:
        self.port = smtp.free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "OwnRedis":
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        assert wait_until(self._answers, 10), "redis-server did not start"
        return self

    def _answers(self) -> bool:
        out = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
        )
        return out.stdout.strip() == "PONG"

    def queue_length(self, queue: str) -> int:
        out = subprocess.run(
            ["redis-cli", "-p", str(self.port), "-n", "0", "llen", queue],
            capture_output=True, text=True,
        )  # fmt: skip
        return int(out.stdout.strip())

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
