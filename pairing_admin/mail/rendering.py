"""Admin-editable email templates in a deliberately tiny language.

Admins are untrusted template authors, so a template is plain text with
placeholders written `{{ name }}` and nothing else: no attribute access,
filters, tags, loops or conditionals. The names come from a fixed list per
email kind and the values are plain strings we pass in. Anything else is an
error at save time, with a message that says what is wrong and where.
"""

import html
import re

from django.conf import settings

from pairing_admin.lib.text import multi_line, one_line
from pairing_admin.mail.kinds import REQUIRED, VARIABLES, Template, check_kind

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# Any remaining brace or template-tag syntax after placeholders are removed.
STRAY_SYNTAX = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")

# The placeholders every kind offers; each app adds its kinds' own (mail.kinds).
COMMON = {
    "first_name": "Recipient's first name",
    "program_name": "Program name",
    "organization_name": "Organization name",
}

# Values the product generates: our own signed links. Only these, and the text
# the template's author wrote, become clickable in an HTML part made from the
# text. Every other value can come from participants (names, profiles, notes,
# decline messages; anyone can register through the public form), and a URL
# in it must stay plain text: a note saying "approve here: https://evil..."
# must not turn into a link beside our real Approve and Decline links.
LINK_VARIABLES = frozenset(
    {
        "preferences_link",
        "approve_link",
        "decline_link",
        "session_link",
        "confirm_link",
        "home_link",
    }
)
# Lists the product writes, mixing participants' names with our own links: in
# HTML only URLs of this site become links (a name holding another URL stays
# text).
LIST_VARIABLES = frozenset({"requests", "mentees", "next_step"})


# The outbox's and the template's subject column (OutboundEmail.subject,
# EmailTemplate.subject): a longer template is refused at save, and a rendered
# subject that long values push past it is cut with an ellipsis.
SUBJECT_MAX = 300
# A template's text and HTML bodies: room for a long email, not for a file.
BODY_MAX = 100_000


class TemplateError(ValueError):
    """A template that cannot be saved; the message is for the admin."""


def validate(kind: str, source: str, *, field: str) -> None:
    allowed = VARIABLES[kind]
    for match in PLACEHOLDER.finditer(source):
        name = match.group(1)
        if name not in allowed:
            raise TemplateError(
                f"{field}: unknown placeholder {{{{ {name} }}}}. "
                f"You can use: {', '.join(sorted(allowed))}."
            )
    leftover = PLACEHOLDER.sub("", source)
    stray = STRAY_SYNTAX.search(leftover)
    if stray:
        line = source[: source.find(stray.group(0))].count("\n") + 1 if stray else 1
        raise TemplateError(
            f"{field}, line {line}: only placeholders like {{{{ first_name }}}} are allowed; "
            f"remove “{stray.group(0)}” (no tags, filters, dots or other expressions)."
        )


def _placeholders(source: str) -> set[str]:
    return {match.group(1) for match in PLACEHOLDER.finditer(source)}


def validate_template(kind: str, template: Template) -> None:
    check_kind(kind)  # before any TemplateError: an unregistered kind is our mistake
    subject = template.subject.strip()
    for field, source in (
        ("Subject", template.subject),
        ("Text body", template.text),
        ("HTML body", template.html),
    ):
        # PostgreSQL cannot store it, and no email should carry it.
        if "\x00" in source:
            raise TemplateError(
                f"{field}: contains a NUL character (\\0), which an email cannot carry; remove it."
            )
    validate(kind, template.subject, field="Subject")
    if "\n" in subject or "\r" in subject:
        raise TemplateError("Subject: must be a single line.")
    if not subject:
        raise TemplateError("Subject: cannot be empty.")
    if len(subject) > SUBJECT_MAX:
        raise TemplateError(
            f"Subject: at most {SUBJECT_MAX} characters, placeholders included "
            f"(this one has {len(subject):,})."
        )
    if not template.text.strip():
        raise TemplateError("Text body: cannot be empty.")
    for field, source in (("Text body", template.text), ("HTML body", template.html)):
        if len(source) > BODY_MAX:
            raise TemplateError(
                f"{field}: at most {BODY_MAX:,} characters (this one has {len(source):,})."
            )
    validate(kind, template.text, field="Text body")
    validate(kind, template.html, field="HTML body")
    bodies = [("Text body", template.text)]
    if template.html.strip():  # an HTML part is what most people read
        bodies.append(("HTML body", template.html))
    for field, source in bodies:
        missing = [name for name in REQUIRED.get(kind, ()) if name not in _placeholders(source)]
        if missing:
            names = " and ".join(f"{{{{ {name} }}}}" for name in missing)
            what = "; ".join(VARIABLES[kind][name] for name in missing)
            it = "them" if len(missing) > 1 else "it"
            raise TemplateError(
                f"{field}: add {names} ({what}); without {it} the person who gets "
                "this email cannot act on it."
            )


