"""In the browser: date fields show their date; sideways-scrolling tables take the keyboard."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from pairing.health import local_today
from pairing_admin.mail.links import Purpose, link_create
from pairing_admin.mail.models import OutboundEmail
from programs.email_kinds import EmailKind
from tests import factories
from tests.support.browser import login, tab_to


def test_the_session_form_shows_todays_date_in_its_date_field(page, live_server):
    program = factories.ProgramFactory(name="Spring cohort")
    mentee = factories.ParticipantFactory(program=program, first_name="Maya")
    mentor = factories.MentorFactory(program=program, first_name="Theo")
    pairing = factories.PairingFactory(program=program, mentee=mentee, mentor=mentor)
    _, raw = link_create(
        purpose=Purpose.SESSION,
        participant=mentee,
        object_id=pairing.pk,
        expires_at=timezone.now() + timedelta(days=30),
    )

    page.goto(live_server.url + reverse("pairing:session_link", kwargs={"token": raw}))

    # The browser drops a value it cannot read as a date: then this is "".
    assert page.get_by_label("Date").input_value() == local_today(program).isoformat()


def test_keyboard_reaches_and_scrolls_the_email_log_table(phone_page, live_server):
    organization = factories.OrganizationFactory()
    program = factories.ProgramFactory(organization=organization)
    admin = factories.MembershipFactory(organization=organization).user
    OutboundEmail.objects.create(
        program=program,
        kind=EmailKind.SUPPORT_REQUEST,
        idempotency_key="e2e-log:1",
        to_email="someone.with.a.long.address@example.org",
        subject="Hello",
        body_text="Hello",
        status=OutboundEmail.Status.FAILED,
        attempts=3,
        last_error="550 5.1.1 The email account that you tried to reach does not exist",
    )
    login(phone_page, live_server, admin)
    phone_page.goto(live_server.url + reverse("email_log:list", kwargs={"program_id": program.pk}))

    region = phone_page.get_by_role("region", name=f"Emails of {program.name}")
    assert region.evaluate("el => el.scrollWidth > el.clientWidth")  # it does scroll
    tab_to(phone_page, region)
    phone_page.keyboard.press("ArrowRight")
    phone_page.wait_for_function("() => document.activeElement.scrollLeft > 0", timeout=5000)
