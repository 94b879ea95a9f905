"""Run the demo: web server + Celery worker (with beat), checked end to end.

`make demo` runs this after `migrate` and `seed_demo`. Both servers are child
processes of this script; Ctrl-C or SIGTERM stops them both.
"""

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
HEALTH_TIMEOUT = 60  # seconds for runserver to answer /healthz
WORKER_TIMEOUT = 60  # seconds for the worker to answer a ping
STOP_TIMEOUT = 20  # Celery's warm shutdown takes 5-10 s


CELERY = [sys.executable, "-m", "celery", "-A", "pairing_admin"]


class Stop(Exception):
    """Raised by the signal handler: leave whatever we are doing and clean up."""


def _on_signal(signum, _frame):
    raise Stop(signal.Signals(signum).name)


def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex((HOST, port)) == 0:
            return False  # something answers there already
    with socket.socket() as probe:
        # Same option runserver uses, so a socket lingering in TIME_WAIT from
        # a previous run does not count as busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def purge_filesystem_broker() -> int:
    """Delete messages left in the embedded broker's folder by earlier runs.

    They would otherwise be delivered to the new worker: checks and emails
    that belong to a database state that may no longer exist.
    """
    from django.conf import settings

    if not settings.CELERY_BROKER_URL.startswith("filesystem"):
        return 0
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    removed = 0
    for key in ("data_folder_in", "data_folder_out", "processed_folder"):
        for message in Path(options[key]).glob("*.msg"):
            message.unlink(missing_ok=True)
            removed += 1
    return removed


def start(name: str, command: list[str]) -> subprocess.Popen:
    say(f"starting {name}: {' '.join(command)}")
    # Its own process group: a terminal's Ctrl-C reaches only this script,
    # which then stops each child (and the worker stops its own pool).
    return subprocess.Popen(command, cwd=BASE_DIR, start_new_session=True)  # noqa: S603 - fixed argv


def stop_all(children: dict[str, subprocess.Popen]) -> None:
    """SIGTERM to every child at once, then wait; SIGKILL whatever lingers."""
    running = {name: p for name, p in children.items() if p.poll() is None}
    for name, process in running.items():
        say(f"stopping {name} (pid {process.pid})")
        process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for name, process in running.items():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop within {STOP_TIMEOUT} s; killing it")
            # Its whole group: the worker's pool processes and embedded beat.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for_health(url: str, children: dict[str, subprocess.Popen]) -> str:
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while time.monotonic() < deadline:
        check_children(children)
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own URL
                return response.read().decode()
        except urllib.error.HTTPError as error:  # 503: it answers, something is down
            return f"HTTP {error.code}: {error.read().decode()}"
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"[demo] the web server did not answer {url} within {HEALTH_TIMEOUT} s")


def check_children(children: dict[str, subprocess.Popen]) -> None:
    for name, process in children.items():
        if process.poll() is not None:
            raise SystemExit(f"[demo] {name} exited unexpectedly (code {process.returncode})")


def check_worker(children: dict[str, subprocess.Popen]) -> bool:
    from programs import services
    from programs.models import WorkerPing

    started = time.monotonic()
    ping = services.worker_ping_request()
    while time.monotonic() - started < WORKER_TIMEOUT:
        check_children(children)
        if WorkerPing.objects.filter(pk=ping.pk, completed_at__isnull=False).exists():
            say(f"Worker check: OK (answered in {time.monotonic() - started:.1f} s)")
            return True
        time.sleep(0.25)
    say(
        f"Worker check: FAILED - no worker answered within {WORKER_TIMEOUT} s. "
        "Emails will not be sent; read the worker's log above."
    )
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()

    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairing_admin.settings")
    import django

    django.setup()
    import pairing_admin.celery  # noqa: F401 - tasks sent from here use the app's broker
    from programs.management.commands.seed_demo import DEMO_ADMIN_PASSWORD, DEMO_ADMIN_USERNAME

    if not port_is_free(args.port):
        print(
            f"[demo] Port {args.port} on {HOST} is already in use: another demo or server is"
            f" running. Stop it, or run scripts/demo.py --port <other port>.",
            file=sys.stderr,
        )
        return 1

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    children: dict[str, subprocess.Popen] = {}
    try:
        removed = purge_filesystem_broker()
        if removed:
            say(f"purged {removed} stale message(s) from the embedded broker")
        children["web server"] = start(
            "web server",
            [sys.executable, "manage.py", "runserver", f"{HOST}:{args.port}", "--noreload"],
        )
        children["worker"] = start(
            "worker",
            [*CELERY, "worker", "-B", "-c", "2", "-l", "info"],
        )
        base = f"http://{HOST}:{args.port}"
        say(f"health: {wait_for_health(f'{base}/healthz', children)}")
        worker_ok = check_worker(children)
        say("")
        say(f"Open {base}/ and log in as {DEMO_ADMIN_USERNAME} / {DEMO_ADMIN_PASSWORD}")
        say(f"System page (worker status): {base}/system/")
        say("Press Ctrl-C to stop the web server and the worker.")
        if not worker_ok:
            say("The web server keeps running so you can look around; emails will wait.")
        while True:
            check_children(children)
            time.sleep(1)
    except Stop as stop_signal:
        say(f"{stop_signal} received")
        return 0
    finally:
        # Ignore further Ctrl-C while stopping, so the children are never
        # left running behind a half-finished shutdown.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all(children)
        say("stopped")


if __name__ == "__main__":
    sys.exit(main())
