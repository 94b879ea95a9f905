"""Emails rendered by PostgreSQL for a whole batch at once, identical to `rendering.render`.

Inviting 50,000 mentees needs no Python loop; tests compare both renderings
on tricky values. How it stays identical: docs/emails.md, "Rendering a whole
batch in SQL".
"""

import html
import sys

from pairing_admin.lib.text import BIDI_ALL_RE, BIDI_FORMATTING_RE, multi_line
from pairing_admin.mail.rendering import (
    HTML_HEAD,
    HTML_TAIL,
    LAST_WORD,
    LINK_VARIABLES,
    PLACEHOLDER,
    SUBJECT_MAX,
    Template,
    _one_line,
    linkify,
)

# Every character Python treats as whitespace (str.split/strip, re's \s).
WHITESPACE = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
_WS_CLASS = "[" + WHITESPACE + "]"
_NOT_URL = "[^" + WHITESPACE + "<>&]"
URL_RE = f"(https?://{_NOT_URL}+(?:&amp;{_NOT_URL}+)*)"
PARAGRAPH_RE = "\n" + _WS_CLASS + "*\n"


class SQL:
    """A fragment of SQL and its parameters, in order."""

    def __init__(self, sql: str = "", params: list | None = None) -> None:
        self.sql = sql
        self.params = list(params or [])

    @classmethod
    def value(cls, value) -> "SQL":
        return cls("%s", [value])

    def __add__(self, other: "SQL") -> "SQL":
        return SQL(f"({self.sql} || {other.sql})", self.params + other.params)


def concat(parts: list[SQL]) -> SQL:
    if not parts:
        return SQL.value("")
    return SQL(
        "(" + " || ".join(p.sql for p in parts) + ")",
        [param for p in parts for param in p.params],
    )


def one_line(expr: SQL) -> SQL:
    """SQL for rendering._one_line: no bidi controls, whitespace runs -> one space, trimmed."""
    return SQL(
        f"regexp_replace(btrim(regexp_replace({expr.sql}, %s, '', 'g'), %s), %s, ' ', 'g')",
        [*expr.params, BIDI_ALL_RE, WHITESPACE, _WS_CLASS + "+"],
    )


def multi_line_sql(expr: SQL) -> SQL:
    """SQL for pairing_admin.lib.text.multi_line: no bidi formatting characters."""
    return SQL(f"regexp_replace({expr.sql}, %s, '', 'g')", [*expr.params, BIDI_FORMATTING_RE])


def html_escape(expr: SQL) -> SQL:
    """SQL for html.escape(value) (quote=True); & first, as html.escape does."""
    sql = expr.sql
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        sql = f"replace({sql}, '{char}', '{entity}')"
    sql = f"replace({sql}, '''', '&#x27;')"
    return SQL(sql, expr.params)


def linkify_sql(escaped: SQL) -> SQL:
    """SQL for rendering.linkify(escaped)."""
    return SQL(
        f"regexp_replace({escaped.sql}, %s, '<a href=\"\\1\">\\1</a>', 'g')",
        [*escaped.params, URL_RE],
    )


def paragraphs_to_html_sql(body: SQL) -> SQL:
    """SQL for rendering.paragraphs_to_html(body): paragraphs, line breaks, frame."""
    sql = f"""(SELECT %s || coalesce(string_agg(
            '<p>' || replace(para, E'\\n', E'<br>\\n') || '</p>', E'\\n' ORDER BY n
        ), '') || %s
        FROM regexp_split_to_table(btrim({body.sql}, %s), %s) WITH ORDINALITY AS s(para, n)
        WHERE btrim(para, %s) <> '')"""  # noqa: S608 - our own fragments; values are parameters
    params = [HTML_HEAD, HTML_TAIL, *body.params, WHITESPACE, PARAGRAPH_RE, WHITESPACE]
    return SQL(sql, params)


def _linked_run(run: list[SQL | str]) -> SQL:
    """Escaped and linked author's text plus link values (rendering._linked_text)."""
    if all(isinstance(piece, str) for piece in run):
        return SQL.value(linkify(html.escape("".join(run))))
    escaped = [
        SQL.value(html.escape(piece)) if isinstance(piece, str) else html_escape(piece)
        for piece in run
    ]
    return linkify_sql(concat(escaped))


