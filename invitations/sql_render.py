"""The invitation email, rendered by PostgreSQL for a whole batch at once.

`invitations.rendering.render` is the definition; this module builds SQL that
produces the very same subject, text and HTML for every row of a query, so
inviting 50,000 mentees needs no Python loop. Tests compare the two on
tricky values (markup, quotes, ampersands, whitespace, unicode, placeholder
look-alikes).

How it stays identical to render():
- The template is cut into literal pieces and placeholders in Python with the
  same PLACEHOLDER regex, and the SQL concatenates the pieces (one pass, like
  re.sub: a value that looks like a placeholder is never substituted again).
- Values the same for every row (program and organization name) are
  transformed in Python by the same helpers; per-row values by SQL
  equivalents of `_one_line`, `html.escape` and `text_to_html`.
- Python's notion of whitespace (str.isspace, re's \\s) is spelled out as an
  explicit character class, so the database's locale plays no part.
"""

import html
import sys

from invitations.rendering import PLACEHOLDER, Template, _one_line, text_to_html

# Every character Python treats as whitespace (str.split/strip, re's \s).
WHITESPACE = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
_WS_CLASS = "[" + WHITESPACE + "]"
_NOT_URL = "[^" + WHITESPACE + "<>&]"
URL_RE = f"(https?://{_NOT_URL}+(?:&amp;{_NOT_URL}+)*)"
PARAGRAPH_RE = "\n" + _WS_CLASS + "*\n"

# text_to_html's frame, taken from the function itself.
_HTML_HEAD, _HTML_TAIL = text_to_html("x").split("<p>x</p>")


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
    """SQL for rendering._one_line: whitespace runs -> one space, trimmed."""
    return SQL(
        f"regexp_replace(btrim({expr.sql}, %s), %s, ' ', 'g')",
        [*expr.params, WHITESPACE, _WS_CLASS + "+"],
    )


def html_escape(expr: SQL) -> SQL:
    """SQL for html.escape(value) (quote=True); & first, as html.escape does."""
    sql = expr.sql
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        sql = f"replace({sql}, '{char}', '{entity}')"
    sql = f"replace({sql}, '''', '&#x27;')"
    return SQL(sql, expr.params)


def text_to_html_sql(text: SQL) -> SQL:
    """SQL for rendering.text_to_html(text): paragraphs, links, line breaks."""
    paragraph = SQL("para")
    linked = SQL(
        f"regexp_replace({html_escape(paragraph).sql}, %s, '<a href=\"\\1\">\\1</a>', 'g')",
        [URL_RE],
    )
    body = f"""(SELECT %s || coalesce(string_agg(
            '<p>' || replace({linked.sql}, E'\\n', E'<br>\\n') || '</p>', E'\\n' ORDER BY n
        ), '') || %s
        FROM regexp_split_to_table(btrim({text.sql}, %s), %s) WITH ORDINALITY AS s(para, n)
        WHERE btrim(para, %s) <> '')"""  # noqa: S608 - our own fragments; values are parameters
    params = [_HTML_HEAD, *linked.params, _HTML_TAIL, *text.params, WHITESPACE]
    params += [PARAGRAPH_RE, WHITESPACE]
    return SQL(body, params)


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


def render_sql(template: Template, values: dict[str, SQL | str]) -> tuple[SQL, SQL, SQL]:
    """(subject, text, html) as SQL expressions: render() done by the database."""
    subject = _substitute(template.subject, values, (_one_line, one_line))
    subject = SQL(f"left({one_line(subject).sql}, 300)", one_line(subject).params)
    text = _substitute(template.text, values, (_same, _same))
    if template.html.strip():
        body_html = _substitute(template.html, values, (html.escape, html_escape))
    else:
        body_html = text_to_html_sql(text)
    return subject, text, body_html
