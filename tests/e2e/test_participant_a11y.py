"""Every participant page passes axe-core at phone and desktop width (issue #18, point 7).

Participant pages are the ones mentees, mentors and people registering open
without a login: templates/participant_base.html and every template that
extends it. Each is opened in each of its states (the preference form open,
with errors, with a pending request, paired, on the waitlist, with no mentor
free, paused, admin-led; a request to approve, to decline, already decided;
the session form; registration's form, errors, email sent, confirm, closed,
limited; My mentoring: the fresh-link form, its error and answer, a mentor's
page with requests waiting, a decline form open, a pause without a date, with
a pairing and sessions, paused, the profile form and its errors, a mentee's
page with a pending request, paired, free to choose, an expired and an
unknown link; the neutral and rate-limited pages), at 390x844 and 1280x900, and
none may have a "serious" or "critical" axe finding (WCAG 2.0/2.1 A and AA,
2.2 AA: the tags tests/support/browser.py runs); at 390 px none may scroll
sideways either.

The audited harness also runs axe on every load; this module names each page
and state, so a failure says which one and why, and no state goes unvisited
because no flow test happens to pass through it.

Then the flows by keyboard alone: a mentee ranks two mentors and sends the
request, the mentor skips to the content and approves it from the emailed
Approve link; a mentor declines from the Decline link with a message; from My
mentoring, a mentee withdraws their request and chooses mentors again, and a
mentor pauses new requests until a date, then says they're available again.
Every Tab stop must show a focus ring at 3:1 or more against what surrounds it.
"""

import re
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from invitations.services import invitation_send_selected
from pairing.health import local_today
from pairing.models import MentorPreference, MentorRequest, Pairing
from pairing.services import preferences_submit, request_approve, request_decline
from pairing_admin.mail.links import Purpose, link_create
from pairing_admin.mail.models import AccessLink
from programs.models import Program, Question, QuestionOption
from tests import factories
from tests.programs import registering
from tests.support.browser import (
    FAILING_IMPACTS,
    PHONE,
    assert_no_horizontal_scroll,
    press_enter_on,
    run_axe,
    tab_to,
)
from tests.support.smtp import text_of

SCREENS = {
    "phone": PHONE,
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}


@pytest.fixture(params=list(SCREENS))
def screen(request, new_page):
    return new_page(**SCREENS[request.param])


def _in_days(days: int):
    return timezone.now() + timedelta(days=days)


def _link(purpose: str, person, object_id: int | None = None):
    return link_create(
        purpose=purpose, participant=person, object_id=object_id, expires_at=_in_days(5)
    )


def _p(mentee) -> str:
    return reverse("pairing:preferences", kwargs={"token": factories.preferences_link(mentee)})


def _waitlist(mentee) -> str:
    return reverse("pairing:waitlist_join", kwargs={"token": factories.preferences_link(mentee)})


def _r(purpose: str, mentor_request) -> str:
    _, raw = _link(purpose, mentor_request.mentor, mentor_request.pk)
    return reverse("pairing:request_link", kwargs={"token": raw})


def _decided(purpose: str, mentor_request) -> str:
    """The link the mentor used to approve or decline, as they would reopen it."""
    link, raw = _link(purpose, mentor_request.mentor, mentor_request.pk)
    if purpose == Purpose.APPROVE:
        request_approve(request_id=mentor_request.pk, link=link)
    else:
        request_decline(request_id=mentor_request.pk, message="Not this term, sorry.", link=link)
    return reverse("pairing:request_link", kwargs={"token": raw})


class Checker:
    """Opens participant pages and keeps every serious or critical axe finding."""

    def __init__(self, page):
        self.page = page
        self.findings: list[str] = []

    def goto(self, state: str, url: str, *, expect: str) -> None:
        self.page.goto(url)
        self.check(state, expect=expect)

    def check(self, state: str, *, expect: str) -> None:
        """Axe on the page as it is now; `expect` is text the state must show."""
        self.page.wait_for_load_state()
        self.page.get_by_text(expect).first.wait_for()
        if self.page.viewport_size["width"] <= PHONE["viewport"]["width"]:
            assert_no_horizontal_scroll(self.page)  # WCAG 1.4.10: reflow at 320 CSS px and up
        for v in run_axe(self.page):
            if v["impact"] in FAILING_IMPACTS:
                targets = ", ".join(n["target"] for n in v["nodes"]) or "(page)"
                self.findings.append(
                    f"{state} ({self.page.url}): {v['id']} [{v['impact']}] {v['help']}; "
                    f"targets: {targets}"
                )

    def assert_clean(self) -> None:
        findings = "\n  ".join(self.findings)
        assert not findings, f"axe found serious or critical problems:\n  {findings}"

    def submit(self, name: str) -> None:
        """Press a form's button once the page's own axe run has reported (see
        test_request_flow: the harness holds the navigation until it has)."""
        self.page.evaluate("window.__e2eAxeOnLoad")
        self.page.get_by_role("button", name=name).click()


