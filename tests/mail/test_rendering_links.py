"""An HTML part made from the text links only our links and the author's URLs.

Participants write names, profiles, notes and decline messages themselves
(anyone can register through the public form). A URL in one of those values
must stay plain text, so nobody can put a clickable "approve here" link beside
our real Approve and Decline links.
"""

import re

import pytest

from invitations.email_kinds import EmailKind as InvitationEmail
from pairing.email_kinds import EmailKind as PairingEmail
from pairing_admin.mail.kinds import DEFAULTS
from pairing_admin.mail.rendering import LINK_VARIABLES, VARIABLES, Template, render

EVIL = "https://evil.example/approve"
OURS = {
    "preferences_link": "https://pairing.example.org/p/Tok-en_1/",
    "approve_link": "https://pairing.example.org/m/Tok-en_2/approve/",
    "decline_link": "https://pairing.example.org/m/Tok-en_3/decline/",
    "session_link": "https://pairing.example.org/s/Tok-en_4/",
    "confirm_link": "https://pairing.example.org/join/Tok-en_5/confirm/Co-de_6/",
    "home_link": "https://pairing.example.org/me/Tok-en_7/",
}


def _hrefs(body_html: str) -> list[str]:
    return re.findall(r'<a href="([^"]*)">', body_html)


def _participant_values(kind: str, value: str) -> dict[str, str]:
    return {name: OURS.get(name, value) for name in VARIABLES[kind]}


@pytest.mark.parametrize("kind", list(DEFAULTS))
@pytest.mark.parametrize(
    "value",
    [
        f"Please use {EVIL} instead",
        EVIL,
        f"{EVIL}?a=1&b=2",
        f"two\n\nparagraphs {EVIL}\nand a line",
    ],
)
def test_url_in_a_participant_value_is_never_a_link(kind, value):
    """Every non-link variable of every default email carries the URL; only ours are links."""
    _subject, _text, body_html = render(kind, DEFAULTS[kind], _participant_values(kind, value))
    expected = [OURS[name] for name in LINK_VARIABLES if f"{{{{ {name} }}}}" in DEFAULTS[kind].text]
    assert sorted(_hrefs(body_html)) == sorted(expected)
    assert "evil.example" in body_html  # still shown, as plain escaped text


def test_mentee_note_with_a_url_is_plain_text_beside_the_real_approve_and_decline_links():
    values = {
        **OURS,
        "mentee_note": f"Please use {EVIL} instead",
        "mentee_name": "<b>x</b>",
        "mentee_profile": "See https://evil.example/profile",
    }
    _subject, _text, body_html = render(
        PairingEmail.MENTOR_REQUEST, DEFAULTS[PairingEmail.MENTOR_REQUEST], values
    )
    assert _hrefs(body_html) == [OURS["approve_link"], OURS["decline_link"]]
    assert f"<p>Their note: Please use {EVIL} instead</p>" in body_html
    assert "&lt;b&gt;x&lt;/b&gt;" in body_html


def test_decline_message_with_a_url_is_plain_text_for_the_mentee():
    values = {**OURS, "decline_message": "Try https://evil.example/choose?x=1&y=2 instead"}
    _s, _t, body_html = render(
        PairingEmail.REQUEST_DECLINED, DEFAULTS[PairingEmail.REQUEST_DECLINED], values
    )
    assert _hrefs(body_html) == [OURS["preferences_link"]]
    assert "https://evil.example/choose?x=1&amp;y=2" in body_html


def test_url_written_by_the_template_author_is_still_a_link():
    template = Template(
        subject="s",
        text="Read https://help.example.org/pairing?a=1&b=2 first, {{ first_name }}.",
    )
    _s, _t, body_html = render(InvitationEmail.INVITATION, template, {"first_name": EVIL})
    assert _hrefs(body_html) == ["https://help.example.org/pairing?a=1&amp;b=2"]


def test_our_link_with_text_the_author_appended_stays_one_link():
    template = Template(subject="s", text="Go: {{ preferences_link }}?utm=mail&x=1 now")
    _s, _t, body_html = render(InvitationEmail.INVITATION, template, OURS)
    assert _hrefs(body_html) == [OURS["preferences_link"] + "?utm=mail&amp;x=1"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # a participant value completing the author's URL
        ("Profile: https://{{ first_name }}", "evil.example/approve"),
        ("Profile: https://x.example/{{ first_name }}", "../../evil"),
        ("Profile: http{{ first_name }}", "s://evil.example/approve"),
        # a participant value glued in front of our link
        ("{{ first_name }}{{ preferences_link }}", "https://evil.example/?next="),
        # a participant value glued after our link
        ("{{ preferences_link }}{{ first_name }}", "@evil.example/approve"),
    ],
)
def test_participant_value_touching_a_url_never_becomes_part_of_a_link(text, name):
    template = Template(subject="s", text=text)
    values = {**OURS, "first_name": name}
    _s, _t, body_html = render(InvitationEmail.INVITATION, template, values)
    for href in _hrefs(body_html):
        assert "evil" not in href, body_html
        assert href == OURS["preferences_link"] or href.startswith("https://x.example/")


def test_text_part_and_paragraphs_are_unchanged_by_the_link_rule():
    template = DEFAULTS[InvitationEmail.INVITATION]
    values = {**OURS, "first_name": f"Ada\n\n{EVIL}", "program_name": "P & <Q>"}
    _s, text, body_html = render(InvitationEmail.INVITATION, template, values)
    assert f"Hi Ada\n\n{EVIL}," in text  # the text part is the text, untouched
    assert f"<p>Hi Ada</p>\n<p>{EVIL},</p>" in body_html
    assert "P &amp; &lt;Q&gt;" in body_html
    assert _hrefs(body_html) == [OURS["preferences_link"]]


def test_link_variables_are_only_the_links_we_generate():
    """A new variable is plain text unless someone decides it is one of our links."""
    declared = {name for names in VARIABLES.values() for name in names}
    assert {name for name in declared if name.endswith("_link")} == LINK_VARIABLES
