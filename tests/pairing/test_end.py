"""End Pairing: reason, notification through the outbox, do not pair again, bulk, races."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from pairing import request_selectors, services
from pairing.email_kinds import EmailKind
from pairing.models import MentoringSession, Pairing
from pairing.seats import active_pairings_of
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.models import OutboundEmail
from programs.models import ActivityEvent
from tests import factories
from tests.support.builders import pair


def _end_url(program, pairing):
    return reverse("pairing:end", kwargs={"program_id": program.pk, "pairing_id": pairing.pk})


def test_end_with_notification_emails_both_and_frees_the_mentor(program, org_admin):
    mentor = factories.MentorFactory(program=program, capacity=1, first_name="Mona")
    pairing = pair(program, days_ago=20, mentor=mentor)
    assert active_pairings_of(mentor.pk) == 1
    services.pairing_end(
        program=program, pairing_id=pairing.pk, user=org_admin, reason="Moved team", notify=True
    )
    pairing.refresh_from_db()
    assert pairing.status == "ended" and pairing.ended_by == org_admin
    assert pairing.end_reason == "Moved team" and pairing.ended_at is not None
    assert active_pairings_of(mentor.pk) == 0
    emails = OutboundEmail.objects.filter(kind=EmailKind.PAIRING_ENDED)
    assert {e.idempotency_key for e in emails} == {
        f"pairing_ended:{pairing.pk}:{pairing.mentee_id}",
        f"pairing_ended:{pairing.pk}:{pairing.mentor_id}",
    }
    to_mentee = emails.get(to_email=pairing.mentee.email)
    assert "Mona" in to_mentee.body_text and "Moved team" not in to_mentee.body_text
    event = ActivityEvent.objects.get(verb="pairing_ended")
    assert event.actor == org_admin and "Moved team" in event.detail


def test_end_without_notification_sends_nothing(program, org_admin):
    pairing = pair(program)
    services.pairing_end(
        program=program, pairing_id=pairing.pk, user=org_admin, reason="x", notify=False
    )
    assert not OutboundEmail.objects.exists()


def test_end_cancels_upcoming_sessions_only(program, org_admin):
    pairing = pair(program, days_ago=30, sessions=[3])
    MentoringSession.objects.create(
        program=program, pairing=pairing, date=timezone.localdate() + timedelta(days=5),
        minutes=30, status="scheduled",
    )  # fmt: skip
    services.pairing_end(
        program=program, pairing_id=pairing.pk, user=org_admin, reason="x", notify=False
    )
    today = timezone.localdate()
    held, upcoming = pairing.sessions.get(date__lte=today), pairing.sessions.get(date__gt=today)
    assert held.status == "logged"
    assert upcoming.status == "cancelled" and upcoming.cancelled_at is not None


def test_ending_twice_is_refused_and_sends_one_set_of_emails(program, org_admin):
    pairing = pair(program)
    services.pairing_end(program=program, pairing_id=pairing.pk, user=org_admin, reason="a", notify=True)  # fmt: skip
    with pytest.raises(DomainError, match="already ended"):
        services.pairing_end(program=program, pairing_id=pairing.pk, user=org_admin, reason="b", notify=True)  # fmt: skip
    assert OutboundEmail.objects.count() == 2
    assert Pairing.objects.get(pk=pairing.pk).end_reason == "a"


def test_reason_is_required(program, org_admin):
    pairing = pair(program)
    with pytest.raises(DomainError, match="why"):
        services.pairing_end(program=program, pairing_id=pairing.pk, user=org_admin, reason=" ", notify=True)  # fmt: skip


def test_other_programs_pairing_cannot_be_ended(program, org_admin, other_org):
    stranger = pair(factories.ProgramFactory(organization=other_org))
    with pytest.raises(DomainError, match="no such pairing"):
        services.pairing_end(program=program, pairing_id=stranger.pk, user=org_admin, reason="x", notify=True)  # fmt: skip
    assert Pairing.objects.get(pk=stranger.pk).status == "active"


def test_do_not_pair_again_is_kept_for_recommendations(program, org_admin):
    pairing = pair(program)
    services.pairing_end(
        program=program, pairing_id=pairing.pk, user=org_admin, reason="Clash",
        notify=False, do_not_pair_again=True,
    )  # fmt: skip
    assert request_selectors.do_not_pair_again_pairs(program) == {
        (pairing.mentee_id, pairing.mentor_id)
    }


def test_mentee_can_be_paired_again_after_the_end(program, org_admin):
    pairing = pair(program)
    services.pairing_end(program=program, pairing_id=pairing.pk, user=org_admin, reason="x", notify=False)  # fmt: skip
    again = pair(program, mentee=pairing.mentee)
    assert again.status == "active"


def test_bulk_end_ends_only_active_selected_pairings(program, org_admin):
    a, b, c = pair(program), pair(program), pair(program)
    services.pairing_end(program=program, pairing_id=c.pk, user=org_admin, reason="x", notify=False)  # fmt: skip
    count = services.pairing_end_bulk(
        program=program, pairing_ids=[a.pk, b.pk, c.pk], user=org_admin, reason="Cohort over",
        notify=True,
    )  # fmt: skip
    assert count == 2
    assert OutboundEmail.objects.filter(kind=EmailKind.PAIRING_ENDED).count() == 4
    assert ActivityEvent.objects.get(verb="pairings_ended").detail.startswith("2 pairings")


def test_confirmation_page_then_post_ends_and_redirects(program, org_admin_client):
    pairing = pair(program)
    page = org_admin_client.get(_end_url(program, pairing)).content.decode()
    assert "Reason (seen by admins only)" in page and "Notify mentee and mentor" in page
    assert "Do not pair again" in page
    assert Pairing.objects.get(pk=pairing.pk).status == "active"  # GET changes nothing
    response = org_admin_client.post(
        _end_url(program, pairing), {"reason": "Done", "notify": "on", "do_not_pair_again": "on"}
    )
    assert response.status_code == 302
    assert response.url == reverse("pairing:active", kwargs={"program_id": program.pk})
    pairing.refresh_from_db()
    assert pairing.status == "ended" and pairing.do_not_pair_again
    assert OutboundEmail.objects.count() == 2


def test_post_without_reason_shows_the_form_again(program, org_admin_client):
    pairing = pair(program)
    response = org_admin_client.post(_end_url(program, pairing), {"reason": ""})
    assert response.status_code == 400
    assert "Say why the pairing ends." in response.content.decode()
    assert Pairing.objects.get(pk=pairing.pk).status == "active"


def test_bulk_confirmation_lists_selected_then_post_ends(program, org_admin_client):
    a, b = pair(program), pair(program)
    url = reverse("pairing:end_bulk", kwargs={"program_id": program.pk})
    page = org_admin_client.get(f"{url}?pairing={a.pk}&pairing={b.pk}").content.decode()
    assert "End 2 pairings" in page
    response = org_admin_client.post(url, {"pairing": [a.pk, b.pk], "reason": "Cohort over"})
    assert response.status_code == 302
    assert Pairing.objects.filter(status="ended").count() == 2
    assert not OutboundEmail.objects.exists()  # notify unchecked


def test_outsider_gets_404_for_every_method(program, other_admin_client):
    pairing = pair(program)
    for method in ("get", "post", "put"):
        assert getattr(other_admin_client, method)(_end_url(program, pairing)).status_code == 404
    assert Pairing.objects.get(pk=pairing.pk).status == "active"


def test_bulk_end_submitted_twice_says_the_pairings_were_already_ended(program, org_admin_client):
    a, b = pair(program), pair(program)
    url = reverse("pairing:end_bulk", kwargs={"program_id": program.pk})
    data = {"pairing": [a.pk, b.pk], "reason": "Cohort over", "notify": "on"}
    assert org_admin_client.post(url, data).status_code == 302

    again = org_admin_client.post(url, data)

    html = again.content.decode()
    assert again.status_code == 409
    assert "These pairings were already ended" in html
    assert "Select at least one pairing" not in html
    assert OutboundEmail.objects.count() == 4  # the first submit's emails only
    assert ActivityEvent.objects.filter(verb="pairings_ended").count() == 1


def test_bulk_end_of_pairings_from_elsewhere_ends_nothing(program, org_admin):
    other = pair(factories.ProgramFactory(organization=program.organization))
    with pytest.raises(DomainError, match="None of the selected pairings is in this program"):
        services.pairing_end_bulk(
            program=program, pairing_ids=[other.pk], user=org_admin, reason="x", notify=False
        )
    assert Pairing.objects.get(pk=other.pk).status == "active"
