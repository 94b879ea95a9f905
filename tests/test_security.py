import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

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
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE <= 8 * 3600


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
