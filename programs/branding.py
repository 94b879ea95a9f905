"""Branding: what mentees and mentors see of a program instead of this product.

A program's display name, logo, accent colour and contact address each fall
back to its organization's, and the name at last to the program's own name
(`brand_of`). Participant pages (templates/participant_base.html) and every
participant's email (pairing_admin.mail.branding) show them.

The rules an admin's input must meet are here too, so the form and the
service share them: an accent colour readable as text on the page and under
white text on a button (WCAG AA), and a logo that is really a small PNG, JPEG
or WebP image (judged by its content, never by its name).
"""

import hashlib
import io
import re
import warnings
from collections.abc import Collection

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.text import one_line
from pairing_admin.mail.branding import Brand
from programs.models import BrandLogo, Organization, Program

# WCAG 2.x AA for normal text. The accent is white text's background on
# buttons, and text itself (links) on the pages' white and light grey.
MIN_CONTRAST = 4.5
WHITE = "#ffffff"
PAGE_BACKGROUND = "#f6f8fa"  # static/css/app.css --bg
ACCENT = re.compile(r"#[0-9a-fA-F]{6}")

LOGO_MAX_BYTES = 512 * 1024
LOGO_MAX_SIDE = 2000
# What Pillow calls the formats we accept, and what we serve them as. No SVG:
# it can carry scripts. No GIF: animations and no need.
LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
# Each format's first bytes, checked before Pillow reads anything else.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
)


def brand_of(program: Program) -> Brand:
    """The program's brand: its own settings, else its organization's, else its name."""
    org = program.organization
    logo_id = program.brand_logo_id or org.brand_logo_id
    return Brand(
        display_name=program.brand_name or org.brand_name or program.name,
        contact_email=program.brand_contact_email or org.brand_contact_email,
        accent=program.brand_accent or org.brand_accent,
        logo_path=reverse("brand_logo", kwargs={"digest": logo_id}) if logo_id else "",
        language=program.language,
    )


def sender_names(program_ids: Collection[int]) -> dict[int, str]:
    """The display name of each program (what brand_of says), in one query."""
    rows = Program.objects.filter(pk__in=program_ids).values_list(
        "pk", "brand_name", "organization__brand_name", "name"
    )
    return {pk: own or org or name for pk, own, org, name in rows}


# --- The accent colour -------------------------------------------------------


