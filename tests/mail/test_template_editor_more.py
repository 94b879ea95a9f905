"""The email template editor, per kind: its placeholders, its HTML body, which kinds it edits.

Complements test_email_templates.py (which checks the text body and the
invitation kind): here every editable kind is walked through the editor page,
the optional HTML body gets the same unsafe corpus as the text, and the
support-request email is checked to stay out of the editor.
"""

import html
import re

import pytest
from django.urls import reverse

from invitations.email_kinds import EmailKind as InvitationEmail
from pairing.email_kinds import EmailKind as PairingEmail
from pairing_admin.mail.email_templates import EDITABLE_KINDS, email_template_save
from pairing_admin.mail.kinds import DEFAULTS
from pairing_admin.mail.models import EmailTemplate, OutboundEmail
from pairing_admin.mail.outbox import Draft, outbox_add, template_for
from pairing_admin.mail.rendering import (
    VARIABLES,
    Template,
    TemplateError,
    render,
    validate_template,
)
from programs.email_kinds import EmailKind as ProgramEmail
from tests import factories
from tests.support.email import EMAIL_KIND_VALUES, EMAIL_KINDS

# What the product intends (templates_service.EDITABLE_KINDS): every email a
# participant gets is the program's to word, a kind added later included; the
# support request goes from an admin to our support desk and stays ours.
NOT_EDITABLE = {ProgramEmail.SUPPORT_REQUEST}
EXPECTED_EDITABLE = set(EMAIL_KINDS) - NOT_EDITABLE
PARTICIPANT_KINDS = {
    InvitationEmail.INVITATION,
    PairingEmail.MENTOR_REQUEST,
    PairingEmail.REQUEST_REMINDER,
    PairingEmail.ASSIGNMENT,
    PairingEmail.REQUEST_DECLINED,
    PairingEmail.REQUEST_EXPIRED,
    PairingEmail.REQUEST_FORWARDED,
    PairingEmail.PAIRING_ENDED,
}

ALL_VARIABLES = set().union(*(VARIABLES[kind] for kind in EMAIL_KINDS))

VARIABLE_ROW = re.compile(r"<dt><code>\{\{ (\w+) \}\}</code></dt><dd>(.*?)</dd>", re.S)


def _edit_url(program, kind):
    return reverse("email_templates:edit", kwargs={"program_id": program.pk, "kind": kind})


def _reset_url(program, kind):
    return reverse("email_templates:reset", kwargs={"program_id": program.pk, "kind": kind})


def _listed_variables(page: str) -> list[tuple[str, str]]:
    block = re.search(r'<dl class="variables">(.*?)</dl>', page, re.S)
    assert block, "the editor shows no list of placeholders"
    return [(name, html.unescape(desc)) for name, desc in VARIABLE_ROW.findall(block.group(1))]


def _foreign(kind) -> list[str]:
    """Variables some other kind may use and this one may not."""
    return sorted(ALL_VARIABLES - set(VARIABLES[kind]))


def _good_for(kind) -> Template:
    """A valid template of this kind using every one of its placeholders."""
    names = sorted(VARIABLES[kind])
    return Template(
        subject=" ".join(f"{{{{ {n} }}}}" for n in names),
        text="\n".join(f"{n}: {{{{ {n} }}}}" for n in names),
        html="".join(f"<p>{n}: {{{{{n}}}}}</p>" for n in names),  # no spaces: also a placeholder
    )


# --- 1. Each kind's placeholders ------------------------------------------------

COMMON_NAMES = {"first_name", "program_name", "organization_name"}
LINKS = {"preferences_link"}
# What each kind may use beyond the common three: a change here is a decision
# about what an admin can put in front of a participant, so it is pinned.
PINNED = {
    "invitation": LINKS,
    "mentor_request": {
        "mentee_name",
        "mentee_profile",
        "mentee_note",
        "deadline",
        "approve_link",
        "decline_link",
    },
    "request_reminder": {"mentee_name", "deadline", "approve_link", "decline_link"},
    "assignment": {"partner_name", "partner_email", "partner_role", "session_link"},
    "request_declined": {"mentor_name", "decline_message"} | LINKS,
    "request_expired": {"mentor_name"} | LINKS,
    "request_cancelled": {"mentor_name"} | LINKS,
    "request_forwarded": {"mentor_name", "next_mentor_name", "deadline"} | LINKS,
    "request_closed": {"mentor_name"} | LINKS,
    "waitlist_offer": {"mentor_name", "deadline"} | LINKS,
    "waitlist_returned": {"mentor_name", "what_happened"} | LINKS,
    "mentor_requests": {"count", "deadline", "requests"},
    "assignments": {"count", "mentees"},
    "pairing_ended": {"partner_name", "next_step"},
    "pairings_ended": {"count", "partners"},
    "personal_page_link": {"home_link"},
    "support_request": {"admin_name", "admin_email", "request_subject", "message"},
    "registration_confirm": {"confirm_link", "confirm_by"},
}


