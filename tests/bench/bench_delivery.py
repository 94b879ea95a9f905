"""Benchmark: delivery from the outbox by one real worker (concurrency 2).

    .venv/bin/python tests/bench/run.py bench_delivery

Queues N rows, starts one worker, dispatches and times until every row is
"sent". Two backends: Django's locmem backend (the pipeline's own cost:
claiming, building messages, marking rows) and a local SMTP sink in its own
process. Each beside a baseline of one task per email, measured in the same
run, and the ratio of the two. Needs Redis: BENCH_BROKER_URL (default
redis://127.0.0.1:6379/14).

The worker keeps its database connections between tasks, as production does
(DATABASE_CONN_MAX_AGE, 60 s by default; the tests' worker closes them), and
names them (PGAPPNAME), so the CPU its own PostgreSQL backends used is read
from them before it stops: "PostgreSQL CPU (worker's backends)". The
server-wide figure is printed too.

The SMTP sink is Postfix's smtp-sink, a C test server made for this: it costs
little CPU, so the figure is our pipeline's and not the sink's. It is taken
from PATH, /usr/sbin, or extracted (not installed: no mail service starts)
from Debian's postfix package into var/bench/. Where none can be had, the
Python aiosmtpd sink is used instead, and the line says so: on a 2-core
machine that sink alone needs about as much CPU per message as our worker.
The CPU each process used is printed beside every figure, PostgreSQL's
twice: the worker's own backends, and the whole local server (its backends,
the ones that ended included, and its background writers such as the WAL
writer; on a shared machine it counts other sessions' work as well).

The table is vacuumed before the rows are written and vacuumed and analyzed
after, as autovacuum would (it is off on some of our machines). Completion is
polled from the lowest row not yet seen sent upwards, so each row is read
about once in all: a poll that scanned every row each time took PostgreSQL
CPU from the worker it was timing.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

N = int(os.environ.get("BENCH_DELIVERY_EMAILS", "20000"))
N_BASELINE = int(os.environ.get("BENCH_DELIVERY_BASELINE_EMAILS", "2000"))
BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14")


def _rows(program, n: int, tag: str) -> list[int]:
    from django.db import connection

    from invitations.email_kinds import EmailKind
    from pairing_admin.mail.models import OutboundEmail
    from tests.bench.dbtools import vacuum

    table = OutboundEmail._meta.db_table
    with connection.cursor() as cursor:
        vacuum(cursor, [table])  # dead rows an earlier run left behind
    body = "Hello,\n\nPlease choose your mentor: https://example.org/p/xxxxxxxx\n" * 3
    OutboundEmail.objects.bulk_create(
        (
            OutboundEmail(
                program=program, kind=EmailKind.INVITATION, idempotency_key=f"{tag}:{i}",
                to_email=f"mentee{i}@example.org", to_name=f"Mentee {i}",
                subject="Submit Your Mentor Preferences", body_text=body,
                body_html=f"<p>{body}</p>",
            )
            for i in range(n)
        ),
        batch_size=5000,
    )  # fmt: skip
    with connection.cursor() as cursor:
        vacuum(cursor, [table], analyze=True)
    return list(
        OutboundEmail.objects.filter(idempotency_key__startswith=f"{tag}:")
        .order_by("pk")
        .values_list("pk", flat=True)
    )


ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "var" / "bench" / "postfix"


def _postfix_sink() -> tuple[list[str], dict] | None:
    """Postfix's smtp-sink and the environment it needs, if it can be had here."""
    found = shutil.which("smtp-sink") or (
        "/usr/sbin/smtp-sink" if Path("/usr/sbin/smtp-sink").exists() else None
    )
    if found:
        return [found], {}
    binary = TOOLS / "usr" / "sbin" / "smtp-sink"
    if not binary.exists() and shutil.which("apt-get") and shutil.which("dpkg-deb"):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                ["apt-get", "download", "postfix"], cwd=tmp, capture_output=True, check=False
            )
            debs = list(Path(tmp).glob("postfix_*.deb"))
            if debs:
                TOOLS.mkdir(parents=True, exist_ok=True)
                subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(TOOLS)], check=False)
    if not binary.exists():
        return None
    return [str(binary)], {"LD_LIBRARY_PATH": str(TOOLS / "usr" / "lib" / "postfix")}


def _start_sink(port: int) -> tuple[subprocess.Popen, str]:
    postfix = _postfix_sink()
    if postfix is not None:
        command, env = postfix
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        # -4: IPv4; the last argument is the listen backlog.
        process = subprocess.Popen(
            [*command, *user, "-4", f"127.0.0.1:{port}", "128"],
            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        name = "Postfix smtp-sink"
    else:
        process = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
             "-l", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        name = "aiosmtpd sink (Python; smtp-sink not available, the sink limits this figure)"
    time.sleep(1)
    return process, name


def _cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU so far of a process and its live descendants, from /proc.

    `reaped` adds the CPU of the children the process has already waited for
    (PostgreSQL's ended backends: one per task, as the worker does not keep
    its connection).
    """
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            own = int(fields[11]) + int(fields[12])
            stats[int(entry.name)] = (int(fields[1]), own, int(fields[13]) + int(fields[14]))
    tree, ticks, grew = {pid}, 0, True
    while grew:
        grew = False
        for child, (parent, *_) in stats.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grew = True
    ticks = sum(stats[p][1] for p in tree if p in stats)
    if reaped and pid in stats:
        ticks += stats[pid][2]
    return ticks / os.sysconf("SC_CLK_TCK")


def _postgres_pid() -> int | None:
    """The local PostgreSQL server's main process (our session's parent), if we can see it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        parent = int(
            (Path("/proc") / str(backend) / "stat").read_text().rsplit(")", 1)[1].split()[1]
        )
        name = (Path("/proc") / str(parent) / "comm").read_text().strip()
    except OSError:
        return None  # a server on another machine, or in a container
    return parent if name.startswith("postgres") else None