def _luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of "#rrggbb"."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(one: str, other: str) -> float:
    """WCAG contrast ratio of two "#rrggbb" colours, from 1 (same) to 21 (black on white)."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def clean_accent(value: str) -> str:
    """ "#rrggbb" in lower case, or "" (the product's own colour); DomainError otherwise.

    Refused below MIN_CONTRAST against white (white text on an accent button)
    or against the page's light grey (accent links), saying the ratio found.
    """
    value = value.strip()
    if not value:
        return ""
    if not ACCENT.fullmatch(value):
        raise DomainError(
            _("Write the colour as # and six hexadecimal digits, for example #1a4d8f.")
        )
    value = value.lower()
    ratio = min(contrast_ratio(value, WHITE), contrast_ratio(value, PAGE_BACKGROUND))
    if ratio < MIN_CONTRAST:
        raise DomainError(
            _(
                "%(colour)s is too light: white text on it, and it as text on the page, "
                "have a contrast ratio of %(ratio).2f:1; at least %(minimum).1f:1 is needed "
                "(WCAG AA). Choose a darker colour."
            )
            % {"colour": value, "ratio": int(ratio * 100) / 100, "minimum": MIN_CONTRAST}
        )
    return value


def clean_contact(value: str) -> str:
    """The contact address as it goes into Reply-To and mailto: links, or "" for none."""
    value = one_line(value).lower()
    if not value:
        return ""
    try:
        validate_email(value)
    except ValidationError:
        raise DomainError(_("Enter a valid email address for the program team.")) from None
    return value


# --- The logo ----------------------------------------------------------------


def _sniff(data: bytes) -> str | None:
    """The format the first bytes announce, or None."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _without_metadata(image: Image.Image, announced: str) -> bytes:
    """The image written again in its own format, without what a camera or an editor
    put beside the pixels (EXIF with a place and a device, comments, XMP): a logo is
    served to anyone. The colour profile stays; a JPEG keeps its own quality tables."""
    out = io.BytesIO()
    # Pillow writes back what image.info holds (a JPEG's comment, a PNG's text):
    # only the colour profile and a PNG's transparent colour are kept.
    image.info = {k: v for k, v in image.info.items() if k in ("icc_profile", "transparency")}
    if announced == "JPEG":
        image.save(out, "JPEG", quality="keep", subsampling="keep")
    elif announced == "WEBP":
        image.save(out, "WEBP", lossless=True)
    else:
        image.save(out, "PNG")
    return out.getvalue()


def check_logo(data: bytes) -> BrandLogo:
    """An unsaved BrandLogo for these bytes, or DomainError saying what is wrong.

    Judged by content: the first bytes must be PNG, JPEG or WebP, and Pillow
    must decode the whole image in that same format within the size limits
    (a file renamed .jpg is what its bytes are; an SVG is refused). What is
    kept is the image written again without its metadata (_without_metadata).
    """
    if len(data) > LOGO_MAX_BYTES:
        raise DomainError(
            _("The logo is %(size)d KB; at most %(max)d KB, please.")
            % {"size": -(-len(data) // 1024), "max": LOGO_MAX_BYTES // 1024}
        )
    announced = _sniff(data)
    if announced is None:
        raise DomainError(_("The logo must be a PNG, JPEG or WebP image (SVG is not accepted)."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[announced]) as image:
                width, height = image.size
                if width > LOGO_MAX_SIDE or height > LOGO_MAX_SIDE:
                    raise DomainError(
                        _(
                            "The logo is %(width)d x %(height)d pixels; at most "
                            "%(max)d x %(max)d, please."
                        )
                        % {"width": width, "height": height, "max": LOGO_MAX_SIDE}
                    )
                image.load()  # decodes every pixel: a truncated or corrupt file fails here
                data = _without_metadata(image, announced)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Warning) as exc:
        if isinstance(exc, DomainError):
            raise
        raise DomainError(_("The logo file could not be read as an image.")) from None
    return BrandLogo(
        sha256=hashlib.sha256(data).hexdigest(),
        content_type=LOGO_FORMATS[announced],
        data=data,
        width=width,
        height=height,
    )


def _keep_logo(logo: BrandLogo) -> None:
    """Store the logo unless it is there, and lock its row until commit.

    Logos are shared by content, so another admin may be dropping this very
    row as unused (`_drop_unused_logo`); both lock it first, so either the
    drop sees this owner's new reference, or this stores the row again after
    the drop."""
    for _attempt in range(3):
        # Shared by content: the same image uploaded twice is one row.
        BrandLogo.objects.bulk_create([logo], ignore_conflicts=True)
        if BrandLogo.objects.select_for_update().filter(pk=logo.pk).values_list("pk"):
            return
    raise DomainError(_("The logo could not be saved just now. Please try again."))


def _drop_unused_logo(digest: str | None) -> None:
    """Delete a logo nobody shows any more (logos are shared by content).

    Its row is locked before the check (see `_keep_logo`): without it, an
    owner taking the logo up meanwhile would lose it, or one of the two saves
    would fail on the foreign key."""
    if digest is None:
        return
    if not BrandLogo.objects.select_for_update().filter(pk=digest).values_list("pk"):
        return
    in_use = Q(brand_logo_id=digest)
    if Organization.objects.filter(in_use).exists() or Program.objects.filter(in_use).exists():
        return
    BrandLogo.objects.filter(pk=digest).delete()


def branding_update(
    *,
    owner: Organization | Program,
    brand_name: str,
    brand_accent: str,
    brand_contact_email: str,
    logo: bytes | None = None,
    remove_logo: bool = False,
) -> None:
    """Save an organization's or a program's branding; a new logo replaces the old one.

    The checks run again here (a form is not the only caller); nothing is
    written unless everything passes.
    """
    accent = clean_accent(brand_accent)
    contact = clean_contact(brand_contact_email)
    new_logo = check_logo(logo) if logo else None
    with transaction.atomic():
        locked = type(owner).objects.select_for_update().get(pk=owner.pk)
        old_logo = locked.brand_logo_id
        if new_logo is not None:
            _keep_logo(new_logo)
            locked.brand_logo_id = new_logo.pk
        elif remove_logo:
            locked.brand_logo_id = None
        # One line, no bidi controls: the name is the From header's and every subject's.
        locked.brand_name = one_line(brand_name)[:120]
        locked.brand_accent = accent
        locked.brand_contact_email = contact
        locked.save(
            update_fields=["brand_name", "brand_accent", "brand_contact_email", "brand_logo"]
        )
        if old_logo != locked.brand_logo_id:
            _drop_unused_logo(old_logo)
    for field in ("brand_name", "brand_accent", "brand_contact_email", "brand_logo_id"):
        setattr(owner, field, getattr(locked, field))
