"""Every participant page and email shows its program's brand, never the admin site.

Each page is reached the way a mentee, a mentor or a visitor reaches it (their
link, the registration form); each participant kind of email goes through
the outbox and the real SMTP sender.
"""

import re
from datetime import timedelta
from email.utils import parseaddr

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from pairing_admin.mail.branding import is_branded
from pairing_admin.mail.kinds import VARIABLES, choices
from pairing_admin.mail.links import Purpose, link_create
from pairing_admin.mail.models import OutboundEmail
from pairing_admin.mail.outbox import Draft, outbox_add
from pairing_admin.mail.sending import outbox_send_batch
from programs.branding import brand_of
from programs.models import Program
from tests import factories
from tests.programs import registering
from tests.support.branding import TRICKY_NAME, brand, image_bytes
from tests.support.smtp import text_of

NAME = "Northwind Mentoring"
PROGRAM_NAME = "Q3 cohort (internal)"
CONTACT = "team@northwind.example"
# Where the admin site lives: no participant page links there.
ADMIN_HREF = re.compile(
    r'(?:href|src|action)="(?:https?://[^/"]*)?/(?:programs|accounts|system|admin)\b'
)


def _link(purpose, participant, object_id=None) -> str:
    _, raw = link_create(
        purpose=purpose,
        participant=participant,
        object_id=object_id,
        expires_at=timezone.now() + timedelta(days=5),
    )
    return raw


@pytest.fixture
def branded(live):
    brand(live, name=NAME, accent="#1a4d8f", contact=CONTACT, logo=image_bytes(80, 40))
    return Program.objects.select_related("organization").get(pk=live.pk)


def _assert_branded(response, label: str, *, brand_shown: bool = True) -> None:
    page = response.content.decode()
    assert "Pairing admin" not in page, label
    assert not ADMIN_HREF.search(page), (label, ADMIN_HREF.search(page))
    if not brand_shown:
        return
    assert f'<span class="brand-name">{NAME}</span>' in page, label
    assert '<img class="brand-logo" src="/brand/logo/' in page and 'alt=""' in page, label
    assert 'href="/brand/accent/1a4d8f.css"' in page, label
    assert f'href="mailto:{CONTACT}"' in page, label
    # The program's own (internal) name never shows: the pages say the display name.
    assert PROGRAM_NAME not in page, label


def test_every_participant_page_shows_the_brand_and_no_admin_link(branded, anon_client, settings):
    program = branded
    Program.objects.filter(pk=program.pk).update(name=PROGRAM_NAME)
    program.refresh_from_db()
    mentee = factories.ParticipantFactory(program=program)
    mentor = factories.MentorFactory(program=program)
    mentor_request = factories.MentorRequestFactory(program=program, mentee=mentee, mentor=mentor)
    pairing = factories.PairingFactory(program=program)
    preferences = _link(Purpose.PREFERENCES, mentee)
    approve = reverse(
        "pairing:request_link", args=[_link(Purpose.APPROVE, mentor, mentor_request.pk)]
    )
    session = reverse(
        "pairing:session_link", args=[_link(Purpose.SESSION, pairing.mentee, pairing.pk)]
    )
    home = _link(Purpose.HOME, mentee)
    pages = {
        "me": anon_client.get(reverse("pairing:me", args=[home])),
        "me_profile": anon_client.get(reverse("pairing:me_profile", args=[home])),
        "preferences": anon_client.get(reverse("pairing:preferences", args=[preferences])),
        "waitlist_join": anon_client.get(reverse("pairing:waitlist_join", args=[preferences])),
        "request_confirm": anon_client.get(approve),
        "session_log": anon_client.get(session),
        "register": anon_client.get(registering.register_url(program)),
        "register_done": anon_client.get(registering.register_url(program) + "?sent=1"),
    }
    assert anon_client.post(approve).status_code == 302
    pages["request_decided"] = anon_client.get(approve)
    data = {"role": "mentee", "first_name": "Zoe", "last_name": "Q", "email": "zoe@example.org"}
    assert anon_client.post(registering.register_url(program), data).status_code == 302
    code = registering.emailed_code(program, "zoe@example.org")
    pages["register_confirm"] = anon_client.get(registering.confirm_url(program, code))
    settings.REGISTRATION_RATE_LIMIT = 0
    pages["register_limited"] = anon_client.post(registering.register_url(program), data)
    Program.objects.filter(pk=program.pk).update(registration_open=False)
    pages["register_closed"] = anon_client.get(registering.register_url(program))
    for label, response in pages.items():
        assert response.status_code in (200, 429), (label, response.status_code)
        _assert_branded(response, label)
    used = {t.name for r in pages.values() for t in r.templates}
    assert {
        f"pairing/{name}.html" for name in ("preferences", "waitlist_join", "session_log")
    } <= used
    assert {"pairing/request_confirm.html", "pairing/request_decided.html"} <= used
    assert {"pairing/me.html", "pairing/me_profile.html"} <= used
    assert {
        f"programs/{name}.html"
        for name in ("register", "register_done", "register_confirm", "register_limited")
    } | {"programs/register_closed.html"} <= used


