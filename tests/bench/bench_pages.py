"""Benchmark: every admin page and each participant page over HTTP, at a real program's size.

    .venv/bin/python tests/bench/run.py bench_pages

The state (tests/bench/pages_state.py): 50,000 mentees, 12,500 mentors,
20,000 active pairings, 5,000 pending requests and about 100,000 sent
emails, built through the app's own services and kept for the next run
(BENCH_PAGES_REBUILD=1 builds it again; BENCH_PAGES_MENTEES=2000 builds a
smaller program of the same shape, to check that the benchmark runs: deep
pages then answer 404). The app is served as production
serves it: gunicorn with one sync worker, DEBUG off, settings from the
environment only. The benchmark logs in through the login form, then for
every page: one warm-up GET, and 20 GETs each followed by a GET of /healthz
(the baseline: the same server, the same HTTP round trip, almost no work).
It prints the median and p95 of each (wall time seen by the client, which
is the server's time plus a fraction of a millisecond on the loopback), the
ratio of the page's median to /healthz's, and the number of SQL queries the
page made (counted once in-process with Django's test client, which must
not grow with the program).

Pages: every named admin URL a GET answers (the URL walk's list), plus the
variants people use: each tab and sub-tab, each filter value, search, each
sort column both ways, and a deep page. Participant pages: the mentee's
preference form (also its first view after a mentor changed), a mentor
request's Approve and Decline pages and a session page, opened with the
links the emails carry.
Targets (issue #17): admin pages median <= 50 ms and p95 <= 100 ms; the
preference form median <= 100 ms. Set BENCH_PAGES_ONLY to a substring of the
page labels to time only those.
"""

import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNS = 20


# --- The server ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env() -> dict[str, str]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG"))}
    env.update(
        DATABASE_URL=url,
        DEBUG="0",
        SECRET_KEY="bench-pages-not-secret-" + "x" * 40,
        ALLOWED_HOSTS="127.0.0.1",
        HTTPS="0",  # plain HTTP on the loopback; production sits behind TLS
        STATIC_MANIFEST="0",
        CACHE_URL=os.environ.get("BENCH_CACHE_URL", "locmem://"),
        CELERY_BROKER_URL="memory://",
        EMAIL_PROVIDER="locmem",
    )
    return env


def _start_server(port: int) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(gunicorn), "pairing_admin.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--log-level", "warning"],
        cwd=ROOT, env=_server_env(),
    )  # fmt: skip
    import requests

    for _ in range(300):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).ok:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.1)
    _stop(proc)
    raise RuntimeError("gunicorn did not answer /healthz within 30 s")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _login(base: str, username: str, password: str):
    import requests

    session = requests.Session()
    page = session.get(f"{base}/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        f"{base}/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/login/"},
        allow_redirects=False,
    )
    assert answer.status_code == 302, (answer.status_code, answer.text[:500])
    return session


# --- The pages ----------------------------------------------------------------------------


def _samples(state) -> dict:
    from invitations.models import InvitationBatch
    from pairing.models import AutoPairRun, MentoringSession
    from pairing_admin.mail.models import OutboundEmail
    from programs.models import Participant, ParticipantImport

    session = MentoringSession.objects.filter(program_id=state.program_id).order_by("pk").first()
    mentee = (
        Participant.objects.mentees().filter(program_id=state.program_id).order_by("pk").first()
    )
    return {
        "program_id": state.program_id,
        "participant_id": mentee.pk,
        "import_id": ParticipantImport.objects.filter(program_id=state.program_id).latest("pk").pk,
        "organization_id": state.org_id,
        "step": "integrations",
        "pairing_id": session.pairing_id,
        "session_id": session.pk,
        "request_id": 1,
        "kind": "invitation",
        "batch_id": InvitationBatch.objects.filter(program_id=state.program_id).latest("pk").pk,
        "email_id": OutboundEmail.objects.filter(program_id=state.program_id).latest("pk").pk,
        "run_id": AutoPairRun.objects.filter(program_id=state.program_id).latest("pk").pk,
        "mentee_id": mentee.pk,
    }


