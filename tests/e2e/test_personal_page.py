"""A busy mentor on a phone, keyboard only: from one emailed Approve link to My mentoring,
then approving one request and declining another from there."""

from pairing import services
from pairing.models import MentorRequest, Pairing
from pairing.services.personal import home_link
from pairing_admin.mail.links import Purpose, link_create
from tests import factories
from tests.support.browser import assert_no_horizontal_scroll, press_enter_on, tab_to

Status = MentorRequest.Status


def test_a_mentor_answers_two_requests_from_my_mentoring_by_keyboard(phone_page, live_server):
    program = factories.ProgramFactory(pairing_enabled=True)
    mentor = factories.MentorFactory(program=program, capacity=3, skills=["Negotiation"])
    asked = {}
    for name in ("Ada", "Grace", "Linus"):
        mentee = factories.ParticipantFactory(program=program, first_name=name, goals=["Talks"])
        asked[name] = services.preferences_submit(
            mentee=mentee, mentor_ids=[mentor.pk], note=f"{name} would love your help"
        ).request
    _, raw = link_create(
        purpose=Purpose.APPROVE, participant=mentor, expires_at=asked["Ada"].expires_at,
        object_id=asked["Ada"].pk,
    )  # fmt: skip
    page = phone_page
    page.goto(f"/r/{raw}/")
    press_enter_on(
        page, page.get_by_role("button", name="My mentoring: all my requests and pairings")
    )
    page.wait_for_url("**/me/*/")
    assert page.get_by_role("heading", name="Requests waiting for you").is_visible()
    assert_no_horizontal_scroll(page)

    press_enter_on(page, page.get_by_role("button", name="Approve Ada"))
    page.get_by_text("You're paired with Ada").wait_for()

    press_enter_on(page, page.get_by_text("Decline Grace…"))
    message = page.locator(f"#id_decline-{asked['Grace'].pk}-message")
    tab_to(page, message, max_presses=10)
    page.keyboard.type("I'm full this term; Linus's team would suit you.")
    press_enter_on(page, page.get_by_role("button", name="Decline Grace's request"))
    page.get_by_text("Request declined.").wait_for()
    assert_no_horizontal_scroll(page)

    states = {name: MentorRequest.objects.get(pk=r.pk) for name, r in asked.items()}
    assert states["Ada"].status == Status.APPROVED
    assert states["Grace"].status == Status.DECLINED
    assert states["Grace"].decline_message.startswith("I'm full this term")
    assert states["Linus"].status == Status.PENDING
    assert Pairing.objects.get().mentee_id == asked["Ada"].mentee_id


def test_a_mentees_pages_fit_a_phone(phone_page, live_server):
    program = factories.ProgramFactory(pairing_enabled=True)
    mentor = factories.MentorFactory(program=program, capacity=2)
    mentee = factories.ParticipantFactory(program=program, first_name="Ada")
    request = services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk]).request
    page = phone_page
    page.goto(f"/me/{home_link(mentee)}/")
    assert page.get_by_role("button", name="Withdraw my request").is_visible()
    assert_no_horizontal_scroll(page)
    press_enter_on(page, page.get_by_role("link", name="Edit my profile"))
    page.get_by_role("heading", name="Edit my profile").wait_for()
    assert_no_horizontal_scroll(page)
    page.goto("/me/")
    page.get_by_label("Your email address").fill(mentee.email)
    press_enter_on(page, page.get_by_role("button", name="Email me a link"))
    page.get_by_text("If that address is in a program").wait_for()
    assert MentorRequest.objects.get(pk=request.pk).status == Status.PENDING
