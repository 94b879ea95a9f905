import pytest
from django.test import Client

from pairing_admin.celery import app as celery_app
from tests import factories
from tests.support import services


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

MARKER = "Zanzibar-Marker-Org"


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