def test_each_kind_may_use_exactly_its_pinned_variables():
    assert set(PINNED) == set(EMAIL_KIND_VALUES), "a new kind: pin what it may use"
    for kind in EMAIL_KINDS:
        assert set(VARIABLES[kind]) == COMMON_NAMES | PINNED[kind.value], kind


def test_every_editable_kind_has_variables_and_a_default_that_uses_only_them():
    for kind in EDITABLE_KINDS:
        assert set(VARIABLES[kind]) >= COMMON_NAMES
        assert all(desc.strip() for desc in VARIABLES[kind].values()), kind
        validate_template(kind, DEFAULTS[kind])  # our own wording passes our own rules


@pytest.mark.parametrize("kind", sorted(EXPECTED_EDITABLE))
def test_editor_lists_exactly_the_kinds_variables_with_their_descriptions(
    kind, program, org_admin_client
):
    response = org_admin_client.get(_edit_url(program, kind))
    assert response.status_code == 200
    listed = _listed_variables(response.content.decode())
    assert dict(listed) == dict(VARIABLES[kind])
    assert len(listed) == len(VARIABLES[kind])  # each once
    for name in _foreign(kind):
        assert f"{{{{ {name} }}}}</code>" not in response.content.decode()


@pytest.mark.parametrize("kind", sorted(EXPECTED_EDITABLE))
def test_every_listed_variable_saves_and_renders_in_subject_text_and_html(
    kind, program, org_admin_client
):
    good = _good_for(kind)
    response = org_admin_client.post(
        _edit_url(program, kind),
        {"subject": good.subject, "body_text": good.text, "body_html": good.html, "action": "save"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = EmailTemplate.objects.get(program=program, kind=kind)
    assert (saved.subject, saved.body_text, saved.body_html) == (good.subject, good.text, good.html)
    values = {name: f"V-{name}" for name in VARIABLES[kind]}
    subject, text, body_html = render(kind, template_for(program, kind), values)
    for name in VARIABLES[kind]:
        assert f"V-{name}" in subject and f"{name}: V-{name}" in text
        assert f"<p>{name}: V-{name}</p>" in body_html


@pytest.mark.parametrize("kind", sorted(EXPECTED_EDITABLE))
@pytest.mark.parametrize("field", ["subject", "body_text", "body_html"])
def test_a_variable_of_another_kind_is_refused_at_save_with_a_message(
    kind, field, program, org_admin, org_admin_client
):
    foreign = _foreign(kind)
    assert foreign, f"{kind} may use every variable there is"
    # Keep the program's own earlier version: a refused save must not touch it.
    before = email_template_save(
        program=program, kind=kind, template=DEFAULTS[kind], user=org_admin
    )
    label = {"subject": "Subject", "body_text": "Text body", "body_html": "HTML body"}[field]
    allowed = ", ".join(sorted(VARIABLES[kind]))
    for name in foreign:
        form = {
            "subject": "Hello {{ first_name }}",
            "body_text": "Hi {{ first_name }}",
            "body_html": "",
            "action": "save",
        }
        form[field] = f"Hi {{{{ {name} }}}}"
        response = org_admin_client.post(_edit_url(program, kind), form)
        assert response.status_code == 400, (kind, field, name)
        page = html.unescape(response.content.decode())
        assert f"Not saved. {label}: unknown placeholder {{{{ {name} }}}}." in page
        assert f"You can use: {allowed}." in page
        stored = EmailTemplate.objects.get(program=program, kind=kind)
        assert (stored.subject, stored.body_text, stored.body_html, stored.updated_at) == (
            before.subject,
            before.body_text,
            before.body_html,
            before.updated_at,
        )
    assert EmailTemplate.objects.count() == 1


def test_support_request_variables_are_refused_in_participant_emails():
    # The admin's own name, address and message never go into a participant's email.
    support_only = (
        VARIABLES[ProgramEmail.SUPPORT_REQUEST].keys() - VARIABLES[InvitationEmail.INVITATION]
    )
    assert support_only == {"admin_name", "admin_email", "request_subject", "message"}
    for kind in EDITABLE_KINDS:
        assert not support_only & VARIABLES[kind].keys(), kind
        for name in support_only:
            for field in ("subject", "text", "html"):
                parts = {"subject": "s", "text": "t", "html": ""}
                parts[field] = f"{{{{ {name} }}}}"
                with pytest.raises(TemplateError, match="unknown placeholder"):
                    validate_template(kind, Template(**parts))


# --- 2. The optional HTML body --------------------------------------------------

# The corpus test_email_templates.py uses for the text body, and some syntax errors.
UNSAFE_HTML = [
    ("{{ settings.SECRET_KEY }}", "only placeholders"),
    ("{{ program.organization.name }}", "only placeholders"),
    ("{% load static %}", "only placeholders"),
    ("{% include 'base.html' %}", "only placeholders"),
    ("{{ first_name|upper }}", "only placeholders"),
    ("{{ __class__ }}", "unknown placeholder"),
    ("{{ first_name.__class__.__mro__ }}", "only placeholders"),
    ("{{ first_name.__init__.__globals__ }}", "only placeholders"),
    ("{{ secret_key }}", "unknown placeholder"),
    ("{% if x %}hi{% endif %}", "only placeholders"),
    ("{# comment #}", "only placeholders"),
    ("{{ mentor_name }}", "unknown placeholder"),  # a variable of other kinds only
    ("{{ admin_email }}", "unknown placeholder"),  # the support request's only
    ("<p>{{ first_name }</p>", "only placeholders"),  # unclosed
    ("<p>{{ first_name</p>", "only placeholders"),
    ("<p>first_name }}</p>", "only placeholders"),
    ("<p>{{ }}</p>", "only placeholders"),
    ("<p>{{ 1st }}</p>", "only placeholders"),
    ("<p>{{ first name }}</p>", "only placeholders"),
    ("<p>{%</p>", "only placeholders"),
]


@pytest.mark.parametrize(("source", "says"), UNSAFE_HTML)
def test_unsafe_html_body_alone_is_refused(source, says):
    template = Template(subject="Hello {{ first_name }}", text="Go: {{ preferences_link }}")
    validate_template(InvitationEmail.INVITATION, template)  # the rest is fine
    with pytest.raises(TemplateError) as caught:
        validate_template(
            InvitationEmail.INVITATION, Template(template.subject, template.text, source)
        )
    assert str(caught.value).startswith("HTML body")
    assert says in str(caught.value)


@pytest.mark.parametrize(("source", "says"), UNSAFE_HTML)
def test_unsafe_html_body_is_not_saved_and_the_editor_says_why(
    source, says, program, org_admin, org_admin_client
):
    kind = InvitationEmail.INVITATION
    form = {"subject": "Hello {{ first_name }}", "body_text": "Go: {{ preferences_link }}"}
    response = org_admin_client.post(
        _edit_url(program, kind), {**form, "body_html": source, "action": "save"}
    )
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "Not saved. HTML body" in page and says in page
    assert not EmailTemplate.objects.exists()
    # Nor does it overwrite a version the program already has.
    email_template_save(
        program=program,
        kind=kind,
        template=Template("Mine", "Mine {{ preferences_link }}", "<p>{{ preferences_link }}</p>"),
        user=org_admin,
    )
    again = org_admin_client.post(
        _edit_url(program, kind), {**form, "body_html": source, "action": "save"}
    )
    assert again.status_code == 400
    stored = EmailTemplate.objects.get()
    assert (stored.subject, stored.body_html) == ("Mine", "<p>{{ preferences_link }}</p>")
    # The same form with an empty HTML body saves: only the HTML body was wrong.
    ok = org_admin_client.post(
        _edit_url(program, kind), {**form, "body_html": "", "action": "save"}
    )
    assert ok.status_code == 302
    assert EmailTemplate.objects.get().subject == "Hello {{ first_name }}"


@pytest.mark.parametrize("kind", sorted(EXPECTED_EDITABLE))
def test_unsafe_html_body_is_refused_for_every_kind(kind, program, org_admin_client):
    for source, says in UNSAFE_HTML:
        if source == "{{ mentor_name }}" and "mentor_name" in VARIABLES[kind]:
            continue
        response = org_admin_client.post(
            _edit_url(program, kind),
            {"subject": "Hi", "body_text": "Hi", "body_html": source, "action": "save"},
        )
        assert response.status_code == 400, (kind, source)
        page = html.unescape(response.content.decode())
        assert "Not saved. HTML body" in page and says in page
    assert not EmailTemplate.objects.exists()


def test_format_widths_in_the_html_body_stay_plain_text():
    # As in the text body: not refused, because nothing formats them.
    widths = "{0:>999999999} %(first_name)999999999s {first_name:>99999999}"
    template = Template(
        subject="s",
        text="t {{ preferences_link }}",
        html=f"<p>{widths} {{{{preferences_link}}}}</p>",
    )
    validate_template(InvitationEmail.INVITATION, template)
    values = {"first_name": "Ada", "preferences_link": "L"}
    _, _, body_html = render(InvitationEmail.INVITATION, template, values)
    assert body_html == f"<p>{widths} L</p>"


def test_valid_html_body_saves_and_values_are_escaped_when_sent(
    program, org_admin_client, smtp_server
):
    kind = InvitationEmail.INVITATION
    body_html = '<p>Hi {{ first_name }}</p><p><a href="{{ preferences_link }}">Choose</a></p>'
    response = org_admin_client.post(
        _edit_url(program, kind),
        {
            "subject": "Hello {{ first_name }}",
            "body_text": "Go: {{ preferences_link }}",
            "body_html": body_html,
            "action": "save",
        },
    )
    assert response.status_code == 302
    assert EmailTemplate.objects.get(program=program, kind=kind).body_html == body_html
    name = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    outbox_add(
        [
            Draft(
                kind=kind,
                key="html-1",
                to_email="m@example.org",
                values={"first_name": name, "preferences_link": "https://e.org/p?a=1&b=2"},
            )
        ],
        program=program,
    )
    row = OutboundEmail.objects.get()
    assert "<script>" not in row.body_html and "<img" not in row.body_html
    assert (
        "<p>Hi &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
        "&lt;img src=x onerror=alert(1)&gt;</p>" in row.body_html
    )
    assert '<a href="https://e.org/p?a=1&amp;b=2">Choose</a>' in row.body_html
    # The text part is not escaped (the program's brand signs it).
    assert row.body_text.startswith("Go: https://e.org/p?a=1&b=2\n\n-- \n")


def test_preview_of_an_html_body_escapes_a_participants_name(program, org_admin_client):
    kind = InvitationEmail.INVITATION
    person = factories.ParticipantFactory(program=program, first_name="<script>alert(1)</script>")
    response = org_admin_client.post(
        _edit_url(program, kind) + f"?participant={person.pk}",
        {
            "subject": "Hello {{ first_name }}",
            "body_text": "Go: {{ preferences_link }}",
            "body_html": "<p>Hi {{ first_name }}</p>",
            "action": "preview",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "<script>alert(1)" not in page
    # Escaped by the renderer, then again into the sandboxed frame's srcdoc
    # (after the program's brand header, which the preview shows as sent).
    assert 'srcdoc="&lt;div style=' in page
    assert "&lt;p&gt;Hi &amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;&lt;/p&gt;" in page
    assert not EmailTemplate.objects.exists()


# --- 3. Which kinds are editable ------------------------------------------------


def test_editable_kinds_are_every_kind_but_the_support_request():
    assert set(EDITABLE_KINDS) == EXPECTED_EDITABLE
    assert PARTICIPANT_KINDS <= EXPECTED_EDITABLE
    assert len(EDITABLE_KINDS) == len(EXPECTED_EDITABLE)  # each once
    assert ProgramEmail.SUPPORT_REQUEST not in EDITABLE_KINDS
    assert set(VARIABLES) == set(EMAIL_KINDS) and set(DEFAULTS) == set(EMAIL_KINDS)


def test_the_list_links_only_the_editable_kinds(program, org_admin_client):
    page = org_admin_client.get(
        reverse("email_templates:list", kwargs={"program_id": program.pk})
    ).content.decode()
    prefix = reverse("email_templates:list", kwargs={"program_id": program.pk})
    linked = set(re.findall(rf'href="{re.escape(prefix)}([^/"]+)/"', page)) - {"log"}
    assert linked == {kind.value for kind in EXPECTED_EDITABLE}
    for kind in EXPECTED_EDITABLE:
        assert html.escape(kind.label) in page
    assert ProgramEmail.SUPPORT_REQUEST.label not in page


@pytest.mark.parametrize("kind", sorted(NOT_EDITABLE))
def test_the_editor_refuses_a_kind_that_is_not_editable(kind, program, org_admin_client):
    good = _good_for(kind)
    assert org_admin_client.get(_edit_url(program, kind)).status_code == 404
    for action in ("save", "preview"):
        response = org_admin_client.post(
            _edit_url(program, kind),
            {"subject": good.subject, "body_text": good.text, "action": action},
        )
        assert response.status_code == 404
    assert org_admin_client.post(_reset_url(program, kind)).status_code == 404
    assert not EmailTemplate.objects.exists()


def test_reset_of_a_kind_that_is_not_editable_leaves_its_row(program, org_admin_client):
    EmailTemplate.objects.create(
        program=program, kind=ProgramEmail.SUPPORT_REQUEST, subject="Ours", body_text="Ours"
    )
    assert (
        org_admin_client.post(_reset_url(program, ProgramEmail.SUPPORT_REQUEST)).status_code == 404
    )
    assert EmailTemplate.objects.filter(kind=ProgramEmail.SUPPORT_REQUEST).exists()
