"""Branded programs and small images for the branding tests."""

import io

from PIL import Image

from programs.branding import branding_update

# A display name that tries HTML, a header injection and bidirectional tricks.
TRICKY_NAME = 'Northwind <script>alert(1)</script> & "Co"\r\nBcc: x@evil.example'


def image_bytes(width: int = 40, height: int = 20, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (26, 77, 143)).save(buffer, format=fmt)
    return buffer.getvalue()


def brand(
    owner,
    *,
    name="Northwind Mentoring",
    accent="#1a4d8f",
    contact="team@northwind.example",
    logo: bytes | None = None,
) -> None:
    """Give an organization or a program a brand, through the service."""
    branding_update(
        owner=owner,
        brand_name=name,
        brand_accent=accent,
        brand_contact_email=contact,
        logo=image_bytes() if logo is None else logo,
    )
