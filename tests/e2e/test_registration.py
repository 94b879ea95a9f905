"""Self-registration in Chromium: the form, the emailed confirm link, Confirm.

The confirm page sends Referrer-Policy: no-referrer, so a real browser posts
"Origin: null"; only a browser shows whether Confirm gets through.
"""

import pytest

from programs.models import Participant
from tests import factories
from tests.programs import registering


@pytest.fixture
def program():
    return factories.ProgramFactory(name="Open Cohort", pairing_enabled=True)


def test_a_person_registers_confirms_from_the_emailed_link_and_joins(page, live_server, program):
    page.goto(registering.register_url(program))
    page.get_by_role("radio", name="Mentee").check()
    page.get_by_label("First name").fill("Zoe")
    page.get_by_label("Last name").fill("Zed")
    page.get_by_label("Work email").fill("zoe@example.org")
    page.get_by_role("button", name="Register").click()
    page.get_by_text("Check your email").first.wait_for()
    assert not Participant.objects.filter(email="zoe@example.org").exists()

    page.goto(
        registering.confirm_url(program, registering.emailed_code(program, "zoe@example.org"))
    )
    page.get_by_role("heading", name="Confirm your registration").wait_for()
    assert not Participant.objects.filter(email="zoe@example.org").exists()  # GET saves nothing
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="You're registered").wait_for()
    zoe = Participant.objects.get(email="zoe@example.org")
    assert (zoe.first_name, zoe.last_name, zoe.role) == ("Zoe", "Zed", Participant.Role.MENTEE)
