"""An admin invites all mentees: Unpaired Mentees -> Not Invited by Admin -> Invite all
Mentees -> the prompt -> Send Emails -> progress; an invitation arrives and its link works."""

import re

import pytest

from programs.models import Participant
from programs.services import pairing_turn_on
from tests import factories
from tests.support.browser import login
from tests.support.smtp import text_of

LINK = re.compile(r"https?://\S+/p/[A-Za-z0-9_-]+/")


@pytest.fixture
def admin():
    return factories.MembershipFactory(organization__name="Northwind Mentoring").user


@pytest.fixture
def program(admin):
    program = factories.ProgramFactory(
        organization=admin.memberships.get().organization, name="Spring Cohort"
    )
    pairing_turn_on(program=program, user=admin)  # the precondition: pairing is on
    for first, last in [("Bea", "Brook"), ("Ada", "Alder"), ("Cy", "Cole")]:
        factories.ParticipantFactory(
            program=program, first_name=first, last_name=last, email=f"{first.lower()}@example.org"
        )
    factories.MentorFactory(program=program, first_name="Mo", last_name="Mentor")
    return program


def test_invite_all_mentees_sends_emails_whose_link_opens_the_mentees_page(
    page, live_server, admin, program, smtp_server, settings
):
    settings.PUBLIC_BASE_URL = live_server.url
    login(page, live_server, admin)
    page.goto(f"/programs/{program.pk}/pairing/unpaired/")
    page.get_by_role("link", name=re.compile(r"^Not Invited by Admin")).click()
    assert "3" in page.get_by_role("link", name=re.compile(r"^Not Invited by Admin")).inner_text()
    page.get_by_role("link", name="Invite all Mentees").click()

    page.get_by_text("3 emails").wait_for()
    assert page.get_by_text("As Ada Alder will see it").is_visible()
    assert page.get_by_role("link", name="Edit the email template").is_visible()
    assert page.frame_locator("iframe.email-preview").get_by_text("Hi Ada,").is_visible()
    page.get_by_role("button", name="Send Emails").click()

    page.get_by_role("heading", name=re.compile("Invite all Mentees: 3 emails")).wait_for()
    page.get_by_text("3 sent, 0 failed, 3 in total").wait_for(timeout=15_000)  # htmx polling

    smtp_server.wait_for(3)
    (message,) = smtp_server.to("ada@example.org")
    text = text_of(message)
    assert "Hi Ada," in text
    link = LINK.search(text).group(0)
    page.goto(link)
    ada = Participant.objects.get(email="ada@example.org")
    assert ada.first_name in page.content()
    assert "Spring Cohort" in page.content()

    page.goto(f"/programs/{program.pk}/pairing/unpaired/?sub=invited")
    assert page.get_by_role("cell", name="Ada Alder", exact=True).is_visible()


def test_stop_sending_goes_away_when_the_batch_is_done_without_a_reload(
    page, live_server, admin, program
):
    from invitations.services import invitation_send_all
    from pairing_admin.mail.models import OutboundEmail

    batch = invitation_send_all(program=program, user=admin, expected=3)
    emails = OutboundEmail.objects.filter(batch_id=batch.pk)
    emails.update(status=OutboundEmail.Status.QUEUED, sent_at=None)  # as if not sent yet
    login(page, live_server, admin)
    page.goto(f"/programs/{program.pk}/invite/batches/{batch.pk}/")
    stop = page.get_by_role("button", name="Stop sending")
    assert stop.is_visible()
    page.get_by_text("3 in line for a worker").wait_for()

    emails.update(status=OutboundEmail.Status.SENT)  # the worker finishes meanwhile
    page.get_by_text("Done").wait_for(timeout=15_000)  # htmx polling
    assert stop.count() == 0
    assert page.get_by_text("3 sent, 0 failed, 3 in total.").is_visible()