@pytest.fixture
def open_program():
    """User-led with approval, waitlist on: the program most states live in."""
    return factories.ProgramFactory(
        name="Spring mentoring",
        pairing_enabled=True,
        pairing_process=Program.Process.USER_LED_APPROVAL,
        waitlist_enabled=True,
    )


def test_mentee_pages_in_every_state(screen, live_server, open_program):
    program = open_program
    farah = factories.MentorFactory(
        program=program, first_name="Farah", skills=["Design"], title="Design lead"
    )
    sam = factories.MentorFactory(program=program, first_name="Sam", skills=["Leadership"])
    choosing = factories.ParticipantFactory(program=program, first_name="Mia")
    factories.MentorRequestFactory(
        program=program,
        mentee=choosing,
        mentor=sam,
        status=MentorRequest.Status.DECLINED,
        decided_at=timezone.now(),
        decline_message="I'm on leave this term, sorry!",
    )
    pending = factories.MentorRequestFactory(program=program, mentor=farah).mentee
    paired = factories.PairingFactory(program=program, mentor=sam).mentee
    entry = factories.WaitlistEntryFactory(program=program)
    entry.wanted_mentors.add(farah)
    waiting = entry.mentee

    full = factories.ProgramFactory(
        pairing_enabled=True, waitlist_enabled=True, default_mentor_capacity=1
    )
    factories.mentor_with_pairings(full, 1, capacity=1)
    no_room = factories.ParticipantFactory(program=full)
    paused = factories.ParticipantFactory(program=factories.ProgramFactory(pairing_enabled=False))
    admin_led = factories.ParticipantFactory(
        program=factories.ProgramFactory(
            pairing_enabled=True, pairing_process=Program.Process.ADMIN_LED
        )
    )

    check = Checker(screen)
    check.goto("preferences: open, after a decline", _p(choosing), expect="Find mentors")
    check.submit("Send my request")  # nothing ranked
    check.check("preferences: form with errors", expect="Choose at least one mentor.")
    check.goto("preferences: request pending", _p(pending), expect="Your request is with")
    check.goto("preferences: paired", _p(paired), expect="You're paired with")
    check.goto("preferences: on the waitlist", _p(waiting), expect="You're on the waitlist")
    check.goto("preferences: no mentor has room", _p(no_room), expect="No mentor has room")
    check.goto("preferences: pairing paused", _p(paused), expect="Pairing is paused")
    check.goto("preferences: admin-led", _p(admin_led), expect="your program team pairs")
    check.goto("waitlist: join", _waitlist(choosing), expect="Mentors you'd wait for")
    check.goto("waitlist: already on it", _waitlist(waiting), expect="already on the waitlist")
    check.goto("waitlist: closed", _waitlist(paused), expect="no waitlist open")
    check.goto(
        "neutral page",
        reverse("pairing:preferences", kwargs={"token": "not-a-token"}),
        expect="This link can't be used",
    )

    check.assert_clean()


def test_mentor_and_session_pages_in_every_state(screen, live_server, open_program, settings):
    program = open_program
    to_approve = factories.MentorRequestFactory(program=program, note="I'd love to learn design.")
    to_decline = factories.MentorRequestFactory(program=program)
    approved_url = _decided(Purpose.APPROVE, factories.MentorRequestFactory(program=program))
    declined_url = _decided(Purpose.DECLINE, factories.MentorRequestFactory(program=program))
    closed = factories.MentorRequestFactory(
        program=program, status=MentorRequest.Status.CLOSED, decided_at=timezone.now()
    )
    pairing = factories.PairingFactory(program=program)
    factories.MentoringSessionFactory(pairing=pairing)
    _, raw = _link(Purpose.SESSION, pairing.mentee, pairing.pk)
    session_url = reverse("pairing:session_link", kwargs={"token": raw})

    check = Checker(screen)
    check.goto("request: approve", _r(Purpose.APPROVE, to_approve), expect="Approve and pair us")
    check.goto("request: decline", _r(Purpose.DECLINE, to_decline), expect="Decline the request")
    check.goto("request: approved by you", approved_url, expect="You're paired with")
    check.goto("request: declined by you", declined_url, expect="Request declined")
    check.goto("request: closed", _r(Purpose.APPROVE, closed), expect="This request is closed")
    check.goto("session: form and past sessions", session_url, expect="Sessions so far")
    screen.get_by_label("Date").fill(f"{timezone.localdate().year + 2}-01-01")
    check.submit("Log session")
    check.check("session: form with errors", expect="Pick a date within the next six months.")
    check.goto("session: logged", session_url + "?logged=1", expect="your session is logged")

    settings.TOKEN_PAGE_RATE_LIMIT = 0  # last: every token page now answers "too many"
    check.goto("rate limited", session_url, expect="Too many attempts")

    check.assert_clean()