def _backends_cpu(application_name: str) -> float | None:
    """CPU so far of the live PostgreSQL backends named `application_name` (None: not visible)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [application_name]
        )
        pids = [row[0] for row in cursor.fetchall()]
    try:
        return sum(_cpu_seconds(pid) for pid in pids if (Path("/proc") / str(pid)).exists())
    except OSError:
        return None


def _pending(ids: list[int], tag: str):
    """Yields whether any of our rows (`ids`, ascending) is not yet sent.

    Sent is final here, so each poll starts at the lowest row the last one
    found unsent and reads only rows sent since.
    """
    from pairing_admin.mail.models import OutboundEmail

    lowest, highest = ids[0], ids[-1]
    while True:
        lowest = (
            OutboundEmail.objects.filter(pk__gte=lowest, pk__lte=highest)
            .filter(idempotency_key__startswith=f"{tag}:")
            .exclude(status=OutboundEmail.Status.SENT)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if lowest is None:
            yield False
            return
        yield True


def _run(program, *, label: str, env: dict, n: int, one_per_task: bool, smtp_port=None,
         sink_pid=None, baseline: float | None = None) -> float:  # fmt: skip
    from pairing_admin.celery import app
    from pairing_admin.mail.outbox import hand_over
    from pairing_admin.mail.tasks import send_outbox_batch
    from tests.support.worker import Worker

    tag = f"bench-{uuid.uuid4().hex[:8]}"
    ids = _rows(program, n, tag)
    queue = f"bench-delivery-{os.getpid()}-{tag}"
    app.conf.task_default_queue = queue
    backends = f"bench-delivery-{tag}"
    worker = Worker(
        queue=queue,
        smtp_port=smtp_port,
        concurrency=2,
        extra_env={
            "CELERY_BROKER_URL": BROKER,
            "DATABASE_CONN_MAX_AGE": "600",
            "PGAPPNAME": backends,
            **env,
        },
    ).wait_ready()
    postgres = _postgres_pid()
    try:
        pending = _pending(ids, tag)
        worker_cpu = _cpu_seconds(worker.process.pid)
        sink_cpu = _cpu_seconds(sink_pid) if sink_pid else 0.0
        postgres_cpu = _cpu_seconds(postgres, reaped=True) if postgres else 0.0
        started = time.perf_counter()
        if one_per_task:
            for pk in ids:
                send_outbox_batch.delay([pk])
        else:
            hand_over(ids)
        published = time.perf_counter() - started
        deadline = time.monotonic() + 900
        while next(pending):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{label}: not done after 15 min\n{worker.log()[-3000:]}")
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        worker_cpu = _cpu_seconds(worker.process.pid) - worker_cpu
        sink_cpu = (_cpu_seconds(sink_pid) - sink_cpu) if sink_pid else 0.0
        if postgres:
            postgres_cpu = _cpu_seconds(postgres, reaped=True) - postgres_cpu
        own_cpu = _backends_cpu(backends)
    finally:
        worker.stop()
    rate = n / elapsed
    cpu = f"worker CPU {worker_cpu / n * 1e6:4.0f} us/email"
    if own_cpu is not None:
        cpu += f", PostgreSQL CPU {own_cpu / n * 1e6:4.0f} us/email (worker's backends)"
    if postgres:
        cpu += f", {postgres_cpu / n * 1e6:4.0f} us/email (whole server)"
    if sink_pid:
        cpu += f", sink CPU {sink_cpu / n * 1e6:4.0f} us/email"
    ratio = f"; {rate / baseline:5.1f}x the baseline" if baseline else ""
    print(
        f"{label:<44} {n:>6} emails {elapsed:7.2f} s  {rate:8,.0f} emails/s{ratio}"
        f"  (publishing {published:.2f} s; {cpu})",
        flush=True,
    )
    return rate


def main() -> None:
    from django.conf import settings

    from pairing_admin.celery import app
    from programs.models import Organization, Program

    app.conf.update(broker_url=BROKER, broker_read_url=BROKER, broker_write_url=BROKER)
    app.conf.task_always_eager = False
    org = Organization.objects.create(name=f"Bench delivery {uuid.uuid4().hex[:6]}")
    program = Program.objects.create(organization=org, name="Delivery benchmark")
    print(f"broker {BROKER}, database {settings.DATABASES['default']['NAME']}")
    sink = None
    try:
        locmem = {"EMAIL_PROVIDER": "locmem"}
        baseline = _run(program, label="locmem, one task per email (baseline)", env=locmem,
                        n=N_BASELINE, one_per_task=True)  # fmt: skip
        _run(program, label="locmem, batches of 500", env=locmem, n=N, one_per_task=False,
             baseline=baseline)  # fmt: skip

        from tests.support.smtp import free_port

        port = free_port()
        sink, name = _start_sink(port)
        print(f"SMTP sink: {name}")
        baseline = _run(program, label="SMTP sink, one task per email (baseline)", env={},
                        n=N_BASELINE, one_per_task=True, smtp_port=port,
                        sink_pid=sink.pid)  # fmt: skip
        _run(program, label="SMTP sink, batches of 500", env={}, n=N, one_per_task=False,
             smtp_port=port, sink_pid=sink.pid, baseline=baseline)  # fmt: skip
    finally:
        if sink is not None:
            sink.terminate()
            sink.wait(10)
        org.delete()


if __name__ == "__main__":
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairing_admin.settings")
    import django

    django.setup()
    main()
