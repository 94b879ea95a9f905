"""An admin's first visit: log in, create a program, import people from CSV."""

from collections import Counter

import pytest

from programs.models import Participant
from tests import factories
from tests.support.browser import PASSWORD, tab_to

CSV_ROWS = [
    "first_name,last_name,email,role,department,location,skills,capacity",
    "Ada,Quill,ada.quill@example.org,mentee,Engineering,London,Python,",
    "Bram,Ostrander,bram.ostrander@example.org,mentee,Finance,Leeds,Excel,",
    "Chidi,Anagonye,chidi.anagonye@example.org,mentee,Legal,Manchester,Ethics,",
    "Dolores,Umbra,dolores.umbra@example.org,mentor,Engineering,London,Python;Go,2",
    "Eamon,Vance,eamon.vance@example.org,mentor,Finance,Leeds,Excel,3",
]


@pytest.fixture
def admin():
    return factories.MembershipFactory(organization__name="Northwind Mentoring").user


def test_admin_logs_in_by_keyboard_creates_a_program_and_imports_participants(
    page, live_server, admin, tmp_path
):
    page.goto(f"{live_server.url}/programs/")
    assert "/login/" in page.url  # sent to log in first

    # Keyboard only: Tab to each field, type, Enter submits.
    tab_to(page, page.get_by_label("Username"))
    page.keyboard.type(admin.get_username())
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/programs/")
    assert page.evaluate("typeof htmx") == "object"  # our own static files are served

    page.get_by_role("link", name="New program").click()
    page.get_by_label("Name").fill("Spring cohort")
    page.get_by_role("button", name="Create program").click()
    page.get_by_role("heading", name="Spring cohort", level=1).wait_for()
    assert page.get_by_text("Program “Spring cohort” created.").is_visible()

    csv_file = tmp_path / "people.csv"
    csv_file.write_text("\n".join(CSV_ROWS) + "\n")
    page.get_by_role("navigation", name="Program").get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(csv_file)
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_role("button", name="Import 5 participants").click()

    page.wait_for_url("**/participants/")
    assert page.get_by_text("Imported 5 participants").is_visible()
    rows = page.get_by_role("table").get_by_role("row")
    assert rows.count() == 1 + 5
    for name in ["Ada Quill", "Bram Ostrander", "Chidi Anagonye", "Dolores Umbra", "Eamon Vance"]:
        assert page.get_by_role("link", name=name).is_visible()
    assert page.get_by_role("row", name="Dolores Umbra").get_by_role("cell", name="Mentor").count()
    imported = Participant.objects.filter(program__name="Spring cohort")
    assert Counter(imported.values_list("role", flat=True)) == {"mentee": 3, "mentor": 2}
