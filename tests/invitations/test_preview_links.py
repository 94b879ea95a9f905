"""Email previews show links on this deployment's address (PUBLIC_BASE_URL)."""

import html

import pytest
from django.urls import reverse

from invitations.email_kinds import EmailKind as InvitationEmail
from pairing.email_kinds import EmailKind as PairingEmail
from tests import factories

BASE = "https://mentoring.acme.test"


@pytest.fixture
def base_url(settings):
    settings.PUBLIC_BASE_URL = BASE
    return BASE


def _shown(response) -> str:
    # The preview sits escaped in an iframe's srcdoc: unescape to read the links.
    return html.unescape(response.content.decode())


def test_invite_prompt_preview_links_to_this_deployment(live, base_url, org_admin_client):
    factories.ParticipantFactory(program=live, first_name="Aaron")
    response = org_admin_client.get(reverse("invite:all", kwargs={"program_id": live.pk}))

    shown = _shown(response)
    assert response.status_code == 200
    assert f"{BASE}/p/sample-personal-link" in shown
    assert "pairing.example.org" not in shown


@pytest.mark.parametrize("kind", [InvitationEmail.INVITATION, PairingEmail.MENTOR_REQUEST])
def test_template_editor_preview_links_to_this_deployment(
    program, base_url, org_admin_client, kind
):
    url = reverse("email_templates:edit", kwargs={"program_id": program.pk, "kind": kind})
    response = org_admin_client.get(url)

    shown = _shown(response)
    assert response.status_code == 200
    assert f'<a href="{BASE}/p/sample-personal-link' in shown  # linked, as ours are
    assert "pairing.example.org" not in shown
