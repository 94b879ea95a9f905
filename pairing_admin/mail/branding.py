"""The brand an email carries: whose name it is sent in, their logo, colour and address.

mail sits below programs, which owns brands (programs.branding). programs
registers how to find a program's brand (`register_brands`); the outbox asks
for it when it writes a program's emails (header, footer, Reply-To) and the
sender when it sends them (the From name). An email without a program, or
before anything is registered, carries no brand.

The header and footer are made here once per brand, as constants, and both
renderings add the same strings: `frame` in Python, `rendering_sql.frame_sql`
in SQL for a whole batch.
"""

import html
from collections.abc import Callable, Collection
from dataclasses import dataclass
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext

from pairing_admin.lib.text import one_line
from pairing_admin.mail.rendering import HTML_HEAD, HTML_TAIL

# The product's own accent (static/css/app.css --blue), for a brand without one.
DEFAULT_ACCENT = "#0a58ca"
MUTED = "#57606a"
LINE = "#d0d7de"


@dataclass(frozen=True)
class Brand:
    """What participants see of a program: made by programs.branding.brand_of."""

    display_name: str
    contact_email: str = ""
    accent: str = ""  # "#rrggbb", or "" for the product's own colour
    logo_path: str = ""  # the logo's site-relative URL, or "" for none
    language: str = "en"  # the program's language: the footer's words

    @property
    def accent_or_default(self) -> str:
        return self.accent or DEFAULT_ACCENT

    @property
    def logo_url(self) -> str:
        """The logo's absolute URL (emails are read far from the site), or ""."""
        if not self.logo_path:
            return ""
        return settings.PUBLIC_BASE_URL.rstrip("/") + self.logo_path


_brand_of: Callable[[models.Model], Brand] | None = None
_sender_names: Callable[[Collection[int]], dict[int, str]] | None = None
# Kinds written to people other than the program's participants (our support
# desk): the product's own name and no program's frame.
_unbranded: frozenset[str] = frozenset()


def register_brands(
    *,
    brand_of: Callable[[models.Model], Brand],
    sender_names: Callable[[Collection[int]], dict[int, str]],
    unbranded_kinds: Collection[str] = (),
) -> None:
    """How to find a program's brand, the display names of many programs at once,
    and the kinds of email that carry no brand."""
    global _brand_of, _sender_names, _unbranded
    _brand_of, _sender_names = brand_of, sender_names
    _unbranded = frozenset(str(kind) for kind in unbranded_kinds)


def is_branded(kind: str) -> bool:
    return kind not in _unbranded


def brand_for(program: models.Model | None, kind: str) -> Brand | None:
    """The brand an email of `kind` about `program` carries, or None."""
    if program is None or _brand_of is None or not is_branded(kind):
        return None
    return _brand_of(program)


def program_name(program: models.Model) -> str:
    """The program's name as its participants read it (the `{{ program_name }}` of
    their emails): the brand's display name, never an internal program name."""
    brand = _brand_of(program) if _brand_of is not None else None
    return brand.display_name if brand is not None else program.name


def from_address(addresses: dict[int | None, str], program_id: int | None, kind: str) -> str:
    """The From header of one email, from `from_addresses`' answer."""
    if not is_branded(kind):
        return addresses[None]
    return addresses.get(program_id, addresses[None])


def from_addresses(program_ids: Collection[int | None]) -> dict[int | None, str]:
    """The From header for each program: its display name, DEFAULT_FROM_EMAIL's address.

    One query for a whole batch of emails. The name goes through one_line (no
    newline can reach a header) and formataddr (quoted or encoded as needed).
    """
    default = settings.DEFAULT_FROM_EMAIL
    ids = {pk for pk in program_ids if pk is not None}
    names = _sender_names(ids) if ids and _sender_names is not None else {}
    _, address = parseaddr(default)
    out: dict[int | None, str] = {None: default}
    for pk in ids:
        name = one_line(names.get(pk, ""))
        out[pk] = formataddr((name, address)) if name and address else default
    return out


def _header_html(brand: Brand) -> str:
    name = html.escape(brand.display_name)
    logo = ""
    if brand.logo_url:
        logo = (
            f'<img src="{html.escape(brand.logo_url)}" alt="{name}" height="40"'
            ' style="height:40px;width:auto;vertical-align:middle;margin-right:10px">'
        )
    return (
        f'<div style="border-bottom:4px solid {brand.accent_or_default};'
        f'padding:0 0 10px;margin:0 0 18px">{logo}'
        f'<strong style="font-size:18px;vertical-align:middle">{name}</strong></div>\n'
    )


def _contact_words(brand: Brand) -> str:
    with translation.override(brand.language):
        return gettext("Questions? Contact your program team at %(address)s.")


def _footer_html(brand: Brand) -> str:
    name = f"<strong>{html.escape(brand.display_name)}</strong>"
    if brand.contact_email:
        address = html.escape(brand.contact_email)
        link = f'<a href="mailto:{address}" style="color:{brand.accent_or_default}">{address}</a>'
        name += "<br>\n" + html.escape(_contact_words(brand)).replace("%(address)s", link)
    return (
        f'\n<p style="margin:24px 0 0;padding:10px 0 0;border-top:1px solid {LINE};'
        f'color:{MUTED};font-size:13px">{name}</p>'
    )


def _footer_text(brand: Brand) -> str:
    lines = ["", "", "-- ", one_line(brand.display_name)]
    if brand.contact_email:
        lines.append(_contact_words(brand) % {"address": brand.contact_email})
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Frame:
    """The constant pieces a brand adds around an email's text and HTML."""

    text_tail: str
    html_header: str
    html_footer: str


def frame_of(brand: Brand) -> Frame:
    return Frame(
        text_tail=_footer_text(brand),
        html_header=_header_html(brand),
        html_footer=_footer_html(brand),
    )


def frame(text: str, body_html: str, brand: Brand | None) -> tuple[str, str]:
    """The text with the brand's footer; the HTML with its header and footer.

    The HTML made from the text (or a template's own written the same way)
    gets them inside its body; any other HTML gets them around it.
    """
    if brand is None:
        return text, body_html
    pieces = frame_of(brand)
    text = text.rstrip("\n") + pieces.text_tail
    if not body_html:
        return text, body_html
    inner = len(body_html) >= len(HTML_HEAD) + len(HTML_TAIL)
    if inner and body_html.startswith(HTML_HEAD) and body_html.endswith(HTML_TAIL):
        middle = body_html[len(HTML_HEAD) : len(body_html) - len(HTML_TAIL)]
        body_html = HTML_HEAD + pieces.html_header + middle + pieces.html_footer + HTML_TAIL
    else:
        body_html = pieces.html_header + body_html + pieces.html_footer
    return text, body_html
