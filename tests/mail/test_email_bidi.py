"""What emails show never carries a bidirectional control from a value.

Input is cleaned (tests/test_bidi_input.py), but rows written before that,
and names an admin typed, still hold them: rendering strips them from every
value substituted into a subject, a text body or an HTML body, and from the
To name. Subjects (one line) lose the directional marks too; bodies keep
them, as right-to-left prose uses them.
"""

import pytest
from django.db import connection

from invitations.email_kinds import EmailKind as InvitationEmail
from pairing_admin.mail.kinds import DEFAULTS
from pairing_admin.mail.models import OutboundEmail
from pairing_admin.mail.outbox import Draft, outbox_add
from pairing_admin.mail.rendering import VARIABLES, Template, render
from pairing_admin.mail.rendering_sql import SQL, render_sql
from tests.support.email import EMAIL_KINDS, LINKS, TEMPLATES

FORMATTING = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
MARKS = set("\u200e\u200f\u061c")
RLO, PDF, LRI, PDI, RLM = "\u202e", "\u202c", "\u2066", "\u2069", "\u200f"
EVIL = f"Ann{RLO}gpj.exe{PDF} {LRI}x{PDI}{RLM}"
SHOWN = f"Anngpj.exe x{RLM}"


@pytest.mark.parametrize("kind", sorted(EMAIL_KINDS))
def test_no_value_brings_a_bidi_control_into_any_email(kind):
    values = {name: f"{name}:{EVIL}" for name in VARIABLES[kind]}
    subject, text, body_html = render(kind, DEFAULTS[kind], values)
    assert not (set(subject) & (FORMATTING | MARKS)), subject
    assert not (set(text) & FORMATTING) and not (set(body_html) & FORMATTING)
    used = [name for name in VARIABLES[kind] if f"{name}:{SHOWN}" in text]
    assert used, text  # the values are there, only the controls went
    name = used[0]
    custom = Template(subject=f"{{{{ {name} }}}}", text="t", html=f"<p>{{{{ {name} }}}}</p>")
    assert render(kind, custom, values)[2] == f"<p>{name}:{SHOWN}</p>"


def test_the_authors_own_text_is_left_as_written():
    template = Template(subject="Hi {{ first_name }}", text=f"{RLM}שלום {{{{ first_name }}}}")
    _subject, text, _html = render(InvitationEmail.INVITATION, template, {"first_name": EVIL})
    assert text == f"{RLM}שלום {SHOWN}"


def _sql_render(template: Template, first_name: str, link: str, *, program: dict):
    values = {**program, "first_name": SQL("t.first_name"), "preferences_link": SQL("t.link")}
    parts = render_sql(template, values)
    query = f"SELECT {', '.join(p.sql for p in parts)} FROM (SELECT %s AS first_name, %s AS link) t"
    with connection.cursor() as cursor:
        cursor.execute(query, [*(v for p in parts for v in p.params), first_name, link])
        return tuple(cursor.fetchone())


@pytest.mark.needs_postgres
@pytest.mark.django_db
@pytest.mark.parametrize("template_name", TEMPLATES)
def test_postgresql_renders_bidi_values_exactly_as_python(template_name):
    template = TEMPLATES[template_name]
    program = {
        "program_name": f"Spring {RLO}2026{PDF}{RLM}",
        "organization_name": f"{LRI}Acme{PDI}",
    }
    for name in (EVIL, RLO, f" {RLM} ", f"a\n{RLO}\nb", f"{RLO}https://evil.example/x"):
        values = {**program, "first_name": name, "preferences_link": LINKS[0]}
        expected = render(InvitationEmail.INVITATION, template, values)
        assert _sql_render(template, name, LINKS[0], program=program) == expected, name
        assert not set("".join(expected)) & FORMATTING


def test_the_to_name_loses_every_control(program):
    outbox_add(
        [
            Draft(
                kind=InvitationEmail.INVITATION,
                key="bidi-1",
                to_email="a@example.org",
                to_name=EVIL,
            )
        ],
        program=program,
    )
    assert OutboundEmail.objects.get().to_name == "Anngpj.exe x"
