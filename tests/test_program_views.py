"""What every program-scoped admin view shares (programs.access.program_view, lib.htmx).

A page that can answer with a fragment says so in `Vary`, so no cache hands
the fragment to a full-page request. An outsider gets 404 whatever the
method, before any 405 that would tell them the URL exists.
"""

import pytest
from django.urls import reverse

from invitations.models import InvitationBatch
from tests import factories

# (URL name, the htmx target that gets a fragment)
FRAGMENT_PAGES = [
    ("programs:participants", "participant-results"),
    ("programs:pairing", "pairing-panel"),
    ("email_log:list", "email-log-results"),
    ("invitations:support_request", "support-panel"),
    ("pairing:unpaired", "unpaired-results"),
    ("pairing:active", "active-results"),
    ("pairing:health", "pairing-panel"),
    ("pairing:waitlist", "waitlist-results"),
    ("pairing:autopair", "pairing-panel"),
    ("requests:list", "request-results"),
]


def _vary(response) -> set[str]:
    return {part.strip().lower() for part in response.get("Vary", "").split(",")}


@pytest.mark.parametrize(("name", "target"), FRAGMENT_PAGES)
def test_page_and_its_fragment_vary_on_the_htmx_headers(name, target, live, org_admin_client):
    url = reverse(name, kwargs={"program_id": live.pk})
    page = org_admin_client.get(url)
    fragment = org_admin_client.get(url, headers={"HX-Request": "true", "HX-Target": target})
    assert page.status_code == fragment.status_code == 200
    assert "<html" in page.content.decode() and "<html" not in fragment.content.decode()
    for response in (page, fragment):
        assert _vary(response) >= {"hx-request", "hx-target", "cookie"}, name


def test_invite_batch_progress_and_its_fragment_vary_on_the_htmx_headers(live, org_admin_client):
    batch = InvitationBatch.objects.create(program=live, kind="all")
    url = reverse("invite:batch", kwargs={"program_id": live.pk, "batch_id": batch.pk})
    page = org_admin_client.get(url)
    fragment = org_admin_client.get(
        url, headers={"HX-Request": "true", "HX-Target": "batch-progress"}
    )
    assert page.status_code == fragment.status_code == 200
    assert "<html" in page.content.decode() and "<html" not in fragment.content.decode()
    for response in (page, fragment):
        assert _vary(response) >= {"hx-request", "hx-target", "cookie"}


def _post_only_urls(program, user):
    mentee = factories.ParticipantFactory(program=program)
    ids = {"program_id": program.pk}
    return [
        reverse("programs:pairing_step_done", kwargs={**ids, "step": "integrations"}),
        reverse("programs:pairing_step_undo", kwargs={**ids, "step": "integrations"}),
        reverse("pairing:waitlist_remove", kwargs={**ids, "mentee_id": mentee.pk}),
        reverse("requests:cancel", kwargs={**ids, "request_id": 1}),
        reverse("email_log:resend", kwargs={**ids, "email_id": 1}),
        reverse("email_templates:reset", kwargs={**ids, "kind": "invitation"}),
        reverse("invite:batch_stop", kwargs={**ids, "batch_id": 1}),
    ]


def test_outsider_gets_404_before_405_on_a_post_only_url(
    program, org_admin, org_admin_client, other_admin_client
):
    for url in _post_only_urls(program, org_admin):
        # The program's own admin learns the method is wrong...
        assert org_admin_client.get(url).status_code == 405, url
        # ...an admin of another organization learns nothing, whatever the method.
        for method in ("get", "put", "delete", "post"):
            assert getattr(other_admin_client, method)(url).status_code == 404, (url, method)


def test_unknown_program_is_404_for_any_method(org_admin_client):
    url = reverse("programs:pairing_step_done", kwargs={"program_id": 10**9, "step": "x"})
    assert org_admin_client.get(url).status_code == 404
    assert org_admin_client.post(url).status_code == 404
