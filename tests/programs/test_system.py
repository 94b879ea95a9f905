from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from programs.models import WorkerPing

URL = "/system/"


def test_system_url_is_named_system():
    assert reverse("system") == URL


def test_anonymous_visitor_is_sent_to_login(anon_client, db):
    for method in ("get", "post"):
        response = getattr(anon_client, method)(URL)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
    assert not WorkerPing.objects.exists()


def test_user_without_organization_is_refused(client, django_user_model):
    user = django_user_model.objects.create_user("lonely@example.org", password="x" * 12)
    client.force_login(user)
    assert client.get(URL).status_code == 403
    assert client.post(URL).status_code == 403
    assert not WorkerPing.objects.exists()


def test_check_the_worker_creates_a_ping_that_completes_and_redirects(
    org_admin, org_admin_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = org_admin_client.post(URL)

    assert response.status_code == 302
    assert response.url == URL
    ping = WorkerPing.objects.get()
    assert ping.requested_by == org_admin
    # Tasks run inline in tests: the ping has already made its round trip.
    assert ping.completed_at is not None
    assert ping.worker

    page = org_admin_client.get(URL).content.decode()
    assert "A worker answered in" in page
    assert "by you" in page
    assert "hx-get" not in page  # done: nothing left to poll for


def test_get_never_writes(org_admin_client):
    WorkerPing.objects.create()
    org_admin_client.get(URL)  # first request: the session is created
    with CaptureQueriesContext(connection) as ctx:
        assert org_admin_client.get(URL).status_code == 200
        assert org_admin_client.get(URL, HTTP_HX_REQUEST="true").status_code == 200
    writes = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith(("INSERT", "UPDATE", "DELETE")) and "django_session" not in q["sql"]
    ]
    # The session's own expiry bump (SESSION_SAVE_EVERY_REQUEST) is the only write.
    assert writes == []
    assert WorkerPing.objects.count() == 1


def test_get_page_queries_are_fixed(org_admin_client, django_assert_num_queries):
    for _ in range(5):
        WorkerPing.objects.create(completed_at=timezone.now())
    org_admin_client.get(URL)
    # session, user, membership check, latest ping, then the session save
    # in its savepoint (three statements).
    with django_assert_num_queries(7):
        org_admin_client.get(URL)


def test_pending_ping_polls_every_second(org_admin_client):
    WorkerPing.objects.create()
    page = org_admin_client.get(URL).content.decode()
    assert "Waiting for a worker to answer" in page
    assert f'hx-get="{URL}"' in page
    assert 'hx-trigger="every 1s"' in page


def test_unanswered_ping_says_plainly_that_no_worker_runs(org_admin_client):
    ping = WorkerPing.objects.create()
    WorkerPing.objects.filter(pk=ping.pk).update(
        requested_at=timezone.now() - timedelta(seconds=31)
    )
    page = org_admin_client.get(URL).content.decode()
    assert "No worker answered: is <code>celery worker</code> running?" in page
    assert 'hx-trigger="every 5s"' in page  # still listening, more slowly


def test_long_forgotten_ping_stops_polling(org_admin_client):
    ping = WorkerPing.objects.create()
    WorkerPing.objects.filter(pk=ping.pk).update(requested_at=timezone.now() - timedelta(hours=2))
    page = org_admin_client.get(URL).content.decode()
    assert "No worker answered" in page
    assert "hx-get" not in page


def test_htmx_request_gets_only_the_status_fragment(org_admin_client):
    WorkerPing.objects.create()
    response = org_admin_client.get(URL, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="worker-status"')
    assert "Waiting for a worker to answer" in body
    assert "<html" not in body
    assert "Configuration" not in body


def test_fragment_stops_polling_once_the_worker_answered(org_admin_client):
    WorkerPing.objects.create(completed_at=timezone.now(), worker="worker-host")
    body = org_admin_client.get(URL, HTTP_HX_REQUEST="true").content.decode()
    assert "A worker answered in" in body
    assert "worker-host" in body
    assert "hx-get" not in body


def test_ping_of_another_admin_does_not_name_them(org_admin_client, other_admin):
    WorkerPing.objects.create(requested_by=other_admin, completed_at=timezone.now())
    page = org_admin_client.get(URL).content.decode()
    assert other_admin.username not in page
    assert "by you" not in page


def test_page_names_the_configuration_without_secrets(org_admin_client, settings):
    settings.EMAIL_PROVIDER = "smtp"
    settings.EMAIL_HOST = "smtp.example.net"
    settings.EMAIL_PORT = 587
    settings.EMAIL_USE_TLS = True
    settings.EMAIL_HOST_PASSWORD = "hunter2-secret"
    page = org_admin_client.get(URL).content.decode()
    assert "SQLite" in page or "PostgreSQL" in page
    assert "SMTP via smtp.example.net:587 with TLS" in page
    assert "hunter2-secret" not in page
    assert "Check the worker" in page


@pytest.mark.parametrize(
    ("provider", "expected"),
    [("", "Kept in the outbox and printed"), ("postmark", "Anymail: postmark")],
)
def test_page_names_the_email_mode(org_admin_client, settings, provider, expected):
    settings.EMAIL_PROVIDER = provider
    assert expected in org_admin_client.get(URL).content.decode()


def test_redis_broker_is_shown_without_its_password(org_admin_client, settings):
    settings.CELERY_BROKER_URL = "redis://:s3cret-pass@cache.internal:6380/0"
    page = org_admin_client.get(URL).content.decode()
    assert "Redis at cache.internal:6380" in page
    assert "s3cret-pass" not in page


def test_system_link_is_in_the_navigation(org_admin_client):
    page = org_admin_client.get(reverse("programs:list")).content.decode()
    assert f'<a href="{URL}">System</a>' in page
