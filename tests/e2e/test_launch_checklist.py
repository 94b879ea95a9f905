"""Launching pairing as the help-centre article walks it: the two final steps, then the switch."""

import pytest

from pairing_admin.mail.models import OutboundEmail
from programs.email_kinds import EmailKind
from programs.models import ActivityEvent, LaunchStep, Program
from tests import factories
from tests.support.browser import login

ADVISOR = "advisor@support.example.com"


@pytest.fixture
def program():
    organization = factories.OrganizationFactory(
        name="Northwind Mentoring", support_advisor_email=ADVISOR
    )
    program = factories.ProgramFactory(organization=organization, name="Spring cohort")
    factories.ParticipantFactory.create_batch(3, program=program)
    factories.MentorFactory.create_batch(2, program=program)
    return program


@pytest.fixture
def admin(program):
    user = factories.MembershipFactory(organization=program.organization).user
    user.first_name, user.last_name, user.email = "Ada", "Quill", "ada@northwind.example"
    user.save()
    return user


def test_admin_walks_the_checklist_and_turns_pairing_on_and_off_without_email(
    page, live_server, program, admin, smtp_server
):
    login(page, live_server, admin)
    page.goto(f"{live_server.url}/programs/{program.pk}/")
    page.get_by_role("navigation", name="Program").get_by_role("link", name="Pairing").click()
    page.get_by_role("heading", name="Launch checklist").wait_for()
    switch = page.locator("#pairing-switch")
    assert "not marked done yet" in switch.inner_text()

    # Check Your Integrations: record where Slack stands, come back, mark it done.
    page.get_by_role("link", name="Review your integrations").click()
    page.get_by_role("heading", name="Integrations", level=1).wait_for()
    slack = page.locator("#integration-slack")
    slack.get_by_label("Status").select_option("connected")
    slack.get_by_role("button", name="Save Slack").click()
    page.locator("#integration-slack").get_by_text("Saved.").wait_for()  # swapped by htmx
    page.get_by_role("link", name="Back to the launch checklist of Spring cohort").click()
    page.get_by_role("button", name="Mark as done: Check Your Integrations").click()
    page.locator("#step-integrations").get_by_text("Marked by Ada Quill").wait_for()

    # Contact Your Customer Support Advisor: send a request, then mark the step done.
    page.get_by_role("link", name="Contact your advisor").click()
    page.get_by_label("Subject").fill("Launching next week")
    page.get_by_label("Message").fill("Anything we should check before we turn pairing on?")
    page.get_by_role("button", name="Send request").click()
    page.get_by_text("“Launching next week” is on its way to " + ADVISOR).wait_for()
    page.get_by_role("button", name="Mark this step as done").click()
    page.locator("#step-support_advisor").get_by_text("Marked by Ada Quill").wait_for()
    assert "not marked done yet" not in page.locator("#pairing-switch").inner_text()

    # Turn on Pairing: the confirmation says no email goes out yet.
    page.get_by_role("link", name="Turn on Pairing").click()
    confirm = page.locator("#pairing-switch")
    confirm.get_by_text("No emails are sent when you turn pairing on.").wait_for()
    assert "Inviting your mentees is the next step" in confirm.inner_text()
    confirm.get_by_role("button", name="Turn on Pairing").click()
    page.get_by_role("heading", name="Pairing is on").wait_for()
    assert Program.objects.get(pk=program.pk).pairing_enabled

    # The support request is the only email of the whole walk.
    (message,) = smtp_server.wait_for(1)
    assert str(message["To"]) == ADVISOR
    assert str(message["Reply-To"]) == "ada@northwind.example"
    assert list(OutboundEmail.objects.values_list("kind", "to_email")) == [
        (EmailKind.SUPPORT_REQUEST, ADVISOR)
    ]

    # Turn off Pairing asks first, saying what a pause does; still no email.
    page.get_by_role("link", name="Turn off Pairing").click()
    confirm = page.locator("#pairing-switch")
    confirm.get_by_role("heading", name="Turn off Pairing?").wait_for()
    assert "still expire on schedule" in confirm.inner_text()
    assert Program.objects.get(pk=program.pk).pairing_enabled
    confirm.get_by_role("button", name="Turn off Pairing").click()
    page.get_by_role("heading", name="Turn on Pairing").wait_for()
    assert not Program.objects.get(pk=program.pk).pairing_enabled
    log = page.locator("#activity-log")
    log.get_by_text("Turned off pairing").wait_for()
    for line in ("Turned on pairing", "Sent a support request", "Changed an integration"):
        assert line in log.inner_text()
    assert len(smtp_server.messages) == 1
    assert OutboundEmail.objects.count() == 1
    assert LaunchStep.objects.filter(program=program).count() == 2
    assert list(ActivityEvent.objects.filter(program=program).values_list("verb", flat=True)) == [
        "pairing_off",
        "pairing_on",
        "step_done",
        "support_request_sent",
        "step_done",
        "integration_changed",
    ]
