"""The waitlist in the browser, reading every email from the SMTP receiver.

Theo has one seat, taken by Ola. Mia is invited, finds no mentor with room and
joins the waitlist for Theo (on a phone) -> an admin ends Ola's pairing and puts
Ola first in line (on a desktop) -> the freed seat goes to Mia all the same
(Ola is never offered the mentor she just left): Mia is told her request is
with Theo, Theo gets it and approves -> both get Mentorship Assignments.
"""

import re
import time

from invitations.services import invitation_send_selected
from pairing.services import pairing_create_by_admin
from programs.models import Program
from tests import factories
from tests.support.browser import DESKTOP, assert_no_horizontal_scroll, login
from tests.support.smtp import text_of

LINK = re.compile(r"https?://[^\s<>\"]+")


def _links(message, marker: str) -> list[str]:
    """The paths of the links in an email that contain `marker` ("/p/", "/r/"), in order."""
    paths = [
        "/" + url.split("://", 1)[1].split("/", 1)[1]
        for url in LINK.findall(text_of(message))
        if marker in url
    ]
    assert paths, f"no {marker} link in: {text_of(message)}"
    return paths


def _email(smtp, person, subject: str):
    """Wait for the one email to this person whose subject starts with `subject`.

    Matched by subject, not position: one transaction's emails (the "pairing
    ended" ones and the offer) may arrive in any order.
    """
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [m for m in smtp.to(person.email) if str(m["Subject"]).startswith(subject)]
        if found:
            assert len(found) == 1, f"{len(found)} emails to {person.email}: {subject}"
            return found[0]
        time.sleep(0.05)
    raise AssertionError(
        f"no email to {person.email} starting {subject!r}; got {_subjects(smtp, person)}"
    )


def _subjects(smtp, person) -> list[str]:
    return [str(m["Subject"]) for m in smtp.to(person.email)]


def _submit(page, name: str) -> None:
    """Click a button that posts, once the page's own axe run has reported (see
    test_request_flow: the harness holds the navigation until then, and the POST
    sends its emails before it answers)."""
    page.wait_for_load_state()
    page.evaluate("window.__e2eAxeOnLoad")
    page.get_by_role("button", name=name).click(timeout=30_000)


def test_waitlisted_mentee_gets_the_seat_an_ended_pairing_frees_and_is_paired(
    phone_page, new_page, live_server, smtp_server
):
    admin = factories.MembershipFactory().user
    program = factories.ProgramFactory(
        organization=admin.memberships.get().organization,
        name="Spring mentoring",
        pairing_enabled=True,
        pairing_process=Program.Process.USER_LED_APPROVAL,
        waitlist_enabled=True,
    )
    mentor = factories.MentorFactory(
        program=program, first_name="Theo", last_name="Brandt", capacity=1, skills=["Design"]
    )
    ola = factories.ParticipantFactory(program=program, first_name="Ola", last_name="Nowak")
    mia = factories.ParticipantFactory(
        program=program, first_name="Mia", last_name="Lopez", goals=["Design"]
    )
    pairing_create_by_admin(program=program, mentee_id=ola.pk, mentor_id=mentor.pk, user=admin)
    _email(smtp_server, mentor, "Mentorship Assignments: you are paired with Ola")  # full now
    page = phone_page
    page.set_default_timeout(30_000)  # each POST sends its emails before it answers

    # Mia finds no mentor with room and joins the waitlist for Theo.
    invitation_send_selected(program=program, user=admin, mentee_ids=[mia.pk], expected=1)
    invitation = _email(smtp_server, mia, "Spring mentoring: Submit Your Mentor Preferences")
    [mia_link] = _links(invitation, "/p/")
    page.goto(mia_link)
    page.get_by_role("heading", name="Submit Your Mentor Preferences").wait_for()
    page.get_by_role("heading", name="No mentor has room right now").wait_for()
    assert page.get_by_role("heading", name="Theo Brandt").count() == 0  # no card for him
    # Nothing to choose, so no choosing form: only the way onto the waitlist.
    assert page.get_by_role("button", name="Send my request").count() == 0
    assert_no_horizontal_scroll(page)
    page.get_by_role("link", name="Join the waitlist").click()
    page.get_by_role("heading", name="Join the waitlist").wait_for()
    assert_no_horizontal_scroll(page)
    theo = page.get_by_label("Theo Brandt")
    assert "full for now" in page.locator(f"label[for='mentor_{mentor.pk}']").inner_text()
    theo.check()
    _submit(page, "Join the waitlist")
    page.get_by_role("heading", name="You're on the waitlist").wait_for()
    page.get_by_text(
        re.compile(r"You are number 1 in line, waiting since .*, for Theo Brandt\.")
    ).wait_for()
    # The page does not contradict itself: no other way to join, no mentors "below".
    assert page.get_by_role("link", name="Join the waitlist").count() == 0
    assert page.get_by_text("who has room now below").count() == 0
    assert_no_horizontal_scroll(page)
    assert _subjects(smtp_server, mia) == [str(invitation["Subject"])]  # no offer yet

    # An admin ends Ola's pairing and puts her first in line.
    admin_page = new_page(**DESKTOP)
    admin_page.set_default_timeout(30_000)
    login(admin_page, live_server, admin)
    admin_page.goto(f"/programs/{program.pk}/pairing/active/")
    row = admin_page.get_by_role("row").filter(has_text="Ola Nowak")
    row.get_by_label("Actions for Ola Nowak with Theo Brandt").click()  # the "..." menu
    row.get_by_role("link", name="End Pairing").click()
    admin_page.get_by_label("Reason (seen by admins only)").fill("Ola moved to another team")
    admin_page.get_by_label("Put them first on the waitlist").check()
    _submit(admin_page, "End Pairing")
    admin_page.get_by_text("Pairing of Ola Nowak with Theo Brandt ended.").wait_for()

    # The seat goes to Mia, not to Ola: she is never offered the mentor she left.
    offer = _email(smtp_server, mia, "A mentor has room: your request is with Theo Brandt")
    assert "Theo Brandt" in text_of(offer)
    _email(smtp_server, ola, "Your pairing with Theo Brandt has ended")
    assert not [s for s in _subjects(smtp_server, ola) if s.startswith("A mentor has room")]
    [offer_link] = _links(offer, "/p/")
    page.goto(offer_link)
    page.get_by_role("heading", name="Your request is with Theo Brandt").wait_for()

    request_email = _email(smtp_server, mentor, "Mia Lopez would like you as their mentor")
    approve_path = _links(request_email, "/r/")[0]  # the first /r/ link is Approve
    page.goto(approve_path)
    page.get_by_role("heading", name="Approve Mia Lopez's request?").wait_for()
    assert_no_horizontal_scroll(page)
    _submit(page, "Approve and pair us")
    page.get_by_role("heading", name="You're paired with Mia Lopez").wait_for()

    to_mia = _email(smtp_server, mia, "Mentorship Assignments")
    to_theo = _email(smtp_server, mentor, "Mentorship Assignments: you are paired with Mia")
    assert "Theo Brandt" in text_of(to_mia) and "Mia Lopez" in text_of(to_theo)

    page.goto(mia_link)
    page.get_by_role("heading", name="You're paired with Theo Brandt").wait_for()
    assert page.get_by_role("link", name="Join the waitlist").count() == 0
    assert_no_horizontal_scroll(page)
