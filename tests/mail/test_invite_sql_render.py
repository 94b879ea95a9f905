"""PostgreSQL renders invitation emails exactly as render() does, tricky values included."""

import re

import pytest
from django.db import connection

from invitations.email_kinds import EmailKind
from pairing_admin.mail.branding import Brand, frame, frame_of
from pairing_admin.mail.rendering import HTML_HEAD, HTML_TAIL, Template, render
from pairing_admin.mail.rendering_sql import SQL, frame_sql, render_sql
from tests.support.email import LINKS, TEMPLATES

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db]

TRICKY_NAMES = [
    "Ada",
    "<script>alert('x')</script>",
    'Zoë "Z" O\'Brien & Sons',
    "Ünïcødé 名前 😀",
    "  padded\tname  ",
    "line\nbreak",
    "two\n\nparagraphs",
    "\n",
    "",
    " ",
    "{{ preferences_link }}",
    "{{first_name}}",
    "https://evil.example/x?a=1&b=2",
    "a\u00a0b\u2003c\u2028d",
    "&amp; already",
    "100% %s %(x)s",
    "back\\slash \\1",
    "Please use https://evil.example/approve instead",
    "evil.example/approve",
    "s://evil.example/x",
    "https://evil.example/?next=",
    "@evil.example/a&b",
    "?a=1&b=2\n\nhttps://evil.example/p2",
    # Subjects past SUBJECT_MAX (300) characters: cut, with an ellipsis.
    "x" * 300,
    "x" * 301,
    "a" * 298 + " " + "b" * 10,
    "a" * 297 + "\n\t b" * 10,
    "😀" * 350,
    "word " * 100,
    "a" * 290 + " " + "b" * 40,
]
PROGRAM = {
    "program_name": "Mentoring <2027> & more https://evil.example/p",
    "organization_name": 'O\'Reilly "Co" https://evil.example/o?',
}


def _sql_render(template: Template, first_name: str, link: str) -> tuple[str, str, str]:
    values = {**PROGRAM, "first_name": SQL("t.first_name"), "preferences_link": SQL("t.link")}
    subject, text, body_html = render_sql(template, values)
    query = (
        f"SELECT {subject.sql}, {text.sql}, {body_html.sql} FROM (SELECT %s AS first_name, "
        "%s AS link) AS t"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*subject.params, *text.params, *body_html.params, first_name, link])
        return tuple(cursor.fetchone())


@pytest.mark.parametrize("template_name", TEMPLATES)
def test_sql_rendering_is_identical_to_python_rendering(template_name):
    template = TEMPLATES[template_name]
    mismatches = []
    for name in TRICKY_NAMES:
        for link in LINKS:
            values = {**PROGRAM, "first_name": name, "preferences_link": link}
            expected = render(EmailKind.INVITATION, template, values)
            got = _sql_render(template, name, link)
            if got != expected:
                mismatches.append((name, link, expected, got))
    assert not mismatches, mismatches[:2]


def test_values_are_escaped_in_html_and_inert():
    subject, _text, body_html = _sql_render(
        TEMPLATES["custom html"], "<script>alert(1)</script>", LINKS[0]
    )
    assert "<script>" not in body_html
    assert "&lt;script&gt;" in body_html
    assert "\n" not in subject


@pytest.mark.parametrize("template_name", TEMPLATES)
def test_sql_rendering_links_only_our_link_and_the_authors_urls(template_name):
    template = TEMPLATES[template_name]
    for name in TRICKY_NAMES:
        _subject, _text, body_html = _sql_render(template, name, LINKS[0])
        for href in re.findall(r'<a href="([^"]*)">', body_html):
            assert "evil" not in href, (name, body_html)


BRANDS = [
    Brand(display_name="Northwind Mentoring"),
    Brand(
        display_name='<script>alert(1)</script> & "Co"\r\nBcc: x@evil.example',
        contact_email="team@northwind.example",
        accent="#1a4d8f",
        logo_path="/brand/logo/" + "a" * 64 + "/",
    ),
    Brand(display_name="Équipe 名前 😀", contact_email="o'brien@example.org", language="fr"),
]


@pytest.mark.parametrize("template_name", TEMPLATES)
@pytest.mark.parametrize("brand", BRANDS, ids=["plain", "tricky", "unicode"])
def test_sql_framing_is_identical_to_python_framing(template_name, brand):
    """The brand's header and footer: frame_sql adds exactly what frame adds."""
    template = TEMPLATES[template_name]
    mismatches = []
    for name in TRICKY_NAMES[:12]:
        for link in LINKS:
            values = {**PROGRAM, "first_name": name, "preferences_link": link}
            expected = frame(*render(EmailKind.INVITATION, template, values)[1:], brand)
            got = _sql_framed(template, brand, name, link)
            if got != expected:
                mismatches.append((name, link, expected, got))
    assert not mismatches, mismatches[:2]


@pytest.mark.parametrize(
    "body_html", ["", HTML_HEAD + HTML_TAIL, HTML_HEAD, "<p>x</p>" + HTML_TAIL]
)
def test_sql_framing_of_edge_bodies(body_html):
    brand = BRANDS[1]
    text, framed = frame_sql(SQL.value("x\n\n"), SQL.value(body_html), frame_of(brand))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {text.sql}, {framed.sql}", [*text.params, *framed.params])
        assert tuple(cursor.fetchone()) == frame("x\n\n", body_html, brand)


def _sql_framed(template: Template, brand: Brand, first_name: str, link: str):
    values = {**PROGRAM, "first_name": SQL("t.first_name"), "preferences_link": SQL("t.link")}
    _, text, body_html = render_sql(template, values)
    text, body_html = frame_sql(text, body_html, frame_of(brand))
    query = f"SELECT {text.sql}, {body_html.sql} FROM (SELECT %s AS first_name, %s AS link) AS t"
    with connection.cursor() as cursor:
        cursor.execute(query, [*text.params, *body_html.params, first_name, link])
        return tuple(cursor.fetchone())
