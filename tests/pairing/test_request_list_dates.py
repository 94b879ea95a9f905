"""The admin's requests list shows dates in the organization's time zone."""

from datetime import UTC, datetime, timedelta

from django.urls import reverse

from pairing.models import MentorRequest
from tests import factories


def test_made_and_decided_dates_are_the_organizations(org, org_admin_client):
    org.timezone = "Pacific/Auckland"
    org.save()
    program = factories.ProgramFactory(organization=org)
    made = datetime(2026, 1, 1, 12, 30, tzinfo=UTC)  # 2 Jan 01:30 in Auckland
    request = factories.MentorRequestFactory(
        program=program, expires_at=made + timedelta(days=3), status="declined", decided_at=made
    )
    MentorRequest.objects.filter(pk=request.pk).update(created_at=made)
    page = org_admin_client.get(reverse("requests:list", kwargs={"program_id": program.pk}))
    html = page.content.decode()
    assert "2 Jan 2026, 01:30" in html  # decided
    assert '<td class="nowrap">2 Jan 2026</td>' in html  # made
    assert "1 Jan 2026" not in html
