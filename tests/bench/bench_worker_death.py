"""Benchmark: a worker killed mid-batch; another sends its emails (issue #15, point 3).

    BENCH_BROKER_URL=redis://127.0.0.1:6379/12 .venv/bin/python tests/bench/run.py bench_worker_death

Two real Celery workers (concurrency 2 each) consume one queue on Redis and
send through a real SMTP server (the tests' aiosmtpd receiver, in this
process) that takes BENCH_WORKER_DEATH_SMTP_DELAY seconds (default 0.05) to
accept each message, so a batch of 500 takes about half a minute. The lease
and the sweep run on the settings' defaults (OUTBOX_LEASE_SECONDS 30,
OUTBOX_SWEEP_SECONDS 15; the line says if the environment changed them); the
sweep is run by beat inside the worker that survives, as in production where
beat publishes to the workers' queue. Each worker has its own listening port
on the receiver, so every message is known to come from one worker or the
other, and every message carries its outbox row's id (X-Outbox-Id).

1. Baseline: BENCH_WORKER_DEATH_EMAILS (default 2,000) emails written by
   `outbox_add` in one transaction (handed to the broker after commit, in
   batches of 500: one per pool process); seconds until every one arrived.
2. The same with a fresh pair of workers, and once a tenth of the emails
   arrived (and every batch has delivered one, so who holds which is known),
   the worker that does not run beat is SIGKILLed, main process and pool
   children. From the kill: when its leases ran out (its rows' last renewal
   plus a lease), when the sweep re-queued its rows, (a) when the first of
   them arrived from the surviving worker, (b) when all had arrived, and
   (c) how many messages arrived twice: each is classed as the message its
   batch had in flight at the kill (first delivered by the dead worker, the
   row never marked sent) or not (a live worker's message, which must not
   happen). Rows the sweep re-queued that the dead worker did not hold are
   counted too (must be 0).

With more batches than pool processes (BENCH_WORKER_DEATH_EMAILS=6000) the
queue holds a backlog, and beat's sweeps wait behind it on the same queue;
then the next batch a live worker starts adopts the dead worker's emails.

The killed worker's task messages stay unacknowledged in the broker (its
visibility timeout is an hour); they are removed at the end, with the run's
queues and rows.
"""

import asyncio
import collections
import datetime
import json
import logging
import os
import re
import sys
import time
import uuid
from email.parser import BytesHeaderParser
from pathlib import Path

N = int(os.environ.get("BENCH_WORKER_DEATH_EMAILS", "2000"))
DELAY = float(os.environ.get("BENCH_WORKER_DEATH_SMTP_DELAY", "0.05"))
BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14")
TARGET = 60.0  # seconds from the death until its emails resume (issue #15)
TIMEOUT = 900


def _receiver_class():
    from tests.support.smtp import Receiver

    class TimedReceiver(Receiver):
        """The tests' receiver, noting when each message arrived, and on which port.

        One instance serves both ports, each from its own thread: arrivals are
        appended under the receiver's lock, and only the headers are parsed.
        """

        def __init__(self) -> None:
            super().__init__()
            self.arrivals: list[tuple[float, int, int]] = []  # (monotonic, outbox id, port)

        async def handle_DATA(self, server, session, envelope):
            if self.delay:
                await asyncio.sleep(self.delay)
            headers = BytesHeaderParser().parsebytes(envelope.content)
            port = server.transport.get_extra_info("sockname")[1]
            with self._lock:
                self.arrivals.append((time.monotonic(), int(headers["X-Outbox-Id"]), port))
            return "250 Message accepted for delivery"

    return TimedReceiver