def test_registration_pages_in_every_state(screen, live_server, open_program, settings):
    program = open_program
    closed = factories.ProgramFactory(registration_open=False)
    # A question of each kind a form shows differently: radios, checkboxes, a number.
    _ask(program, "level", "single", ["Junior", "Senior"], required=True)
    _ask(program, "languages", "multiple", ["English", "French", "German"], max_choices=2)
    _ask(program, "years", "number", [], audience="mentor", min_value=0, max_value=50)

    check = Checker(screen)
    check.goto("register: form", registering.register_url(program), expect="Join Spring")
    check.submit("Register")  # nothing filled in
    check.check("register: form with errors", expect="Please correct the errors below.")
    screen.get_by_role("radio", name="Mentee").check()
    screen.get_by_label("First name").fill("Zoe")
    screen.get_by_label("Last name").fill("Zed")
    screen.get_by_label("Work email").fill("zoe@example.org")
    screen.get_by_role("radio", name="Senior").check()
    screen.get_by_role("checkbox", name="French").check()
    check.submit("Register")
    check.check("register: check your email", expect="Check your email")
    confirm_url = registering.confirm_url(
        program, registering.emailed_code(program, "zoe@example.org")
    )
    check.goto("register: confirm", confirm_url, expect="Confirm your registration")
    check.submit("Confirm")
    check.check("register: registered", expect="You're registered")
    check.goto("register: link used", confirm_url, expect="already been used")
    check.goto(
        "register: unknown link",
        registering.confirm_url(program, "not-a-code"),
        expect="We don't know this link",
    )
    check.goto("register: closed", registering.register_url(closed), expect="is closed")

    settings.REGISTRATION_RATE_LIMIT = 0
    check.goto("register: form again", registering.register_url(program), expect="Join Spring")
    screen.get_by_role("radio", name="Mentor").check()
    screen.get_by_label("First name").fill("Yan")
    screen.get_by_label("Last name").fill("Yu")
    screen.get_by_label("Work email").fill("yan@example.org")
    check.submit("Register")
    check.check("register: limited", expect="Please try again later")

    check.assert_clean()


def _ask(program, key, kind, options, *, audience="everyone", **extra) -> Question:
    question = Question.objects.create(
        program=program,
        key=key,
        label=key.title(),
        text=f"Your {key}?",
        audience=audience,
        kind=kind,
        position=10 + Question.objects.filter(program=program).count(),
        **extra,
    )
    for n, label in enumerate(options):
        QuestionOption.objects.create(question=question, label=label, position=n)
    return question


def _me(person, *, days: int = 30, page: str = "pairing:me") -> str:
    """A page of My mentoring (the page itself, or its profile form) from a HOME link."""
    _, raw = link_create(purpose=Purpose.HOME, participant=person, expires_at=_in_days(days))
    return reverse(page, kwargs={"token": raw})