def _substitute(source: str, values: dict[str, str], escape) -> str:
    return PLACEHOLDER.sub(lambda m: escape(values.get(m.group(1), "")), source)


_one_line = one_line  # the name sql_render pairs with its SQL twin


# The last word of a cut subject, dropped so the cut falls between words
# (unless that word is long: then it is cut mid-word).
LAST_WORD = r" +[^ ]{0,30}$"


def fit_subject(subject: str) -> str:
    """A one-line subject cut to SUBJECT_MAX characters, between words, ending in "…"."""
    if len(subject) <= SUBJECT_MAX:
        return subject
    head = subject[:SUBJECT_MAX]
    cut = re.sub(LAST_WORD, "", head)
    return (cut if cut != head else head[: SUBJECT_MAX - 1]).rstrip() + "…"


URL = re.compile(r"(https?://[^\s<>&]+(?:&amp;[^\s<>&]+)*)")
LINK_TAG = r'<a href="\1">\1</a>'
HTML_HEAD = "<!doctype html><html><body>"
HTML_TAIL = "</body></html>"


def linkify(escaped: str) -> str:
    """Links for the URLs in already-escaped text that we trust."""
    return URL.sub(LINK_TAG, escaped)


def _linkify_ours(escaped: str) -> str:
    """Links only for the URLs of this site (our personal links) in escaped text."""
    ours = html.escape(settings.PUBLIC_BASE_URL.rstrip("/") + "/")
    return URL.sub(
        lambda m: (
            LINK_TAG.replace(r"\1", m.group(1)) if m.group(1).startswith(ours) else m.group(1)
        ),
        escaped,
    )


def paragraphs_to_html(body: str) -> str:
    """Paragraphs and line breaks around an escaped (and linked) body.

    Escaping and linking neither add nor remove whitespace outside a tag, so
    splitting after them gives the paragraphs of the plain text.
    """
    paragraphs = [p for p in re.split(r"\n\s*\n", body.strip()) if p.strip()]
    out = ["<p>" + p.replace("\n", "<br>\n") + "</p>" for p in paragraphs]
    return HTML_HEAD + "\n".join(out) + HTML_TAIL


def _linked_text(source: str, values: dict[str, str]) -> str:
    """The text template as escaped HTML, with links only where we trust them.

    The template is cut at each placeholder that is not one of our links. A
    run of the author's text and our link values is linked as a whole (so
    `{{ preferences_link }}?x=1` stays one link); any other value is only
    escaped, and no link reaches into it or starts in it.
    """
    out: list[str] = []
    run: list[str] = []
    position = 0
    for match in PLACEHOLDER.finditer(source):
        run.append(source[position : match.start()])
        name = match.group(1)
        if name in LINK_VARIABLES:
            run.append(values.get(name, ""))
        elif name in LIST_VARIABLES:
            out.append(linkify(html.escape("".join(run))))
            out.append(_linkify_ours(html.escape(values.get(name, ""))))
            run = []
        else:
            out.append(linkify(html.escape("".join(run))))
            out.append(html.escape(values.get(name, "")))
            run = []
        position = match.end()
    run.append(source[position:])
    out.append(linkify(html.escape("".join(run))))
    return "".join(out)


def render(kind: str, template: Template, values: dict[str, str]) -> tuple[str, str, str]:
    """(subject, text, html) with the values substituted.

    Values are plain strings, stripped of bidirectional controls: the subject
    gets them on one line (no header injection), the HTML part gets them
    escaped; an HTML part made from the text links only the author's URLs and
    our LINK_VARIABLES.
    """
    allowed = VARIABLES[kind]
    # Bidirectional controls in a value (a name, a note) could reorder the
    # text around it; they never reach an email.
    clean = {k: multi_line(str(values.get(k, ""))) for k in allowed}
    subject = fit_subject(_one_line(_substitute(template.subject, clean, _one_line)))
    text = _substitute(template.text, clean, lambda v: v)
    if template.html.strip():
        body_html = _substitute(template.html, clean, html.escape)
    else:
        body_html = paragraphs_to_html(_linked_text(template.text, clean))
    return subject, text, body_html