def test_the_neutral_pages_name_no_program_and_link_nowhere_admin(branded, anon_client, settings):
    """An unknown link, or too many tries, must not tell which program a token is for."""
    unknown = anon_client.get(reverse("pairing:preferences", args=["no-such-token"]))
    assert unknown.status_code == 404
    _assert_branded(unknown, "link_invalid", brand_shown=False)
    assert NAME not in unknown.content.decode()
    ask = anon_client.get(reverse("pairing:me_ask"))
    assert ask.status_code == 200
    _assert_branded(ask, "me_ask", brand_shown=False)  # no link, so no program to show
    settings.TOKEN_PAGE_RATE_LIMIT = 0
    limited = anon_client.get(reverse("pairing:preferences", args=["any"]))
    assert limited.status_code == 429
    _assert_branded(limited, "request_rate_limited", brand_shown=False)


def test_the_brand_on_pages_is_escaped(live, anon_client):
    brand(live, name=TRICKY_NAME)
    mentee = factories.ParticipantFactory(program=live)
    page = anon_client.get(
        reverse("pairing:preferences", args=[_link(Purpose.PREFERENCES, mentee)])
    )
    html = page.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_program_without_branding_shows_its_name(live, anon_client):
    mentee = factories.ParticipantFactory(program=live)
    page = anon_client.get(
        reverse("pairing:preferences", args=[_link(Purpose.PREFERENCES, mentee)])
    )
    html = page.content.decode()
    assert f'<span class="brand-name">{live.name}</span>' in html
    assert "mailto:" not in html and "/brand/" not in html


# --- Emails -------------------------------------------------------------------------

PARTICIPANT_KINDS = [kind for kind, _ in choices() if is_branded(kind)]


def test_every_participant_kind_of_email_carries_the_brand(branded, smtp_server):
    """Through the outbox and the real SMTP sender: From name, Reply-To, header, footers."""
    assert len(PARTICIPANT_KINDS) >= 15
    drafts = [
        Draft(
            kind=kind,
            key=f"brand:{kind}",
            to_email=f"{kind}@example.org",
            values={name: f"<{name}>" for name in VARIABLES[kind]},
        )
        for kind in PARTICIPANT_KINDS
    ]
    outbox_add(drafts, program=branded)
    outbox_send_batch(list(OutboundEmail.objects.values_list("pk", flat=True)))
    messages = smtp_server.wait_for(len(drafts))
    logo_url = settings.PUBLIC_BASE_URL.rstrip("/") + brand_of(branded).logo_path
    for message in messages:
        kind = message["To"].split("@")[0]
        name, address = parseaddr(str(message["From"]))
        assert name == NAME, kind
        assert address == parseaddr(settings.DEFAULT_FROM_EMAIL)[1], kind
        assert str(message["Reply-To"]) == CONTACT, kind
        text = text_of(message).replace("\r\n", "\n")
        assert text.endswith(f"\n-- \n{NAME}\nQuestions? Contact your program team at {CONTACT}.\n")
        body_html = message.get_body(("html",)).get_content()
        assert f'<img src="{logo_url}" alt="{NAME}"' in body_html, kind
        assert "border-bottom:4px solid #1a4d8f" in body_html, kind
        assert f'<a href="mailto:{CONTACT}"' in body_html, kind
    assert {m["To"].split("@")[0] for m in messages} == set(PARTICIPANT_KINDS)


