"""The whole request flow on a phone, reading every email from the SMTP receiver.

invite -> the mentee ranks two mentors -> the first declines with a message
-> (default) the declined email carries it and the mentee requests the
second / (next-choice setting) the request moves to the second by itself
-> the second approves -> both get Mentorship Assignments.
"""

import re
import time

import pytest

from invitations.services import invitation_send_selected
from programs.models import Program
from tests import factories
from tests.support.browser import assert_no_horizontal_scroll
from tests.support.smtp import text_of

LINK = re.compile(r"https?://[^\s<>\"]+")


def _link(message, marker: str) -> str:
    """The path of the first link in an email that contains `marker` ("/p/", "/r/")."""
    for url in LINK.findall(text_of(message)):
        if marker in url:
            return "/" + url.split("://", 1)[1].split("/", 1)[1]
    raise AssertionError(f"no {marker} link in: {text_of(message)}")


def _emails_to(smtp, person, count):
    """Wait until `count` emails reached this person (tasks run eagerly, so it is quick)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = smtp.to(person.email)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(
        f"expected {count} emails to {person.email}, got {_subjects(smtp, person)}"
    )


def _submit(page, name: str) -> None:
    """Click a button that posts, once the page's own axe run has reported.

    The harness holds a navigation until the page it leaves was audited; on a
    busy machine that wait plus the POST (which sends its emails at once,
    tasks being eager) can outlast the default action timeout.
    """
    page.wait_for_load_state()
    page.evaluate("window.__e2eAxeOnLoad")
    page.get_by_role("button", name=name).click(timeout=30_000)


def _subjects(smtp, person):
    return [str(m["Subject"]) for m in smtp.to(person.email)]


@pytest.mark.parametrize("after_decline", list(Program.AfterDecline))
def test_request_flow_from_invitation_to_mentorship_assignments(
    phone_page, live_server, smtp_server, after_decline
):
    admin = factories.MembershipFactory().user
    program = factories.ProgramFactory(
        organization=admin.memberships.get().organization,
        name="Spring mentoring",
        pairing_enabled=True,
        after_decline=after_decline,
    )
    mentee = factories.ParticipantFactory(
        program=program, first_name="Mia", goals=["Design", "Leadership"]
    )
    first = factories.MentorFactory(
        program=program, first_name="Farah", skills=["Leadership", "Design"]
    )
    second = factories.MentorFactory(program=program, first_name="Sam", skills=["Design"])
    page = phone_page
    page.set_default_timeout(30_000)  # each POST sends its emails before it answers

    invitation_send_selected(program=program, user=admin, mentee_ids=[mentee.pk], expected=1)
    [invitation] = _emails_to(smtp_server, mentee, 1)

    page.goto(_link(invitation, "/p/"))
    page.get_by_role("heading", name="Submit Your Mentor Preferences").wait_for()
    assert_no_horizontal_scroll(page)
    page.get_by_label(f"Your choice for {first.full_name}").select_option(label="1st choice")
    page.get_by_label(f"Your choice for {second.full_name}").select_option(label="2nd choice")
    page.get_by_label("A note to your mentor").fill("I'd love to grow as a design lead.")
    _submit(page, "Send my request")
    page.get_by_text(f"Your request is with {first.full_name}").wait_for()
    assert_no_horizontal_scroll(page)

    [request_email] = _emails_to(smtp_server, first, 1)
    assert "I'd love to grow as a design lead." in text_of(request_email)
    decline_path = [
        "/" + u.split("://", 1)[1].split("/", 1)[1]
        for u in LINK.findall(text_of(request_email))
        if "/r/" in u
    ][1]
    page.goto(decline_path)
    page.get_by_role("heading", name=f"Decline {mentee.full_name}'s request?").wait_for()
    assert_no_horizontal_scroll(page)
    page.get_by_label("A message to the mentee").fill("I'm on leave this term, sorry!")
    _submit(page, "Decline the request")
    page.get_by_role("heading", name="Request declined").wait_for()

    if after_decline == Program.AfterDecline.CHOOSE_AGAIN:
        emails = _emails_to(smtp_server, mentee, 2)
        declined = emails[-1]
        assert "I'm on leave this term, sorry!" in text_of(declined)
        page.goto(_link(declined, "/p/"))
        page.get_by_text("I'm on leave this term, sorry!").wait_for()
        page.get_by_label(f"Your choice for {second.full_name}").select_option(label="1st choice")
        _submit(page, "Send my request")
        page.get_by_text(f"Your request is with {second.full_name}").wait_for()
    else:
        emails = _emails_to(smtp_server, mentee, 2)
        assert second.full_name in text_of(emails[-1])  # told where the request went

    [second_request] = _emails_to(smtp_server, second, 1)
    page.goto(_link(second_request, "/r/"))  # the first /r/ link is Approve
    page.get_by_role("heading", name=f"Approve {mentee.full_name}'s request?").wait_for()
    assert_no_horizontal_scroll(page)
    _submit(page, "Approve and pair us")
    page.get_by_role("heading", name=f"You're paired with {mentee.full_name}").wait_for()

    to_mentee = _emails_to(smtp_server, mentee, 3)[-1]
    [_, to_second] = _emails_to(smtp_server, second, 2)
    for message, partner in ((to_mentee, second), (to_second, mentee)):
        assert str(message["Subject"]).startswith("Mentorship Assignments")
        assert partner.full_name in text_of(message)
    assert len(smtp_server.to(first.email)) == 1  # Farah got only the request
