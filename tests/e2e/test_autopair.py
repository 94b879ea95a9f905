"""Auto-pair in a browser: from the Unpaired Mentees tab to confirmed pairings."""

import pytest

from pairing.models import Pairing
from pairing_admin.mail.models import OutboundEmail
from programs.models import Participant
from tests import factories
from tests.support.browser import assert_no_horizontal_scroll, login


@pytest.fixture
def program():
    organization = factories.OrganizationFactory(name="Northwind Mentoring")
    program = factories.ProgramFactory(
        organization=organization, name="Autumn cohort", pairing_process="admin_led"
    )
    for n, wish in enumerate(["python", "python", "sales", "design"], start=1):
        factories.ParticipantFactory(
            program=program, first_name=f"Mentee{n}", last_name="Doe", goals=[wish]
        )
    factories.MentorFactory(program=program, first_name="Pat", last_name="Py", capacity=2,
                            skills=["python"])  # fmt: skip
    factories.MentorFactory(program=program, first_name="Sam", last_name="Sales", capacity=1,
                            skills=["sales"])  # fmt: skip
    factories.MentorFactory(program=program, first_name="Dee", last_name="Spare", capacity=1,
                            skills=["design"])  # fmt: skip
    return program


@pytest.fixture
def admin(program):
    return factories.MembershipFactory(organization=program.organization).user


def test_admin_runs_auto_pair_reviews_swaps_and_confirms(page, live_server, program, admin):
    login(page, live_server, admin)
    page.goto(f"{live_server.url}/programs/{program.pk}/pairing/unpaired/")
    page.get_by_role("link", name="Auto-pair").click()
    page.get_by_role("heading", name="Auto-pair").wait_for()
    page.get_by_label("Highest match quality").check()
    page.get_by_label("Mentor from a different department").uncheck()
    page.get_by_role("button", name="Run auto-pair").click()

    # Tasks run in-process here, so the run is staged by the time the page loads.
    page.get_by_role("heading", name="Auto-pair run: Ready for review").wait_for()
    figures = page.locator("#autopair-figures")
    assert "4 of 4" in figures.get_by_text("Mentees given a mentor").locator("..").inner_text()
    assert page.locator("#autopair-results tbody tr").count() == 4

    # Remove one proposal: that mentee moves to the unpaired list.
    page.get_by_role("button", name="Remove Mentee4 Doe").click()
    page.get_by_text("Proposal removed").wait_for()
    assert page.locator("#autopair-results tbody tr").count() == 3
    page.get_by_role("link", name="Left unpaired").click()
    page.get_by_role("cell", name="Removed from the proposals by an admin").wait_for()

    # Give them a mentor with a free seat by searching.
    page.get_by_role("link", name="Choose a mentor for Mentee4 Doe").click()
    page.get_by_label("Search mentors").fill("Spare")
    # htmx narrows the list as you type; wait for it before acting.
    page.get_by_role("button", name="Propose Pat Py").wait_for(state="detached")
    page.get_by_role("button", name="Propose Dee Spare").click()
    page.get_by_text("Mentee4 Doe is now proposed with Dee Spare.").wait_for()
    assert_no_horizontal_scroll(page)

    page.get_by_role("button", name="Confirm 4 pairs").click()
    page.get_by_text("Created 4 pairings.").wait_for()
    assert Pairing.objects.filter(program=program, origin="auto_pair").count() == 4
    emails = OutboundEmail.objects.filter(program=program)
    assert set(emails.values_list("kind", flat=True)) == {"assignment", "assignments"}
    # One email per person: Pat, given two mentees, gets one naming both.
    pat = Participant.objects.get(program=program, first_name="Pat")
    [to_pat] = emails.filter(to_email=pat.email)
    assert to_pat.kind == "assignments" and to_pat.body_text.count("/s/") == 2


def _beside(page, control_id: str) -> None:
    """The control sits on its label's line, before it: their boxes overlap vertically
    and the control ends where the label begins (or before)."""
    control = page.locator(f"#{control_id}").bounding_box()
    label = page.locator(f"label[for='{control_id}']").bounding_box()
    assert control and label, control_id
    overlap = min(control["y"] + control["height"], label["y"] + label["height"]) - max(
        control["y"], label["y"]
    )
    assert overlap > 0, (control_id, control, label)
    assert control["x"] + control["width"] <= label["x"], (control_id, control, label)


@pytest.mark.parametrize("device", ["page", "phone_page"])
def test_form_controls_sit_beside_their_labels(request, device, live_server, program, admin):
    page = request.getfixturevalue(device)
    login(page, live_server, admin)
    page.goto(f"{live_server.url}/programs/{program.pk}/pairing/auto-pair/")
    form = page.locator("form.card")
    radios = form.locator("input[type=radio]")
    checkboxes = form.locator("input[type=checkbox]")
    assert radios.count() == 2 and checkboxes.count() == 5
    for box in (*radios.all(), *checkboxes.all()):
        _beside(page, box.get_attribute("id"))
    # The groups are titled, not framed in the browser's grey box.
    for style in form.locator("fieldset").evaluate_all(
        "els => els.map(el => getComputedStyle(el).borderTopStyle)"
    ):
        assert style == "none"
    assert_no_horizontal_scroll(page)

    # The review's filter checkbox, and pairing by hand, whose label comes first in the markup.
    page.get_by_role("button", name="Run auto-pair").click()
    page.get_by_role("heading", name="Auto-pair run: Ready for review").wait_for()
    _beside(page, "autopair-low")
    page.goto(f"{live_server.url}/programs/{program.pk}/requests/pair/")
    _beside(page, "id_anyway")


def test_the_solver_figures_open_on_request(page, live_server, program, admin):
    login(page, live_server, admin)
    page.goto(f"{live_server.url}/programs/{program.pk}/pairing/auto-pair/")
    page.get_by_role("button", name="Run auto-pair").click()
    page.get_by_role("heading", name="Auto-pair run: Ready for review").wait_for()
    assert page.get_by_role("heading", name="Worth a look").is_visible()
    solver = page.get_by_text("Proven optimal over every allowed pair")
    assert not solver.is_visible()
    page.get_by_text("How this was computed").click()
    solver.wait_for()