def test_a_hostile_display_name_stays_inert_in_headers_and_html(live, smtp_server):
    brand(live, name=TRICKY_NAME, contact="")
    outbox_add(
        [Draft(kind="invitation", key="k", to_email="m@example.org", values={"first_name": "M"})],
        program=live,
    )
    outbox_send_batch(list(OutboundEmail.objects.values_list("pk", flat=True)))
    (message,) = smtp_server.wait_for(1)
    assert message["Bcc"] is None and message["Reply-To"] is None
    name, _ = parseaddr(str(message["From"]))
    assert "\n" not in name and "\r" not in name and name.startswith("Northwind <script>")
    body_html = message.get_body(("html",)).get_content()
    assert "<script>" not in body_html and "&lt;script&gt;alert(1)&lt;/script&gt;" in body_html


def test_the_support_request_to_our_desk_carries_no_program_brand(branded, smtp_server, org_admin):
    from programs.support import support_request_submit

    branded.organization.support_advisor_email = "advisor@ourdesk.example"
    branded.organization.save()
    support_request_submit(program=branded, user=org_admin, subject="Help", message="Please")
    outbox_send_batch(list(OutboundEmail.objects.values_list("pk", flat=True)))
    (message,) = smtp_server.wait_for(1)
    assert str(message["From"]) == settings.DEFAULT_FROM_EMAIL
    assert NAME not in text_of(message)


def test_the_from_name_is_the_programs_name_when_the_email_goes_out(branded, smtp_server):
    """Queued before a rename, sent after it: in the new name (read once per batch)."""
    outbox_add(
        [Draft(kind="invitation", key="k", to_email="m@example.org", values={"first_name": "M"})],
        program=branded,
    )
    Program.objects.filter(pk=branded.pk).update(brand_name="Northwind Mentors")
    outbox_send_batch(list(OutboundEmail.objects.values_list("pk", flat=True)))
    (message,) = smtp_server.wait_for(1)
    assert parseaddr(str(message["From"]))[0] == "Northwind Mentors"


@pytest.mark.parametrize("use_sql", [False, True])
def test_emails_name_the_program_by_its_display_name(branded, org_admin, use_sql):
    """{{ program_name }} is what participants read: the display name, on both the
    Python and the SQL invite paths, and in a mentor's request email."""
    from invitations.services import invitation_send_all
    from pairing import services

    Program.objects.filter(pk=branded.pk).update(name=PROGRAM_NAME, pairing_enabled=True)
    branded.refresh_from_db()
    mentee = factories.ParticipantFactory(program=branded)
    mentor = factories.MentorFactory(program=branded, capacity=2)
    invitation_send_all(program=branded, user=org_admin, expected=1, use_sql=use_sql)
    services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk], note="")
    emails = list(OutboundEmail.objects.filter(program=branded))
    assert {e.kind for e in emails} >= {"invitation", "mentor_request"}
    for email in emails:
        assert PROGRAM_NAME not in email.subject + email.body_text + email.body_html, email.kind
    (invitation,) = [e for e in emails if e.kind == "invitation"]
    assert invitation.subject.startswith(f"{NAME}:")