class _Smtp:
    """One receiver listening on two ports, one per worker."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        from tests.support.smtp import free_port

        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.receiver = _receiver_class()()
        self.receiver.delay = DELAY
        self.controllers = []
        for _ in range(2):
            controller = Controller(self.receiver, hostname="127.0.0.1", port=free_port())
            controller.start()
            self.controllers.append(controller)
        self.ports = [c.port for c in self.controllers]

    def stop(self) -> None:
        for controller in self.controllers:
            controller.stop()


def _drafts(tag: str):
    from invitations.email_kinds import EmailKind
    from pairing_admin.mail.outbox import Draft

    return [
        Draft(
            kind=EmailKind.INVITATION, key=f"{tag}:{i}", to_email=f"mentee{i}@example.org",
            to_name=f"Mentee {i}",
            values={"first_name": f"Mentee {i}", "program_name": "Worker death benchmark",
                    "organization_name": "Bench", "deadline": "2026-12-31",
                    "preferences_link": f"https://example.org/p/{tag}-{i}"},
        )
        for i in range(N)
    ]  # fmt: skip


def _forget_queue(queue: str) -> None:
    """Remove the run's queue from Redis, with what is left in it.

    Left are the sweeps beat published last and the killed worker's task
    messages: kombu keeps those unacknowledged in its "unacked" hash (and
    "unacked_index") until the visibility timeout returns them to the queue,
    which nobody reads after this run.
    """
    import redis

    client = redis.Redis.from_url(BROKER)
    for tag, raw in client.hgetall("unacked").items():
        try:
            routing_key = json.loads(raw)[2]
        except (ValueError, IndexError, TypeError):
            continue
        if routing_key == queue:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


def _run(program, *, kill: bool) -> dict:
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from pairing_admin.celery import app
    from pairing_admin.mail.models import OutboundEmail
    from pairing_admin.mail.outbox import BATCH_SIZE, outbox_add
    from tests.support.worker import Worker

    Status = OutboundEmail.Status
    tag = f"death-{uuid.uuid4().hex[:8]}"
    queue = f"bench-worker-death-{os.getpid()}-{tag}"
    app.conf.task_default_queue = queue
    smtp = _Smtp()
    receiver = smtp.receiver
    env = {"CELERY_BROKER_URL": BROKER}
    doomed = Worker(queue=queue, smtp_port=smtp.ports[0], extra_env=env)
    survivor = Worker(queue=queue, smtp_port=smtp.ports[1], extra_env=env, beat=True)
    result: dict = {}
    try:
        doomed.wait_ready()
        survivor.wait_ready()
        started = time.monotonic()
        with transaction.atomic():
            outbox_add(_drafts(tag), program=program)
        result["written"] = time.monotonic() - started
        ids = sorted(
            OutboundEmail.objects.filter(idempotency_key__startswith=f"{tag}:").values_list(
                "pk", flat=True
            )
        )
        # outbox_dispatch hands the rows over in id order, BATCH_SIZE per task.
        batch_of = {pk: i // BATCH_SIZE for i, pk in enumerate(ids)}
        ours = set(ids)
        seen: set[int] = set()
        deliveries: collections.Counter = collections.Counter()
        first_port: dict[int, int] = {}
        read = 0

        def take_arrivals():
            nonlocal read
            new = receiver.arrivals[read:]
            read += len(new)
            for _at, pk, port in new:
                if pk in ours:
                    deliveries[pk] += 1
                    first_port.setdefault(pk, port)
                    seen.add(pk)
            return new

        def worker_logs() -> str:
            return f"{doomed.log()[-2000:]}\n---\n{survivor.log()[-2000:]}"

        deadline = started + TIMEOUT
        kill_at = None
        if kill:
            batches_from = {0: set(), 1: set()}  # worker -> batches it delivered from
            while True:
                for _, pk, port in take_arrivals():
                    if pk in ours:
                        batches_from[smtp.ports.index(port)].add(batch_of[pk])
                if len(seen) >= N // 10:
                    # Kill once every batch being sent has delivered a message, so
                    # which worker holds it is known.
                    sending = {batch_of[pk] for pk in _sending(ids)}
                    if sending and sending <= set().union(*batches_from.values()):
                        break
                if len(seen) == N or time.monotonic() > deadline:
                    raise RuntimeError(f"no moment to kill a worker\n{worker_logs()}")
                time.sleep(0.05)
            doomed.kill()
            kill_at, kill_wall = time.monotonic(), timezone.now()
            kill_local = datetime.datetime.now()  # the workers' log timestamps are local
            take_arrivals()
            result["arrived_at_kill"] = len(seen)
            dead_batches = batches_from[0] & sending
            result["dead_batches"] = len(dead_batches)
            dead_rows = {pk for pk, batch in batch_of.items() if batch in dead_batches}
            held_rows = list(
                OutboundEmail.objects.filter(pk__in=dead_rows, status=Status.SENDING).values_list(
                    "pk", "claim", "touched_at"
                )
            )
            dead = {pk for pk, _, _ in held_rows}
            result["dead_unsent"] = len(dead)
            # Each batch's lease runs out one lease after its last renewal.
            renewed = {}
            for _, claim, touched in held_rows:
                renewed[claim] = max(renewed.get(claim, touched), touched)
            result["lease_out"] = sorted(
                settings.OUTBOX_LEASE_SECONDS - (kill_wall - at).total_seconds()
                for at in renewed.values()
            )
            requeued_at = first_resent_at = None
            while len(seen) < N:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{N - len(seen)} emails never arrived\n{worker_logs()}")
                for at, pk, port in take_arrivals():
                    if first_resent_at is None and pk in dead and port == smtp.ports[1]:
                        first_resent_at = at
                if requeued_at is None and (
                    OutboundEmail.objects.filter(
                        pk__in=dead, last_error__startswith="Re-queued"
                    ).exists()
                ):
                    requeued_at = time.monotonic()
                time.sleep(0.1)
            result["requeued"] = (requeued_at or time.monotonic()) - kill_at
            result["sweeps"] = _sweeps(survivor.log(), kill_local)
            result["first_resent"] = first_resent_at - kill_at if first_resent_at else None
        else:
            while len(seen) < N:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{N - len(seen)} emails never arrived\n{worker_logs()}")
                take_arrivals()
                time.sleep(0.02)
        last_arrival = max(at for at, pk, _ in receiver.arrivals if pk in ours)
        result["all"] = last_arrival - started
        if kill_at is not None:
            result["all_after_kill"] = last_arrival - kill_at
        # Every row marked sent; then a moment for a late second copy to land.
        while OutboundEmail.objects.filter(pk__in=ids, status=Status.SENT).count() < N:
            if time.monotonic() > deadline:
                raise RuntimeError(f"rows not marked sent\n{worker_logs()}")
            time.sleep(0.2)
        time.sleep(2)
        take_arrivals()
        twice = [pk for pk, count in deliveries.items() if count > 1]
        result["twice"] = len(twice)
        if kill_at is not None:
            in_flight = [pk for pk in twice if pk in dead and first_port[pk] == smtp.ports[0]]
            result["in_flight"] = len(in_flight)
            result["copies"] = sum(deliveries[pk] - 1 for pk in twice)
            taken = OutboundEmail.objects.filter(
                pk__in=ids, last_error__startswith="Re-queued"
            ).exclude(pk__in=dead)
            result["taken_from_live"] = taken.count()
            result["requeued_rows"] = OutboundEmail.objects.filter(
                pk__in=dead, last_error__startswith="Re-queued"
            ).count()
    finally:
        doomed.stop()
        survivor.stop()
        smtp.stop()
        _forget_queue(queue)
    return result


def _sending(ids: list[int]) -> list[int]:
    from pairing_admin.mail.models import OutboundEmail

    rows = OutboundEmail.objects.filter(pk__gte=ids[0], pk__lte=ids[-1], pk__in=ids)
    return list(rows.filter(status=OutboundEmail.Status.SENDING).values_list("pk", flat=True))


_LOGGED = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}):")


def _sweeps(log: str, since: datetime.datetime) -> dict[str, list[float]]:
    """From the survivor's log: when beat published the outbox sweep, when one re-queued rows.

    Seconds after `since`; shows whether the sweep waited for a free pool process.
    """
    found: dict[str, list[float]] = {"published": [], "requeued": []}
    for line in log.splitlines():
        logged = _LOGGED.match(line)
        if not logged:
            continue
        at = datetime.datetime.strptime(logged[1], "%Y-%m-%d %H:%M:%S,%f")
        offset = (at - since).total_seconds()
        if offset < 0:
            continue
        if "Sending due task sweep-outbox" in line:
            found["published"].append(offset)
        elif "sweep_outbox" in line and re.search(r"'requeued_sending': [1-9]", line):
            found["requeued"].append(offset)
    return found


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def main() -> None:
    from django.conf import settings

    from pairing_admin.celery import app
    from programs.models import Organization, Program

    app.conf.update(broker_url=BROKER, broker_read_url=BROKER, broker_write_url=BROKER)
    app.conf.task_always_eager = False
    lease, sweep = settings.OUTBOX_LEASE_SECONDS, settings.OUTBOX_SWEEP_SECONDS
    defaults = "the defaults" if (lease, sweep) == (30, 15) else "NOT the defaults 30 s / 15 s"
    print(
        f"broker {BROKER}, database {settings.DATABASES['default']['NAME']}; lease {lease} s,"
        f" sweep every {sweep} s ({defaults}); SMTP server takes {DELAY} s per message;"
        f" two workers, concurrency 2 each",
        flush=True,
    )
    org = Organization.objects.create(name=f"Bench worker death {uuid.uuid4().hex[:6]}")
    program = Program.objects.create(organization=org, name="Worker death benchmark")
    try:
        base = _run(program, kill=False)
        print(
            f"baseline, no kill: {N} emails arrived {base['all']:6.1f} s after the write"
            f" began (writing {base['written']:.2f} s); arrived twice: {base['twice']}",
            flush=True,
        )
        run = _run(program, kill=True)
        ends = run["lease_out"]
        leases = f"{ends[0]:.1f}" + (f" to {ends[-1]:.1f}" if ends[-1] - ends[0] >= 0.05 else "")
        first = run["first_resent"]
        if first is None:  # every one arrived, none of the dead worker's from the survivor
            first = float("inf")
        published = ", ".join(f"{t:.1f}" for t in run["sweeps"]["published"] if t <= first + 1)
        requeued = ", ".join(f"{t:.1f}" for t in run["sweeps"]["requeued"]) or "?"
        print(
            f"killed one worker after {run['arrived_at_kill']} had arrived: it held"
            f" {run['dead_batches']} batches, {run['dead_unsent']} emails not yet marked sent\n"
            f"  its leases ran out        {leases} s after the kill\n"
            f"  the sweep re-queued them  {run['requeued']:6.1f} s after the kill"
            f" ({run['requeued_rows']} rows; beat published sweeps at {published} s,"
            f" the one that re-queued them finished at {requeued} s)\n"
            f"  (a) first of them resent  {first:6.1f} s after the kill"
            f" (target <= {TARGET:.0f} s {_mark(first <= TARGET)})\n"
            f"  (b) all {N} arrived      {run['all_after_kill']:6.1f} s after the kill,"
            f" {run['all']:.1f} s after the write began (baseline {base['all']:.1f} s,"
            f" +{run['all'] - base['all']:.1f} s)\n"
            f"  (c) arrived twice         {run['twice']} ({run['copies']} extra copies);"
            f" in flight at the kill: {run['in_flight']} of {run['dead_batches']} batches;"
            f" a live worker's: {run['twice'] - run['in_flight']}"
            f" {_mark(run['twice'] == run['in_flight'] and run['in_flight'] <= run['dead_batches'])}\n"
            f"  rows re-queued that the dead worker did not hold: {run['taken_from_live']}"
            f" {_mark(run['taken_from_live'] == 0)}",
            flush=True,
        )
    finally:
        org.delete()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairing_admin.settings")
    import django

    django.setup()
    main()
