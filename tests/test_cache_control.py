"""Pages for a logged-in user are never stored: `Cache-Control: private, no-store`.

Walks every admin URL of the URL walk (tests/test_url_walk.py) as the
organization's admin, an admin of another organization and the deployment's
staff; static files and /healthz keep their own caching. Pages opened from a
personal link send `no-store` themselves (tests/pairing/test_preferences.py).
"""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.cache import get_max_age

from tests.support.url_walk import admin_urls

PRIVATE = {"private", "no-store"}


def _directives(response) -> set[str]:
    return {part.strip().split("=")[0] for part in response.get("Cache-Control", "").split(",")}


def _assert_private(response, name: str) -> None:
    directives = _directives(response)
    assert directives >= PRIVATE, (name, response.status_code, response.get("Cache-Control"))
    assert "public" not in directives, name


@pytest.fixture
def staff_client(db, django_user_model):
    client = Client()
    client.force_login(
        django_user_model.objects.create_superuser("ops@example.org", password="x" * 12)
    )
    return client


def test_every_admin_page_is_private_and_not_stored(url_samples, org_admin_client):
    urls = admin_urls(url_samples)
    for name, url in urls:
        response = org_admin_client.get(url)
        _assert_private(response, name)
        fragment = org_admin_client.get(url, HTTP_HX_REQUEST="true")
        _assert_private(fragment, f"{name} (fragment)")


def test_refusals_to_another_organizations_admin_are_not_stored_either(
    url_samples,
    other_admin_client,
):
    for name, url in admin_urls(url_samples):
        _assert_private(other_admin_client.get(url), name)


def test_staff_pages_and_redirects_after_a_post_are_not_stored(
    staff_client, django_capture_on_commit_callbacks
):
    _assert_private(staff_client.get(reverse("system")), "system")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("system"))
    assert response.status_code == 302
    _assert_private(response, "system POST")


def test_exports_keep_no_store_and_become_private(url_samples, org_admin_client):
    exports = [(n, u) for n, u in admin_urls(url_samples) if "export" in n]
    assert exports, "no export URL found in the URL walk"
    for name, url in exports:
        response = org_admin_client.get(url)
        assert response.status_code == 200, name
        _assert_private(response, name)


def test_healthz_still_answers_probes_with_its_own_header(db, anon_client, org_admin_client):
    for client in (anon_client, org_admin_client):
        response = client.get(reverse("healthz"))
        assert response.status_code == 200
        assert "no-cache" in _directives(response)
    assert "private" not in _directives(anon_client.get(reverse("home")))


def test_static_files_stay_cacheable_for_a_logged_in_admin(org_admin, settings):
    # WhiteNoise answers static files before the session is read; the app's
    # CSS must not be refetched on every page because the visitor is logged in.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    client = Client()  # a new client: WhiteNoise reads its settings on the first request
    client.force_login(org_admin)
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in _directives(response)
    assert get_max_age(response) is not None and get_max_age(response) > 0