def linked_text_sql(source: str, values: dict[str, SQL | str]) -> SQL:
    """SQL for rendering._linked_text(source, values)."""
    parts: list[SQL] = []
    run: list[SQL | str] = []
    position = 0
    for match in PLACEHOLDER.finditer(source):
        run.append(source[position : match.start()])
        name = match.group(1)
        value = values.get(name, "")
        if name in LINK_VARIABLES:
            run.append(value)
        else:
            parts.append(_linked_run(run))
            parts.append(
                SQL.value(html.escape(value)) if isinstance(value, str) else html_escape(value)
            )
            run = []
        position = match.end()
    run.append(source[position:])
    parts.append(_linked_run(run))
    return concat(parts)


def _substitute(source: str, values: dict[str, SQL | str], transform) -> SQL:
    """Concatenate the template's literal pieces and its values.

    A value is either a constant (a str, transformed here in Python) or an
    SQL expression (transformed in SQL). Unknown names render empty, as in
    render().
    """
    parts: list[SQL] = []
    position = 0
    for match in PLACEHOLDER.finditer(source):
        if match.start() > position:
            parts.append(SQL.value(source[position : match.start()]))
        value = values.get(match.group(1), "")
        if isinstance(value, str):
            parts.append(SQL.value(transform[0](value)))
        else:
            parts.append(transform[1](value))
        position = match.end()
    if position < len(source):
        parts.append(SQL.value(source[position:]))
    return concat(parts)


def _same(expr):
    return expr


def fit_subject_sql(subject: SQL) -> SQL:
    """SQL for rendering.fit_subject (the subject is one line already: only spaces remain).

    A scalar subquery, so the subject expression is written (and computed) once.
    """
    return SQL(
        "(SELECT CASE WHEN char_length(s.v) <= %s THEN s.v ELSE ("  # noqa: S608 - our fragments
        " SELECT rtrim(CASE WHEN h.cut <> h.head THEN h.cut ELSE left(h.head, %s) END, ' ')"
        " || %s FROM (SELECT left(s.v, %s) AS head, regexp_replace(left(s.v, %s), %s, '')"
        f" AS cut) AS h) END FROM (SELECT {subject.sql} AS v) AS s)",
        [
            SUBJECT_MAX,
            SUBJECT_MAX - 1,
            "…",
            SUBJECT_MAX,
            SUBJECT_MAX,
            LAST_WORD,
            *subject.params,
        ],
    )


def render_sql(template: Template, values: dict[str, SQL | str]) -> tuple[SQL, SQL, SQL]:
    """(subject, text, html) as SQL expressions: render() done by the database."""
    values = {
        name: multi_line(value) if isinstance(value, str) else multi_line_sql(value)
        for name, value in values.items()
    }
    subject = _substitute(template.subject, values, (_one_line, one_line))
    subject = fit_subject_sql(one_line(subject))
    text = _substitute(template.text, values, (_same, _same))
    if template.html.strip():
        body_html = _substitute(template.html, values, (html.escape, html_escape))
    else:
        body_html = paragraphs_to_html_sql(linked_text_sql(template.text, values))
    return subject, text, body_html


def frame_sql(text: SQL, body_html: SQL, pieces) -> tuple[SQL, SQL]:
    """SQL for mail.branding.frame(text, body_html, brand), given frame_of(brand).

    Scalar subqueries, so each expression is written (and computed) once.
    """
    text = SQL(
        f"(SELECT rtrim(t.v, E'\\n') || %s FROM (SELECT {text.sql} AS v) AS t)",  # noqa: S608
        [pieces.text_tail, *text.params],
    )
    head, tail = len(HTML_HEAD), len(HTML_TAIL)
    body_html = SQL(
        "(SELECT CASE WHEN h.v = '' THEN h.v"  # noqa: S608 - our own fragments
        " WHEN char_length(h.v) >= %s AND left(h.v, %s) = %s AND right(h.v, %s) = %s"
        " THEN %s || %s || substr(h.v, %s, char_length(h.v) - %s) || %s || %s"
        " ELSE %s || h.v || %s END"
        f" FROM (SELECT {body_html.sql} AS v) AS h)",
        [
            head + tail,
            head,
            HTML_HEAD,
            tail,
            HTML_TAIL,
            HTML_HEAD,
            pieces.html_header,
            head + 1,
            head + tail,
            pieces.html_footer,
            HTML_TAIL,
            pieces.html_header,
            pieces.html_footer,
            *body_html.params,
        ],
    )
    return text, body_html