def test_personal_pages_in_every_state(screen, live_server, open_program):
    program = open_program
    today = timezone.localdate()
    busy = factories.MentorFactory(program=program, first_name="Farah", capacity=3)
    for name in ("Ada", "Grace", "Linus"):
        factories.MentorRequestFactory(
            program=program,
            mentor=busy,
            mentee=factories.ParticipantFactory(program=program, first_name=name),
            note=f"{name} would love your help with design reviews.",
        )
    paired_mentor = factories.MentorFactory(program=program, first_name="Sam", capacity=2)
    pairing = factories.PairingFactory(program=program, mentor=paired_mentor)
    factories.MentoringSessionFactory(pairing=pairing)
    away = factories.MentorFactory(
        program=program, accepting_requests=False, unavailable_until=today + timedelta(days=20)
    )
    asking = factories.MentorRequestFactory(program=program, mentor=paired_mentor).mentee
    choosing = factories.ParticipantFactory(program=program, first_name="Mia")

    check = Checker(screen)
    check.goto("me: ask for a link", reverse("pairing:me_ask"), expect="Enter the address")
    check.submit("Email me a link")  # no address
    check.check("me: ask, with an error", expect="Enter your email address.")
    screen.get_by_label("Your email address").fill(choosing.email)
    check.submit("Email me a link")
    check.check("me: ask, sent", expect="If that address is in a program")

    check.goto("me: mentor, requests waiting", _me(busy), expect="Ada would love your help")
    screen.get_by_text("Decline Grace…").click()
    grace = screen.get_by_role("article", name="Grace")
    grace.get_by_label("A message to the mentee").wait_for()  # visible: the <details> is open
    check.check("me: mentor, decline form open", expect="Decline Grace's request")
    check.submit("Pause new requests")  # no date
    check.check("me: mentor, pause without a date", expect="Pick the day you can take")
    check.goto("me: mentor, paired with sessions", _me(paired_mentor), expect="Sessions held")
    check.goto("me: mentor, unavailable until", _me(away), expect="You're unavailable until")
    check.goto(
        "me: profile form", _me(busy, page="pairing:me_profile"), expect="matched on these details"
    )
    screen.get_by_label("How many mentees you can take at once").fill("")
    check.submit("Save")
    check.check("me: profile form with errors", expect="Enter a number from 0 to 50.")

    check.goto("me: mentee, request pending", _me(asking), expect="Withdraw my request")
    check.goto("me: mentee, paired", _me(pairing.mentee), expect="You're paired, so")
    check.goto("me: mentee, open for choices", _me(choosing), expect="Choose mentors")
    check.goto("me: expired link", _me(choosing, days=-1), expect="This link can't be used")
    check.goto(
        "me: unknown link",
        reverse("pairing:me", kwargs={"token": "not-a-token"}),
        expect="This link can't be used",
    )

    check.assert_clean()


# --- By keyboard alone ---------------------------------------------------------------
#
# No clicks, fills or select_option: Tab to each control, arrow keys to pick a
# choice, type, Space to tick, Enter to press. At every Tab stop the focused
# element must show a focus ring a sighted keyboard user can see (tab_to and
# press_enter_on, tests/support/browser.py, check it at each stop).

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


