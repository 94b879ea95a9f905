"""Every named URL of the admin UI, walked as the three roles.

New views are covered automatically: a URL whose parameters this test cannot
fill fails until a sample is added to tests/support/url_walk.py, and a view
meant to be public must be listed in PUBLIC there with the reason.
"""

from django.urls import reverse

from tests.support.marker import MARKER
from tests.support.url_walk import STAFF_ONLY, admin_urls


def test_anonymous_visitor_is_sent_to_login_everywhere(url_samples, anon_client):
    for name, url in admin_urls(url_samples):
        for method in ("get", "post"):
            response = getattr(anon_client, method)(url)
            assert response.status_code == 302, (name, method, response.status_code)
            assert response.url.startswith(reverse("login")), (name, response.url)


def test_admin_of_another_organization_gets_404_and_no_data(url_samples, other_admin_client):
    for name, url in admin_urls(url_samples):
        if "program_id" not in url and not any(str(v) in url for v in url_samples.values()):
            continue  # organization-wide pages (program list) are checked below
        for method in ("get", "post"):
            response = getattr(other_admin_client, method)(url)
            assert response.status_code == 404, (name, method, response.status_code)
            assert MARKER not in response.content.decode(), name


def test_pages_without_ids_show_another_organization_nothing(url_samples, other_admin_client):
    for name, url in admin_urls(url_samples):
        response = other_admin_client.get(url)
        assert MARKER not in response.content.decode(), name


def test_admin_of_the_organization_reaches_every_page(url_samples, org_admin_client):
    for name, url in admin_urls(url_samples):
        response = org_admin_client.get(url)
        if name in STAFF_ONLY:
            assert response.status_code == 404, name
            continue
        assert response.status_code in (200, 302, 405), (name, response.status_code)


def test_removed_admin_loses_access_on_next_click(url_samples, org_admin, org_admin_client):
    url = reverse("programs:detail", kwargs={"program_id": url_samples["program_id"]})
    assert org_admin_client.get(url).status_code == 200
    org_admin.memberships.all().delete()
    response = org_admin_client.get(url)
    assert response.status_code == 403
    assert MARKER not in response.content.decode()
