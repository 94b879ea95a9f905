"""Branding in Chromium: an admin uploads a logo and picks a colour; a visitor sees them.

Only a browser shows that the accent's stylesheet passes the pages' CSP and
colours the buttons, and that the logo loads as an image (the harness fails
a test on any CSP violation, failed image or axe finding).
"""

import pytest

from programs.models import BrandLogo, Program
from tests import factories
from tests.programs import registering
from tests.support.branding import image_bytes
from tests.support.browser import login


@pytest.fixture
def program():
    return factories.ProgramFactory(name="Open Cohort", pairing_enabled=True)


@pytest.fixture
def admin(program):
    return factories.MembershipFactory(organization=program.organization).user


def test_admin_brands_the_program_and_the_registration_page_shows_it(
    page, new_page, live_server, program, admin, tmp_path
):
    logo = tmp_path / "northwind.jpg"  # a PNG by content: judged by its bytes, not its name
    logo.write_bytes(image_bytes(120, 40))
    login(page, live_server, admin)
    page.goto(f"/programs/{program.pk}/branding/")
    page.get_by_label("Display name").fill("Northwind Mentoring")
    page.get_by_label("Accent colour").fill("#ffd700")  # gold: too light for white text
    page.get_by_role("button", name="Save branding").click()
    page.get_by_text("contrast ratio of 1.").first.wait_for()
    assert Program.objects.get(pk=program.pk).brand_name == ""  # nothing half-written

    page.get_by_label("Accent colour").fill("#1a4d8f")
    page.get_by_label("Program team's contact address").fill("team@northwind.example")
    page.get_by_label("Logo").set_input_files(str(logo))
    page.get_by_role("button", name="Save branding").click()
    page.get_by_text("Branding saved.").wait_for()
    assert BrandLogo.objects.get().content_type == "image/png"

    visitor = new_page()  # another person, no login; audited too
    visitor.goto(registering.register_url(program))
    header = visitor.locator(".participant-header")
    assert header.locator(".brand-name").inner_text() == "Northwind Mentoring"
    # Beside the visible name the logo is decoration: alt="" (a screen reader
    # would otherwise read the name twice).
    image = header.locator("img.brand-logo")
    assert image.get_attribute("alt") == ""
    assert image.evaluate("img => img.complete && img.naturalWidth") == 120
    button = visitor.get_by_role("button", name="Register")
    colour = button.evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(26, 77, 143)"
    rule = header.evaluate("h => getComputedStyle(h).borderBottomColor")
    assert rule == "rgb(26, 77, 143)"
    contact = visitor.get_by_role("link", name="team@northwind.example")
    assert contact.get_attribute("href") == "mailto:team@northwind.example"
    assert visitor.locator("a[href^='/programs'], a[href^='/accounts']").count() == 0
