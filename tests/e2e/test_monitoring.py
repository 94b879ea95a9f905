"""Monitoring pairing in the browser: Active Pairings, Export, End Pairing with notification."""

import csv
import io

from tests import factories
from tests.support.browser import login
from tests.support.smtp import text_of


def test_admin_exports_active_pairings_then_ends_one_and_both_are_told(
    page, live_server, smtp_server
):
    organization = factories.OrganizationFactory(name="Northwind Mentoring")
    program = factories.ProgramFactory(organization=organization, name="Spring cohort")
    admin = factories.MembershipFactory(organization=organization).user
    mentee = factories.ParticipantFactory(
        program=program, first_name="Maya", last_name="Ortiz", email="maya@example.org"
    )
    mentor = factories.MentorFactory(
        program=program, first_name="Theo", last_name="Brandt", email="theo@example.org"
    )
    factories.PairingFactory(program=program, mentee=mentee, mentor=mentor)

    login(page, live_server, admin)
    page.goto(f"{live_server.url}/programs/{program.pk}/pairing/active/")
    row = page.get_by_role("row").filter(has_text="Maya Ortiz")
    row.get_by_text("Theo Brandt").wait_for()
    row.get_by_text("Too Early to Tell").wait_for()

    with page.expect_download() as info:
        page.get_by_role("link", name="Export", exact=True).click()
    download = info.value
    assert download.suggested_filename.startswith("spring-cohort-active-pairings-")
    with open(download.path(), encoding="utf-8-sig") as f:
        body = f.read()
    rows = list(csv.reader(io.StringIO(body, newline="")))
    assert rows[0][0] == "Mentee" and rows[1][:4] == [
        "Maya Ortiz", "maya@example.org", "Theo Brandt", "theo@example.org",
    ]  # fmt: skip

    row.get_by_label("Actions for Maya Ortiz with Theo Brandt").click()  # the "..." menu
    row.get_by_role("link", name="End Pairing").click()
    page.get_by_label("Reason (seen by admins only)").fill("Maya changed roles")
    assert page.get_by_label("Notify mentee and mentor").is_checked()
    page.get_by_role("button", name="End Pairing").click()
    page.get_by_text(
        "Pairing of Maya Ortiz with Theo Brandt ended. Both have been notified."
    ).wait_for()
    page.get_by_text("No active pairings yet").wait_for()

    messages = smtp_server.wait_for(2)
    to_maya = [m for m in messages if "maya@example.org" in str(m["To"])]
    assert len(to_maya) == 1 and "Theo Brandt" in str(to_maya[0]["Subject"])
    assert "Maya changed roles" not in text_of(to_maya[0])
    assert any("theo@example.org" in str(m["To"]) for m in messages)
