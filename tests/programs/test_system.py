from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from programs.models import WorkerPing
from tests import factories

URL = "/system/"


@pytest.fixture
def staff(db, django_user_model):
    """The deployment's staff: a superuser, member of no organization."""
    return django_user_model.objects.create_superuser("ops@example.org", password="x" * 12)


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def test_system_url_is_named_system():
    assert reverse("system") == URL


def test_anonymous_visitor_is_sent_to_login(anon_client, db):
    for method in ("get", "post"):
        response = getattr(anon_client, method)(URL)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
    assert not WorkerPing.objects.exists()


def test_user_without_organization_gets_404(client, django_user_model):
    user = django_user_model.objects.create_user("lonely@example.org", password="x" * 12)
    client.force_login(user)
    assert client.get(URL).status_code == 404
    assert client.post(URL).status_code == 404
    assert not WorkerPing.objects.exists()


def test_organization_admin_gets_404_and_sees_nothing_of_the_deployment(org_admin_client, settings):
    settings.EMAIL_PROVIDER = "smtp"
    settings.EMAIL_HOST = "smtp.internal.example.net"
    settings.CELERY_BROKER_URL = "redis://cache.internal:6380/0"
    WorkerPing.objects.create(completed_at=timezone.now(), worker="celery@worker-host-7")
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = org_admin_client.get(URL, **headers)
        assert response.status_code == 404
        body = response.content.decode()
        for secret in ("smtp.internal.example.net", "cache.internal", "worker-host-7"):
            assert secret not in body
    assert org_admin_client.post(URL).status_code == 404
    assert WorkerPing.objects.count() == 1


def test_superuser_without_organization_reaches_the_page(staff_client):
    response = staff_client.get(URL)
    assert response.status_code == 200
    assert "Check the worker" in response.content.decode()


def test_check_the_worker_creates_a_ping_that_completes_and_redirects(
    staff, staff_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(URL)

    assert response.status_code == 302
    assert response.url == URL
    ping = WorkerPing.objects.get()
    assert ping.requested_by == staff
    # Tasks run inline in tests: the ping has already made its round trip.
    assert ping.completed_at is not None
    assert ping.worker

    page = staff_client.get(URL).content.decode()
    assert "A worker answered in" in page
    assert "by you" in page
    assert "hx-get" not in page  # done: nothing left to poll for


def test_get_never_writes(staff_client):
    WorkerPing.objects.create()
    staff_client.get(URL)  # first request: the session is created
    with CaptureQueriesContext(connection) as ctx:
        assert staff_client.get(URL).status_code == 200
        assert staff_client.get(URL, HTTP_HX_REQUEST="true").status_code == 200
    writes = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith(("INSERT", "UPDATE", "DELETE")) and "django_session" not in q["sql"]
    ]
    # The session's own expiry bump (at most once a minute) is the only write.
    assert writes == []
    assert WorkerPing.objects.count() == 1


def test_get_page_queries_are_fixed(staff_client, django_assert_num_queries):
    for _ in range(5):
        WorkerPing.objects.create(completed_at=timezone.now())
    staff_client.get(URL)  # also renews the session, which the next minute's pages do not
    # session, user, latest ping.
    with django_assert_num_queries(3):
        staff_client.get(URL)


def test_pending_ping_polls_every_second(staff_client):
    WorkerPing.objects.create()
    page = staff_client.get(URL).content.decode()
    assert "Waiting for a worker to answer" in page
    assert f'hx-get="{URL}"' in page
    assert 'hx-trigger="every 1s"' in page


def test_unanswered_ping_says_plainly_that_no_worker_runs(staff_client):
    ping = WorkerPing.objects.create()
    WorkerPing.objects.filter(pk=ping.pk).update(
        requested_at=timezone.now() - timedelta(seconds=31)
    )
    page = staff_client.get(URL).content.decode()
    assert "No worker answered: is <code>celery worker</code> running?" in page
    assert 'hx-trigger="every 5s"' in page  # still listening, more slowly


def test_long_forgotten_ping_stops_polling(staff_client):
    ping = WorkerPing.objects.create()
    WorkerPing.objects.filter(pk=ping.pk).update(requested_at=timezone.now() - timedelta(hours=2))
    page = staff_client.get(URL).content.decode()
    assert "No worker answered" in page
    assert "hx-get" not in page


def test_htmx_request_gets_only_the_status_fragment(staff_client):
    WorkerPing.objects.create()
    response = staff_client.get(URL, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="worker-status"')
    assert "Waiting for a worker to answer" in body
    assert "<html" not in body
    assert "Configuration" not in body


def test_fragment_stops_polling_once_the_worker_answered(staff_client):
    WorkerPing.objects.create(completed_at=timezone.now(), worker="worker-host")
    body = staff_client.get(URL, HTTP_HX_REQUEST="true").content.decode()
    assert "A worker answered in" in body
    assert "worker-host" in body
    assert "hx-get" not in body


def test_ping_of_another_admin_does_not_name_them(staff_client, other_admin):
    WorkerPing.objects.create(requested_by=other_admin, completed_at=timezone.now())
    page = staff_client.get(URL).content.decode()
    assert other_admin.username not in page
    assert "by you" not in page


def test_page_names_the_configuration_without_secrets(staff_client, settings):
    settings.EMAIL_PROVIDER = "smtp"
    settings.EMAIL_HOST = "smtp.example.net"
    settings.EMAIL_PORT = 587
    settings.EMAIL_USE_TLS = True
    settings.EMAIL_HOST_PASSWORD = "hunter2-secret"
    page = staff_client.get(URL).content.decode()
    assert "SQLite" in page or "PostgreSQL" in page
    assert "SMTP via smtp.example.net:587 with TLS" in page
    assert "hunter2-secret" not in page
    assert "Check the worker" in page


@pytest.mark.parametrize(
    ("provider", "expected"),
    [("", "Kept in the outbox and printed"), ("postmark", "Anymail: postmark")],
)
def test_page_names_the_email_mode(staff_client, settings, provider, expected):
    settings.EMAIL_PROVIDER = provider
    assert expected in staff_client.get(URL).content.decode()


def test_redis_broker_is_shown_without_its_password(staff_client, settings):
    settings.CELERY_BROKER_URL = "redis://:s3cret-pass@cache.internal:6380/0"
    page = staff_client.get(URL).content.decode()
    assert "Redis at cache.internal:6380" in page
    assert "s3cret-pass" not in page


def test_system_link_is_in_the_navigation_of_staff_only(staff, org, org_admin_client):
    factories.MembershipFactory(organization=org, user=staff)
    staff_page = Client()
    staff_page.force_login(staff)
    link = f'<a href="{URL}">System</a>'
    assert link in staff_page.get(reverse("programs:list")).content.decode()
    page = org_admin_client.get(reverse("programs:list")).content.decode()
    assert "Programs" in page
    assert link not in page
    assert URL not in page
