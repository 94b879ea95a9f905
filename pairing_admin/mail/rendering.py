"""Admin-editable email templates in a deliberately tiny language.

Admins are untrusted template authors, so a template is plain text with
placeholders written `{{ name }}` and nothing else: no attribute access,
filters, tags, loops or conditionals. The names come from a fixed list per
email kind and the values are plain strings we pass in. Anything else is an
error at save time, with a message that says what is wrong and where.
"""

import html
import re
from dataclasses import dataclass

from django.conf import settings

from pairing_admin.lib.text import multi_line, one_line
from pairing_admin.mail.models import EmailKind

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# Any remaining brace or template-tag syntax after placeholders are removed.
STRAY_SYNTAX = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")

COMMON = {
    "first_name": "Recipient's first name",
    "program_name": "Program name",
    "organization_name": "Organization name",
}

VARIABLES: dict[str, dict[str, str]] = {
    EmailKind.INVITATION: {**COMMON, "preferences_link": "Personal link to the preference form"},
    EmailKind.MENTOR_REQUEST: {
        **COMMON,
        "mentee_name": "Mentee's full name",
        "mentee_profile": "Mentee's title, department, location and goals",
        "mentee_note": "The mentee's note to the mentor",
        "deadline": "Date by which to respond",
        "approve_link": "Link to approve",
        "decline_link": "Link to decline",
    },
    EmailKind.REQUEST_REMINDER: {
        **COMMON,
        "mentee_name": "Mentee's full name",
        "deadline": "Date by which to respond",
        "approve_link": "Link to approve",
        "decline_link": "Link to decline",
    },
    EmailKind.ASSIGNMENT: {
        **COMMON,
        "partner_name": "The other person's full name",
        "partner_email": "The other person's email",
        "partner_role": "mentor or mentee",
        "session_link": "Link to log a mentoring session",
    },
    EmailKind.REQUEST_DECLINED: {
        **COMMON,
        "mentor_name": "Mentor's full name",
        "decline_message": "The mentor's message (may be empty)",
        "preferences_link": "Link back to the preference form",
    },
    EmailKind.REQUEST_EXPIRED: {
        **COMMON,
        "mentor_name": "Mentor's full name",
        "preferences_link": "Link back to the preference form",
    },
    EmailKind.REQUEST_CANCELLED: {
        **COMMON,
        "mentor_name": "Mentor's full name",
        "preferences_link": "Link back to the preference form",
    },
    EmailKind.REQUEST_FORWARDED: {
        **COMMON,
        "mentor_name": "The mentor who did not take the request",
        "next_mentor_name": "The mentor the request went to",
        "deadline": "Date by which the new mentor should respond",
        "preferences_link": "Link back to the preference form",
    },
    EmailKind.REQUEST_CLOSED: {
        **COMMON,
        "mentor_name": "Mentor's full name",
        "preferences_link": "Link back to the preference form",
    },
    EmailKind.WAITLIST_OFFER: {
        **COMMON,
        "mentor_name": "The mentor who has room",
        "deadline": "Date by which the mentor should respond",
        "preferences_link": "Link to see or withdraw the request",
    },
    EmailKind.WAITLIST_RETURNED: {
        **COMMON,
        "mentor_name": "The mentor the offer went to",
        "what_happened": "Why it ended (declined, lapsed, places filled, closed)",
        "preferences_link": "Link to the mentee's page",
    },
    EmailKind.MENTOR_REQUESTS: {
        **COMMON,
        "count": "How many requests",
        "deadline": "Date by which to respond (the earliest)",
        "requests": "One paragraph per mentee: name, profile, Approve and Decline links",
    },
    EmailKind.ASSIGNMENTS: {
        **COMMON,
        "count": "How many new mentees",
        "mentees": "One paragraph per mentee: name, email and the link to log sessions",
    },
    EmailKind.PAIRING_ENDED: {
        **COMMON,
        "partner_name": "The other person's full name",
        "next_step": "What happens next for the mentee (empty for the mentor)",
    },
    EmailKind.PAIRINGS_ENDED: {
        **COMMON,
        "count": "How many pairings ended",
        "partners": "The mentees whose pairing with the recipient ended, one per line",
    },
    EmailKind.REGISTRATION_CONFIRM: {
        **COMMON,
        "confirm_link": "Link to confirm the registration (works once, for 48 hours)",
        "confirm_by": "When the link stops working",
    },
    EmailKind.SUPPORT_REQUEST: {
        **COMMON,
        "admin_name": "Admin who wrote the request",
        "admin_email": "Admin's email",
        "request_subject": "Subject the admin wrote",
        "message": "The admin's message",
    },
}

# Values the product generates: our own signed links. Only these, and the text
# the template's author wrote, become clickable in an HTML part made from the
# text. Every other value can come from participants (names, profiles, notes,
# decline messages; anyone can register through the public form), and a URL
# in it must stay plain text: a note saying "approve here: https://evil..."
# must not turn into a link beside our real Approve and Decline links.
LINK_VARIABLES = frozenset(
    {"preferences_link", "approve_link", "decline_link", "session_link", "confirm_link"}
)
# Lists the product writes, mixing participants' names with our own links: in
# HTML only URLs of this site become links (a name holding another URL stays
# text).
LIST_VARIABLES = frozenset({"requests", "mentees", "next_step"})


# The placeholders without which the recipient cannot act on the email: their
# personal link, the Approve and Decline links, the partner's address, or the
# list that carries them. A template without one is refused at save (the
# email would go out and its reader would be stuck). Kinds that only inform
# require nothing.
REQUIRED: dict[str, tuple[str, ...]] = {
    EmailKind.INVITATION: ("preferences_link",),
    EmailKind.MENTOR_REQUEST: ("approve_link", "decline_link"),
    EmailKind.REQUEST_REMINDER: ("approve_link", "decline_link"),
    EmailKind.ASSIGNMENT: ("partner_email", "session_link"),
    EmailKind.REQUEST_DECLINED: ("preferences_link",),
    EmailKind.REQUEST_EXPIRED: ("preferences_link",),
    EmailKind.REQUEST_CANCELLED: ("preferences_link",),
    EmailKind.REQUEST_FORWARDED: ("preferences_link",),
    EmailKind.REQUEST_CLOSED: ("preferences_link",),
    EmailKind.WAITLIST_OFFER: ("preferences_link",),
    EmailKind.WAITLIST_RETURNED: ("preferences_link",),
    EmailKind.MENTOR_REQUESTS: ("requests",),
    EmailKind.ASSIGNMENTS: ("mentees",),
    EmailKind.PAIRING_ENDED: ("next_step",),
    EmailKind.REGISTRATION_CONFIRM: ("confirm_link",),
}

# The outbox's and the template's subject column (OutboundEmail.subject,
# EmailTemplate.subject): a longer template is refused at save, and a rendered
# subject that long values push past it is cut with an ellipsis.
SUBJECT_MAX = 300
# A template's text and HTML bodies: room for a long email, not for a file.
BODY_MAX = 100_000


@dataclass(frozen=True)
class Template:
    subject: str
    text: str
    html: str = ""


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