def _admin_pages(state) -> list[tuple[str, str]]:
    """(label, path) of every admin page and the variants people use."""
    from django.urls import reverse

    from pairing import health
    from pairing import selectors as pairing_selectors
    from pairing.autopair import selectors as autopair_selectors
    from pairing.models import MentorRequest
    from pairing_admin.mail import kinds
    from pairing_admin.mail.models import OutboundEmail
    from tests.support.url_walk import PUBLIC, STAFF_ONLY, _named_patterns

    samples = _samples(state)
    pages = []
    for name, params in _named_patterns():
        if name in PUBLIC or name in STAFF_ONLY:
            continue
        pages.append((name, reverse(name, kwargs={p: samples[p] for p in params})))
    pid = state.program_id

    def url(name, **kw):
        return reverse(name, kwargs={"program_id": pid, **kw})

    unpaired, active = url("pairing:unpaired"), url("pairing:active")
    for sub in pairing_selectors.SUB_TABS:
        pages.append((f"unpaired sub={sub}", f"{unpaired}?sub={sub}"))
        pages.append((f"unpaired sub={sub} search", f"{unpaired}?sub={sub}&q=smith"))
    pages.append(("unpaired invited page 300", f"{unpaired}?sub=invited&page=300"))
    for key in health.SORTS:
        for sort in (key, f"-{key}"):
            pages.append((f"active sort={sort}", f"{active}?sort={sort}"))
    for value in health.HEALTH_LABELS:
        pages.append((f"active health={value}", f"{active}?health={value}"))
    pages.append(("active search", f"{active}?q=smith"))
    pages.append(("active page 200", f"{active}?page=200"))
    reqs = reverse("requests:list", kwargs={"program_id": pid})
    for status in MentorRequest.Status.values:
        pages.append((f"requests status={status}", f"{reqs}?status={status}"))
    pages.append(("requests search", f"{reqs}?q=smith"))
    pages.append(("requests page 50", f"{reqs}?page=50"))
    people = url("programs:participants")
    for role in ("mentee", "mentor"):
        pages.append((f"participants role={role}", f"{people}?role={role}"))
    pages.append(("participants search", f"{people}?q=smith"))
    pages.append(("participants page 600", f"{people}?page=600"))
    log = reverse("email_log:list", kwargs={"program_id": pid})
    for status in OutboundEmail.Status.values:
        pages.append((f"email log status={status}", f"{log}?status={status}"))
    for kind in kinds.EDITABLE_KINDS:
        pages.append((f"email log kind={kind}", f"{log}?kind={kind}"))
    pages.append(("email log search", f"{log}?q=smith"))
    pages.append(("email log page 1000", f"{log}?page=1000"))
    run = url("pairing:autopair_run", run_id=samples["run_id"])
    for sort in autopair_selectors.SORTS:
        pages.append((f"auto-pair run sort={sort}", f"{run}?sort={sort}"))
    pages.append(("auto-pair run unpaired view", f"{run}?view=unpaired"))
    pages.append(("auto-pair run search", f"{run}?q=smith"))
    pages.append(("activity page 2", f"{url('programs:pairing')}?page=2"))
    return pages


def _participant_pages(state) -> list[tuple[str, str]]:
    from tests.bench.pages_state import emailed_links

    return list(emailed_links(state.program_id).items())


# --- Timing -------------------------------------------------------------------------------


def _query_count(state, path: str, *, login: bool) -> int:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    with override_settings(ALLOWED_HOSTS=["*"], TOKEN_PAGE_RATE_LIMIT=100_000):
        client = Client()
        if login:
            client.force_login(get_user_model().objects.get(username=state.username))
        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            client.get(path)
    return len(captured)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def _time(session, base: str, path: str, before=None) -> tuple[list[float], list[float], int]:
    """20 GETs of `path`, each followed by one of /healthz; milliseconds."""
    status = session.get(base + path).status_code  # warm-up
    if status == 405:
        return [], [], status
    page, healthz = [], []
    for _ in range(RUNS):
        if before:
            before()
        started = time.perf_counter()
        response = session.get(base + path, allow_redirects=False)
        page.append((time.perf_counter() - started) * 1000)
        status = response.status_code
        started = time.perf_counter()
        session.get(base + "/healthz")
        healthz.append((time.perf_counter() - started) * 1000)
    return page, healthz, status


