import contextlib
import shutil

import pytest
from django.conf import settings
from django.test import Client

from pairing_admin.celery import app as celery_app
from programs.services import pairing_turn_on
from tests import factories
from tests.support import services, smtp, url_walk
from tests.support.broker import TEST_QUEUE, OwnRedis
from tests.support.marker import MARKER
from tests.support.worker import Worker

# This run's own queue on the broker: a developer's other runs (or a demo
# worker on the same Redis) never take our tasks, nor we theirs.
celery_app.conf.task_default_queue = TEST_QUEUE


def pytest_configure(config):
    # Django's default hasher (PBKDF2) takes ~0.27 s per password and most
    # tests create users. Set here rather than per test so that the live
    # server, session-scoped fixtures and Playwright logins hash fast too.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config, items):
    missing: dict[str, str] = {}
    for item in items:
        for marker, reason_of in services.REASONS.items():
            if item.get_closest_marker(marker) is None:
                continue
            reason = reason_of()
            if reason is None:
                continue
            if services.required():
                missing[marker] = reason
            else:
                item.add_marker(pytest.mark.skip(reason=f"{marker}: {reason}"))
    if missing:
        lines = "; ".join(f"{m}: {r}" for m, r in missing.items())
        raise pytest.UsageError(f"TEST_REQUIRE_SERVICES is set but services are missing: {lines}")


@pytest.fixture(autouse=True)
def _tasks_run_inline(request):
    """Tasks run in-process unless a test starts a real worker.

    Tests that use the `celery_worker` fixture switch this off and go through
    the broker; everything else stays fast and independent of the broker.
    """
    eager = "celery_worker" not in request.fixturenames
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


# --- The three roles every admin view is checked for ----------------------------


@pytest.fixture
def org(db):
    return factories.OrganizationFactory(name=f"{MARKER} Ltd")


@pytest.fixture
def other_org(db):
    return factories.OrganizationFactory(name="Elsewhere plc")


@pytest.fixture
def program(org):
    return factories.ProgramFactory(organization=org, name=f"{MARKER} Cohort")


@pytest.fixture
def live(program, org_admin):
    """`program` with pairing turned on."""
    pairing_turn_on(program=program, user=org_admin)
    program.refresh_from_db()
    return program


@pytest.fixture
def org_admin(org):
    return factories.MembershipFactory(organization=org).user


@pytest.fixture
def other_admin(other_org):
    return factories.MembershipFactory(organization=other_org).user


@pytest.fixture
def org_admin_client(org_admin):
    client = Client()
    client.force_login(org_admin)
    return client


@pytest.fixture
def other_admin_client(other_admin):
    client = Client()
    client.force_login(other_admin)
    return client


@pytest.fixture
def anon_client():
    return Client()


@pytest.fixture
def url_samples(program, org_admin):
    """One object of `org` for every URL parameter name: what the URL walk fills URLs with."""
    return url_walk.samples(program, org_admin)


# --- Real services --------------------------------------------------------------


@pytest.fixture(scope="session")
def _smtp_session():
    controller, receiver, port = smtp.start()
    yield receiver, port
    controller.stop()


@pytest.fixture
def smtp_server(_smtp_session, settings):
    """The SMTP receiver, emptied; this process and the test worker send to it."""
    receiver, port = _smtp_session
    receiver.messages.clear()
    receiver.refuse.clear()
    receiver.refused_count.clear()
    receiver.pipelining = True
    settings.EMAIL_BACKEND = "pairing_admin.mail.smtp.EmailBackend"  # what EMAIL_PROVIDER=smtp runs
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    receiver.port = port
    return receiver


@pytest.fixture
def own_redis():
    """A throwaway redis-server of this test's own, to stop and start (a broker outage)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    redis = OwnRedis().start()
    yield redis
    redis.stop()


@pytest.fixture
def workers():
    """Workers a test starts itself (on its own queue or broker): appended, stopped after."""
    started: list[Worker] = []
    yield started
    for worker in started:
        with contextlib.suppress(Exception):
            worker.stop()


@pytest.fixture(scope="session")
def _worker_session(_smtp_session, django_db_setup, django_db_blocker):
    for marker in ("needs_postgres", "needs_redis"):
        reason = services.REASONS[marker]()
        if reason:
            pytest.fail(f"celery_worker needs {marker}: {reason}; mark the test with it")
    with django_db_blocker.unblock():
        # Small preparation chunks: a staged Invite all in a test crosses chunk boundaries.
        worker = Worker(
            queue=TEST_QUEUE, smtp_port=_smtp_session[1], extra_env={"INVITE_WORKER_CHUNK": "400"}
        ).wait_ready()
    yield worker
    worker.stop()


@pytest.fixture
def celery_worker(request, _worker_session, transactional_db):
    """A real worker process on the real broker, sending to `smtp_server`.

    Needs PostgreSQL and Redis (the worker shares the committed test database
    and consumes this run's queue).
    """
    return _worker_session
