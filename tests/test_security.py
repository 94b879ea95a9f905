import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests import factories

PASSWORD = "correct horse battery staple"


def test_pages_send_a_strict_content_security_policy(org_admin_client):
    response = org_admin_client.get(reverse("programs:list"))
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_scripts_and_load_htmx_locally(org_admin_client):
    html = org_admin_client.get(reverse("programs:list")).content.decode()
    assert "/static/django_htmx/htmx-2.min.js" in html
    assert "<script>" not in html and " onclick=" not in html and "style=" not in html


def test_session_cookie_is_httponly_and_samesite(db, client, settings):
    factories.UserFactory(username="ada@example.org")
    response = client.post(reverse("login"), {"username": "ada@example.org", "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_idle_session_expires(settings):
    assert settings.SESSION_COOKIE_AGE <= 8 * 3600
    assert not settings.SESSION_SAVE_EVERY_REQUEST


@pytest.mark.django_db
def test_using_a_session_pushes_its_expiry_ahead_at_most_once_a_minute(client, monkeypatch):
    from django.contrib.sessions.models import Session

    from pairing_admin import middleware

    client.force_login(factories.MembershipFactory().user)
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + timedelta(minutes=5)
    )

    def expiry():
        return Session.objects.get(session_key=key).expire_date

    client.get(reverse("programs:list"))  # the first use renews it
    renewed = expiry()
    assert renewed > timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)
    Session.objects.filter(session_key=key).update(expire_date=renewed - timedelta(minutes=1))
    client.get(reverse("programs:list"))  # within the minute: no write
    assert expiry() == renewed - timedelta(minutes=1)

    later = time.time() + settings.SESSION_REFRESH_SECONDS
    monkeypatch.setattr(middleware, "time", SimpleNamespace(time=lambda: later))
    client.get(reverse("programs:list"))
    assert expiry() > renewed - timedelta(minutes=1)


@pytest.mark.django_db
def test_a_visitor_without_a_session_gets_none(client):
    from django.contrib.sessions.models import Session

    client.get(reverse("healthz"))
    client.get(reverse("login"))
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_repeated_failed_logins_lock_the_account_out(client, settings):
    factories.MembershipFactory(user__username="ada@example.org")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(
            reverse("login"), {"username": "ada@example.org", "password": "wrong"}
        )
    response = client.post(reverse("login"), {"username": "ada@example.org", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert get_user_model().objects.filter(username="ada@example.org").exists()


@pytest.mark.django_db
def test_a_correct_password_logs_in_before_the_limit(client):
    factories.MembershipFactory(user__username="ada@example.org")
    client.post(reverse("login"), {"username": "ada@example.org", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "ada@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("programs:list")


def test_login_page_rejects_a_wrong_password_with_a_message(db, client):
    factories.UserFactory(username="ada@example.org")
    response = client.post(reverse("login"), {"username": "ada@example.org", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct" in response.content.decode()


# --- Per-address lockout across usernames (credential stuffing) -----------------


def _login(client, username: str, password: str = "wrong", **meta):
    return client.post(reverse("login"), {"username": username, "password": password}, **meta)


def _stuff(client, count: int, forwarded_for=None, **meta) -> None:
    """`count` failed logins, one per username, so no account reaches its own limit.

    `forwarded_for(n)` gives the n-th request's X-Forwarded-For. The failure
    reaching a limit is itself answered with the lockout page.
    """
    for n in range(count):
        if forwarded_for:
            meta["HTTP_X_FORWARDED_FOR"] = forwarded_for(n)
        response = _login(client, f"user{n}@example.org", **meta)
        if n < count - 1:
            assert response.status_code == 200, n


@pytest.mark.django_db
def test_many_usernames_from_one_address_lock_the_address_out(client, settings):
    factories.MembershipFactory(user__username="ada@example.org")
    assert settings.LOGIN_IP_FAILURE_LIMIT == 20
    _stuff(client, settings.LOGIN_IP_FAILURE_LIMIT, REMOTE_ADDR="203.0.113.9")

    response = _login(client, "ada@example.org", PASSWORD, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session

    elsewhere = Client()
    response = _login(elsewhere, "ada@example.org", PASSWORD, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 302


@pytest.mark.django_db
def test_failures_below_the_address_limit_still_let_a_correct_password_in(client, settings):
    settings.LOGIN_IP_FAILURE_LIMIT = 8
    factories.MembershipFactory(user__username="ada@example.org")
    _stuff(client, 7, REMOTE_ADDR="203.0.113.9")
    response = _login(client, "ada@example.org", PASSWORD, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302


@pytest.mark.django_db
def test_a_successful_login_does_not_clear_the_addresss_failures(client, settings):
    settings.LOGIN_IP_FAILURE_LIMIT = 6
    factories.MembershipFactory(user__username="ada@example.org")
    factories.MembershipFactory(user__username="own@example.org")
    _stuff(client, 5, REMOTE_ADDR="203.0.113.9")
    # The attacker logs into an account of their own, then goes on.
    assert (
        _login(Client(), "own@example.org", PASSWORD, REMOTE_ADDR="203.0.113.9").status_code == 302
    )
    _login(client, "user99@example.org", REMOTE_ADDR="203.0.113.9")
    response = _login(Client(), "ada@example.org", PASSWORD, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429


@pytest.mark.django_db
def test_forged_forwarded_for_does_not_escape_the_address_lockout(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    factories.MembershipFactory(user__username="ada@example.org")
    _stuff(
        client,
        settings.LOGIN_IP_FAILURE_LIMIT,
        forwarded_for=lambda n: f"198.51.100.{n + 1}",
        REMOTE_ADDR="203.0.113.9",
    )
    response = _login(
        client,
        "ada@example.org",
        PASSWORD,
        REMOTE_ADDR="203.0.113.9",
        HTTP_X_FORWARDED_FOR="192.0.2.77",
    )
    assert response.status_code == 429


@pytest.mark.django_db
def test_behind_one_proxy_the_address_the_proxy_saw_is_locked_out(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    factories.MembershipFactory(user__username="ada@example.org")
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    # The client forges the left entries; our proxy appends what it saw.
    _stuff(
        client,
        settings.LOGIN_IP_FAILURE_LIMIT,
        forwarded_for=lambda n: f"192.0.2.{n + 1}, 203.0.113.9",
        **proxy,
    )

    locked = _login(
        client,
        "ada@example.org",
        PASSWORD,
        HTTP_X_FORWARDED_FOR="192.0.2.250, 203.0.113.9",
        **proxy,
    )
    assert locked.status_code == 429
    # Someone else behind the same proxy is not locked out.
    other = _login(
        Client(), "ada@example.org", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy
    )
    assert other.status_code == 302


@pytest.mark.django_db
def test_a_forwarded_entry_that_is_no_address_falls_back_to_what_the_socket_saw(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    response = _login(
        client, "ada@example.org", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-address"
    )
    assert response.status_code == 200
    assert AccessAttempt.objects.get().ip_address == "10.0.0.2"


def test_a_login_made_in_code_has_no_address_and_is_logged_without_one(org_admin, client):
    client.force_login(org_admin)  # a request without REMOTE_ADDR
    assert client.get(reverse("programs:list")).status_code == 200
    assert AccessLog.objects.get(username=org_admin.username).ip_address is None