class _Table:
    def __init__(self) -> None:
        self.missed = []
        print(f"  {'page':<44}{'median':>8}{'p95':>8}{'queries':>8}{'healthz':>9}{'ratio':>7}"
              f"  status")  # fmt: skip

    def row(self, label, page, healthz, queries, status, *, target_median, target_p95) -> None:
        median, p95, base = statistics.median(page), _p95(page), statistics.median(healthz)
        ok = median <= target_median and (target_p95 is None or p95 <= target_p95)
        if not ok:
            self.missed.append(label)
        print(f"  {label[:44]:<44}{median:>7.1f} {p95:>7.1f} {queries:>7}{base:>8.1f} "
              f"{median / base:>6.1f}x  {status}{'' if ok else '  MISSED'}", flush=True)  # fmt: skip


def main() -> None:
    from django.db import connection

    from tests.bench import pages_state

    started = time.perf_counter()
    state = None if os.environ.get("BENCH_PAGES_REBUILD") else pages_state.existing()
    if state is None:
        print("building the state (a few minutes; kept for the next run):", flush=True)
        state = pages_state.build()
    else:
        print("reusing the state an earlier run built (BENCH_PAGES_REBUILD=1 rebuilds it)")
        with connection.cursor() as cursor:
            # What autovacuum (off on some of our machines) does after the migrations
            # run.py just applied: statistics and a visibility map for the rows and
            # the tables they wrote.
            cursor.execute("VACUUM ANALYZE")
    print(f"state ready after {time.perf_counter() - started:.1f} s; {_census(state)}")
    connection.close()
    only = os.environ.get("BENCH_PAGES_ONLY", "")
    port = _free_port()
    server = _start_server(port)
    base = f"http://127.0.0.1:{port}"
    try:
        import requests

        admin = _login(base, state.username, state.password)
        print(f"\nadmin pages (gunicorn, 1 worker, DEBUG off; ms, {RUNS} GETs each)")
        table = _Table()
        skipped = []
        for label, path in _admin_pages(state):
            if only and only not in label:
                continue
            if path.endswith(".csv"):
                skipped.append(f"{label} (a download, timed by bench_export)")
                continue
            page, healthz, status = _time(admin, base, path)
            if status == 405:
                skipped.append(f"{label} (POST only)")
                continue
            table.row(label, page, healthz, _query_count(state, path, login=True), status,
                      target_median=50, target_p95=100)  # fmt: skip
        print("\nparticipant pages (no login: the emailed link is the credential)")
        anonymous = requests.Session()
        for label, path in _participant_pages(state):
            if only and only not in label:
                continue
            page, healthz, status = _time(anonymous, base, path)
            target = 100 if label == "preference form" else 50
            table.row(label, page, healthz, _query_count(state, path, login=False), status,
                      target_median=target, target_p95=None if target == 100 else 100)  # fmt: skip
            if label == "preference form":
                page, healthz, status = _time(anonymous, base, path, before=_mentor_changer(state))
                table.row("preference form, first view after a change", page, healthz,
                          _query_count(state, path, login=False), status,
                          target_median=100, target_p95=None)  # fmt: skip
        print(f"\nnot timed: {', '.join(skipped)}")
        print(f"targets missed: {', '.join(table.missed) or 'none'}")
    finally:
        _stop(server)


def _mentor_changer(state):
    """Before each GET, one mentor's title changes (as an admin's edit would)."""
    from programs.models import Participant

    ids = list(
        Participant.objects.mentors().filter(program_id=state.program_id)
        .order_by("pk").values_list("pk", flat=True)[:RUNS + 1]
    )  # fmt: skip
    counter = iter(range(10**6))

    def change() -> None:
        n = next(counter)
        Participant.objects.filter(pk=ids[n % len(ids)]).update(title=f"Changed {time.time()} {n}")

    return change


def _census(state) -> str:
    from pairing.models import MentorRequest, Pairing
    from pairing_admin.mail.models import OutboundEmail
    from programs.models import Participant

    pid = state.program_id
    people = Participant.objects.filter(program_id=pid)
    return (
        f"{people.mentees().count():,} mentees, {people.mentors().count():,} mentors, "
        f"{Pairing.objects.active().filter(program_id=pid).count():,} active pairings, "
        f"{MentorRequest.objects.filter(program_id=pid, status='pending').count():,} pending "
        f"requests, {OutboundEmail.objects.filter(program_id=pid).count():,} emails"
    )
