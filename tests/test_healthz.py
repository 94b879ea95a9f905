import os
import socket
from contextlib import contextmanager

import pytest

from pairing_admin import views
from pairing_admin.celery import app as celery_app

URL = "/healthz"


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def broker_unreachable():
    """Point the Celery app at a port nothing listens on, then put it back.

    Celery's conf is a mapping view whose broker_url prefers the
    CELERY_BROKER_URL environment variable (set in CI), so both are swapped
    by hand rather than with monkeypatch.setattr.
    """
    previous_env = os.environ.pop("CELERY_BROKER_URL", None)
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = f"redis://127.0.0.1:{_unused_port()}/0"
    try:
        yield
    finally:
        celery_app.conf.broker_url = previous
        if previous_env is not None:
            os.environ["CELERY_BROKER_URL"] = previous_env


@pytest.mark.django_db
def test_healthy_when_database_and_broker_answer(anon_client):
    response = anon_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["status"] == "ok"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_head_answers_without_a_body(anon_client):
    response = anon_client.head(URL)
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.django_db
def test_broker_down_gives_503_and_recovers(anon_client):
    real_broker = celery_app.conf.broker_url
    with broker_unreachable():
        response = anon_client.get(URL)
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "down"}

    assert celery_app.conf.broker_url == real_broker
    assert anon_client.get(URL).status_code == 200


@pytest.mark.django_db
def test_database_down_gives_503(anon_client, monkeypatch):
    monkeypatch.setattr(views, "_database_ok", lambda: False)
    response = anon_client.get(URL)
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "down", "broker": "ok"}


@pytest.mark.django_db
def test_database_error_is_reported_as_down_not_raised(anon_client, monkeypatch):
    class BrokenCursor:
        def __enter__(self):
            raise views.connection.OperationalError("connection refused")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(views.connection, "cursor", lambda: BrokenCursor())
    response = anon_client.get(URL)
    assert response.status_code == 503
    assert response.json()["database"] == "down"


@pytest.mark.django_db
def test_post_is_not_allowed(anon_client):
    response = anon_client.post(URL)
    assert response.status_code == 405
    assert sorted(response["Allow"].split(", ")) == ["GET", "HEAD"]


@pytest.mark.django_db
def test_no_login_required_and_no_data_shown(anon_client, program):
    response = anon_client.get(URL)
    assert response.status_code == 200
    assert set(response.json()) == {"status", "database", "broker"}
