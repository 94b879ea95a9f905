"""What Save refuses in an email template beyond its syntax.

- A template without the placeholders its reader acts with (an invitation
  without the personal link: the mentee shows Invited and can do nothing).
- A NUL character (PostgreSQL cannot store it: Save used to answer 500).
- A body past 100,000 characters, or a subject past 300.
Each with a message naming what is wrong, and nothing saved.
"""

import html
import re

import pytest
from django.urls import reverse

from invitations.email_kinds import EmailKind as InvitationEmail
from pairing.email_kinds import EmailKind as PairingEmail
from pairing_admin.mail.email_templates import EDITABLE_KINDS
from pairing_admin.mail.kinds import DEFAULTS
from pairing_admin.mail.models import EmailTemplate
from pairing_admin.mail.rendering import (
    BODY_MAX,
    PLACEHOLDER,
    REQUIRED,
    VARIABLES,
    Template,
    TemplateError,
    validate_template,
)
from tests.support.email import EMAIL_KIND_VALUES

# Which placeholders each kind cannot go without: a decision about what an
# admin may leave out of an email, so it is pinned here.
PINNED_REQUIRED = {
    "invitation": {"preferences_link"},
    "mentor_request": {"approve_link", "decline_link"},
    "request_reminder": {"approve_link", "decline_link"},
    "assignment": {"partner_email", "session_link"},
    "request_declined": {"preferences_link"},
    "request_expired": {"preferences_link"},
    "request_cancelled": {"preferences_link"},
    "request_forwarded": {"preferences_link"},
    "request_closed": {"preferences_link"},
    "waitlist_offer": {"preferences_link"},
    "waitlist_returned": {"preferences_link"},
    "mentor_requests": {"requests"},
    "assignments": {"mentees"},
    "pairing_ended": {"next_step"},
    "personal_page_link": {"home_link"},
    "registration_confirm": {"confirm_link"},
}
KINDS_WITH_REQUIRED = sorted(k for k in EDITABLE_KINDS if REQUIRED.get(k))


def _edit_url(program, kind):
    return reverse("email_templates:edit", kwargs={"program_id": program.pk, "kind": kind})


def _without(source: str, name: str) -> str:
    return PLACEHOLDER.sub(lambda m: "" if m.group(1) == name else m.group(0), source)


def _post(client, program, kind, template: Template):
    return client.post(
        _edit_url(program, kind),
        {
            "subject": template.subject,
            "body_text": template.text,
            "body_html": template.html,
            "action": "save",
        },
    )


def test_required_placeholders_are_pinned_and_each_is_a_variable_of_its_kind():
    assert {k: set(v) for k, v in REQUIRED.items() if k in EMAIL_KIND_VALUES} == {
        k: v for k, v in PINNED_REQUIRED.items() if k in EMAIL_KIND_VALUES
    }
    for kind, names in REQUIRED.items():
        if kind in EMAIL_KIND_VALUES:
            assert set(names) <= set(VARIABLES[kind]), kind
            for name in names:  # our own wording keeps them
                assert name in {m.group(1) for m in PLACEHOLDER.finditer(DEFAULTS[kind].text)}


@pytest.mark.parametrize("kind", KINDS_WITH_REQUIRED)
def test_a_template_without_a_required_placeholder_is_refused_naming_it(
    kind, program, org_admin_client
):
    default = DEFAULTS[kind]
    for name in REQUIRED[kind]:
        missing = Template(default.subject, _without(default.text, name))
        response = _post(org_admin_client, program, kind, missing)
        assert response.status_code == 400, (kind, name)
        page = html.unescape(response.content.decode())
        assert (
            f"Not saved. Text body: add {{{{ {name} }}}} ({VARIABLES[kind][name]}); without it "
            "the person who gets this email cannot act on it." in page
        )
        # An HTML body is what most people read: it must carry it too.
        html_only = Template(default.subject, default.text, "<p>Hello {{ first_name }}</p>")
        page = html.unescape(_post(org_admin_client, program, kind, html_only).content.decode())
        assert "Not saved. HTML body: add {{ " in page and f"{{{{ {name} }}}}" in page
    assert not EmailTemplate.objects.exists()
    # The default wording, with every one of them, saves.
    assert _post(org_admin_client, program, kind, default).status_code == 302


def test_several_missing_placeholders_are_named_together():
    with pytest.raises(TemplateError) as caught:
        validate_template(PairingEmail.MENTOR_REQUEST, Template("Hi", "Hi {{ first_name }}"))
    assert str(caught.value) == (
        "Text body: add {{ approve_link }} and {{ decline_link }} (Link to approve; Link to "
        "decline); without them the person who gets this email cannot act on it."
    )


def test_kinds_that_only_inform_require_nothing():
    validate_template(PairingEmail.PAIRINGS_ENDED, Template("Ended", "Your pairings have ended."))


@pytest.mark.parametrize(
    ("field", "label"),
    [("subject", "Subject"), ("body_text", "Text body"), ("body_html", "HTML body")],
)
def test_a_nul_character_is_refused_with_a_message(field, label, program, org_admin_client):
    form = {
        "subject": "Pick a mentor",
        "body_text": "Go: {{ preferences_link }}",
        "body_html": "<p>{{ preferences_link }}</p>",
        "action": "save",
    }
    form[field] = form[field][:3] + "\x00" + form[field][3:]
    response = org_admin_client.post(_edit_url(program, InvitationEmail.INVITATION), form)
    assert response.status_code == 400
    assert (
        f"Not saved. {label}: contains a NUL character (\\0), which an email cannot carry; "
        "remove it." in html.unescape(response.content.decode())
    )
    assert not EmailTemplate.objects.exists()


@pytest.mark.parametrize(
    ("field", "label"), [("body_text", "Text body"), ("body_html", "HTML body")]
)
def test_a_body_past_the_limit_is_refused_and_one_at_the_limit_saves(
    field, label, program, org_admin_client
):
    link = "{{ preferences_link }}"
    form = {"subject": "Pick", "body_text": link, "body_html": "", "action": "save"}
    form[field] = link + "x" * (BODY_MAX + 1 - len(link))
    response = org_admin_client.post(_edit_url(program, InvitationEmail.INVITATION), form)
    assert response.status_code == 400
    assert (
        f"Not saved. {label}: at most 100,000 characters (this one has 100,001)."
        in html.unescape(response.content.decode())
    )
    assert not EmailTemplate.objects.exists()
    form[field] = form[field][:-1]
    assert (
        org_admin_client.post(_edit_url(program, InvitationEmail.INVITATION), form).status_code
        == 302
    )
    assert len(getattr(EmailTemplate.objects.get(), field)) == BODY_MAX


def test_the_editor_states_the_limits_and_the_required_placeholder(program, org_admin_client):
    page = org_admin_client.get(_edit_url(program, InvitationEmail.INVITATION)).content.decode()
    page = html.unescape(re.sub(r"<[^>]+>", "", page))  # the words, without the markup
    assert "One line, up to 300 characters, placeholders included." in page
    assert "Text and HTML: up to 100,000 characters each." in page
    assert (
        "Each must include {{ preferences_link }} (the HTML part only if you write one): "
        "without it the person who gets this email cannot act on it." in page
    )