def _email_to(smtp, person, subject: str):
    """The email to this person whose subject starts with `subject` (tasks run eagerly)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = [m for m in smtp.to(person.email) if str(m["Subject"]).startswith(subject)]
        if found:
            return found[-1]
        time.sleep(0.05)
    subjects = [str(m["Subject"]) for m in smtp.to(person.email)]
    raise AssertionError(f"no email to {person.email} starting {subject!r}; got {subjects}")


@pytest.fixture
def keyboard_page(new_page):
    return new_page(**SCREENS["desktop"])


def test_mentee_ranks_and_mentor_approves_by_keyboard(
    keyboard_page, live_server, smtp_server, open_program
):
    page = keyboard_page
    page.set_default_timeout(30_000)  # each POST sends its emails before it answers
    program = open_program
    farah = factories.MentorFactory(program=program, first_name="Farah", skills=["Design"])
    sam = factories.MentorFactory(program=program, first_name="Sam")
    mentee = factories.ParticipantFactory(program=program, first_name="Mia")
    admin = factories.MembershipFactory(organization=program.organization).user
    invitation_send_selected(program=program, user=admin, mentee_ids=[mentee.pk], expected=1)

    page.goto(_links(_email_to(smtp_server, mentee, ""), "/p/")[0])
    for mentor, presses in ((farah, 1), (sam, 2)):
        choice = page.get_by_label(f"Your choice for {mentor.full_name}")
        tab_to(page, choice)
        for _ in range(presses):  # "Not chosen" -> "1st choice" -> "2nd choice"
            page.keyboard.press("ArrowDown")
    tab_to(page, page.get_by_label("A note to your mentor"))
    page.keyboard.type("I'd love to grow as a design lead.")
    press_enter_on(page, page.get_by_role("button", name="Send my request"))
    page.get_by_text(f"Your request is with {farah.full_name}").wait_for()

    ranked = MentorPreference.objects.filter(mentee=mentee).order_by("rank")
    assert [p.mentor_id for p in ranked] == [farah.pk, sam.pk]
    request = MentorRequest.objects.get(mentee=mentee)
    assert (request.mentor, request.note) == (farah, "I'd love to grow as a design lead.")
    approve, _decline = _links(_email_to(smtp_server, farah, ""), "/r/")[:2]
    page.goto(approve)
    tab_to(page, page.get_by_role("link", name="Skip to content"), max_presses=1)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.id === 'main'")
    press_enter_on(page, page.get_by_role("button", name="Approve and pair us"))
    page.get_by_role("heading", name=f"You're paired with {mentee.full_name}").wait_for()
    assert Pairing.objects.active().filter(mentee=mentee, mentor=farah).exists()


def test_mentor_declines_with_a_message_by_keyboard(
    keyboard_page, live_server, smtp_server, open_program
):
    page = keyboard_page
    page.set_default_timeout(30_000)
    program = open_program
    mentor = factories.MentorFactory(program=program, first_name="Farah")
    mentee = factories.ParticipantFactory(program=program, first_name="Mia")
    preferences_submit(mentee=mentee, mentor_ids=[mentor.pk])

    _approve, decline = _links(_email_to(smtp_server, mentor, ""), "/r/")[:2]
    page.goto(decline)
    tab_to(page, page.get_by_label("A message to the mentee"))
    page.keyboard.type("I'm on leave this term, sorry!")
    unavailable = page.get_by_label("I'm unavailable for now")
    tab_to(page, unavailable)
    page.keyboard.press("Space")
    assert unavailable.is_checked()
    press_enter_on(page, page.get_by_role("button", name="Decline the request"))
    page.get_by_role("heading", name="Request declined").wait_for()

    request = MentorRequest.objects.get(mentee=mentee)
    assert (request.status, request.decline_message) == (
        MentorRequest.Status.DECLINED,
        "I'm on leave this term, sorry!",
    )
    mentor.refresh_from_db()
    assert not mentor.accepting_requests


def test_mentee_withdraws_and_chooses_again_from_my_mentoring_by_keyboard(
    keyboard_page, live_server, open_program
):
    page = keyboard_page
    page.set_default_timeout(30_000)
    program = open_program
    farah = factories.MentorFactory(program=program, first_name="Farah")
    sam = factories.MentorFactory(program=program, first_name="Sam")
    mentee = factories.ParticipantFactory(program=program, first_name="Mia")
    asked = preferences_submit(mentee=mentee, mentor_ids=[farah.pk]).request

    page.goto(_me(mentee))
    press_enter_on(page, page.get_by_role("button", name="Withdraw my request"))
    page.get_by_text("Your request is withdrawn").wait_for()
    asked.refresh_from_db()
    assert asked.status == MentorRequest.Status.WITHDRAWN

    press_enter_on(page, page.get_by_role("button", name="Choose mentors"))
    page.wait_for_url("**/p/*/")
    assert AccessLink.objects.filter(participant=mentee, purpose=Purpose.PREFERENCES).exists()
    tab_to(page, page.get_by_label(f"Your choice for {sam.full_name}"))
    page.keyboard.press("ArrowDown")  # "Not chosen" -> "1st choice"
    press_enter_on(page, page.get_by_role("button", name="Send my request"))
    page.get_by_text(f"Your request is with {sam.full_name}").wait_for()
    assert (
        MentorRequest.objects.get(mentee=mentee, status=MentorRequest.Status.PENDING).mentor == sam
    )


def test_mentor_pauses_until_a_date_and_comes_back_from_my_mentoring_by_keyboard(
    new_page, live_server, open_program
):
    # en-US: the date field takes its parts as month, day, year.
    page = new_page(locale="en-US", **SCREENS["desktop"])
    page.set_default_timeout(30_000)
    mentor = factories.MentorFactory(program=open_program, first_name="Farah")
    back_on = local_today(open_program) + timedelta(days=21)

    page.goto(_me(mentor))
    until = page.get_by_label("Unavailable until")
    tab_to(page, until)
    page.keyboard.type(back_on.strftime("%m%d%Y"))
    assert until.input_value() == back_on.isoformat()
    press_enter_on(page, page.get_by_role("button", name="Pause new requests"))
    page.get_by_text("You're unavailable until").wait_for()
    mentor.refresh_from_db()
    assert (mentor.accepting_requests, mentor.unavailable_until) == (False, back_on)

    press_enter_on(page, page.get_by_role("button", name="I'm available again"))
    page.get_by_text("Welcome back: mentees can ask you again.").wait_for()
    mentor.refresh_from_db()
    assert (mentor.accepting_requests, mentor.unavailable_until) == (True, None)
