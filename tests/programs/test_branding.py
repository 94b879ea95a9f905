"""Branding per program (issue #18 point 1): the rules, the logo, the fallback, the admin pages."""

import hashlib
import io

import pytest
from django.urls import reverse
from PIL import Image

from pairing_admin.lib.errors import DomainError
from programs.branding import LOGO_MAX_BYTES, brand_of, check_logo, clean_accent, contrast_ratio
from programs.models import BrandLogo, Organization, Program
from tests.support.branding import brand, image_bytes

PNG_1PX = image_bytes(1, 1)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


# --- The accent colour: WCAG AA ---------------------------------------------------


@pytest.mark.parametrize(
    ("one", "other", "ratio"),
    [("#000000", "#ffffff", 21.0), ("#ffffff", "#ffffff", 1.0), ("#767676", "#ffffff", 4.54)],
)
def test_contrast_ratio_of_known_pairs(one, other, ratio):
    assert contrast_ratio(one, other) == pytest.approx(ratio, abs=0.01)


@pytest.mark.parametrize("colour", ["#1a4d8f", "#1A4D8F", "#0a58ca", "#000000", " #116329 "])
def test_dark_enough_colours_are_accepted_in_lower_case(colour):
    assert clean_accent(colour) == colour.strip().lower()


@pytest.mark.parametrize(
    ("colour", "ratio"),
    [
        ("#ffffff", "1.00:1"),
        ("#ffbf47", "1.54:1"),  # against the page's light grey: lower than against white
        ("#767676", "4.26:1"),  # 4.54:1 on white, but as links on the grey page 4.26:1
    ],
)
def test_light_colours_are_refused_saying_the_ratio(colour, ratio):
    with pytest.raises(DomainError) as refused:
        clean_accent(colour)
    message = str(refused.value)
    assert colour in message and ratio in message and "4.5:1" in message


@pytest.mark.parametrize("colour", ["1a4d8f", "#1a4d8", "#1a4d8fff", "blue", "#gggggg", "red;}"])
def test_colours_not_written_as_hash_and_six_digits_are_refused(colour):
    with pytest.raises(DomainError, match="six hexadecimal digits"):
        clean_accent(colour)


def test_the_database_refuses_an_accent_that_skipped_the_checks(program):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Program.objects.filter(pk=program.pk).update(brand_accent="red")


# --- The logo: judged by content -----------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_png_jpeg_and_webp_are_accepted(fmt, content_type):
    data = image_bytes(300, 100, fmt)
    logo = check_logo(data)
    assert (logo.content_type, logo.width, logo.height) == (content_type, 300, 100)
    assert logo.sha256 == hashlib.sha256(logo.data).hexdigest()  # what is served
    with Image.open(io.BytesIO(logo.data)) as kept:
        assert (kept.format, kept.size) == (fmt, (300, 100))


def test_a_logo_loses_its_camera_metadata():
    """EXIF (a device, a place) and comments never reach the served logo; pixels stay."""
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPSInfo: GPSLatitude
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), (26, 77, 143)).save(
        buffer, "JPEG", exif=exif, comment=b"shot at home", quality=95
    )
    data = buffer.getvalue()
    assert b"SecretCam" in data
    logo = check_logo(data)
    assert b"SecretCam" not in logo.data and b"shot at home" not in logo.data
    with Image.open(io.BytesIO(logo.data)) as kept:
        assert not kept.getexif() and kept.size == (64, 32)
        assert kept.getpixel((10, 10)) == pytest.approx((26, 77, 143), abs=3)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (SVG, "PNG, JPEG or WebP"),
        (image_bytes(10, 10, "GIF"), "PNG, JPEG or WebP"),
        (b"%PDF-1.7\n", "PNG, JPEG or WebP"),
        (b"", "PNG, JPEG or WebP"),
        (PNG_1PX[:40], "could not be read"),  # a PNG's signature, then cut short
        (b"\x89PNG\r\n\x1a\n" + SVG, "could not be read"),  # an SVG wearing PNG's first bytes
        (image_bytes(3000, 10), "3000 x 10 pixels"),
        (image_bytes(10, 2001, "JPEG"), "10 x 2001 pixels"),
    ],
    ids=["svg", "gif", "pdf", "empty", "truncated", "disguised-svg", "3000-wide", "2001-high"],
)
def test_other_files_are_refused_saying_why(data, words):
    with pytest.raises(DomainError, match=words):
        check_logo(data)


def test_a_file_over_512_kb_is_refused():
    data = image_bytes(10, 10) + b"\0" * LOGO_MAX_BYTES
    with pytest.raises(DomainError, match="at most 512 KB"):
        check_logo(data)


# --- Fallback: program -> organization -> name ----------------------------------------


def test_brand_falls_back_from_program_to_organization_to_name(program):
    org = program.organization
    assert brand_of(program).display_name == program.name
    assert brand_of(program).contact_email == brand_of(program).accent == ""
    assert brand_of(program).logo_path == ""
    brand(org, name="Northwind", accent="#116329", contact="hello@northwind.example")
    program.refresh_from_db()
    got = brand_of(Program.objects.select_related("organization").get(pk=program.pk))
    assert (got.display_name, got.accent, got.contact_email) == (
        "Northwind",
        "#116329",
        "hello@northwind.example",
    )
    assert got.logo_path.startswith("/brand/logo/")
    brand(program, name="Northwind Mentoring", accent="", contact="", logo=image_bytes(20, 20))
    got = brand_of(Program.objects.select_related("organization").get(pk=program.pk))
    assert got.display_name == "Northwind Mentoring"
    assert (got.accent, got.contact_email) == ("#116329", "hello@northwind.example")
    program.refresh_from_db()
    assert program.brand_logo_id in got.logo_path  # the program's own logo, not the organization's


def test_replacing_or_removing_a_logo_deletes_the_unused_one(program):
    brand(program, logo=image_bytes(20, 20))
    first = Program.objects.get(pk=program.pk).brand_logo_id
    brand(program, logo=image_bytes(30, 30))
    second = Program.objects.get(pk=program.pk).brand_logo_id
    assert first != second and not BrandLogo.objects.filter(pk=first).exists()
    from programs.branding import branding_update

    branding_update(
        owner=program, brand_name="", brand_accent="", brand_contact_email="", remove_logo=True
    )
    assert Program.objects.get(pk=program.pk).brand_logo_id is None
    assert not BrandLogo.objects.exists()


def test_a_logo_two_owners_share_is_kept_while_one_still_shows_it(program):
    same = image_bytes(25, 25)
    brand(program, logo=same)
    brand(program.organization, logo=same)
    brand(program, logo=image_bytes(26, 26))
    assert BrandLogo.objects.filter(pk=Organization.objects.get().brand_logo_id).exists()


# --- The served logo ----------------------------------------------------------------


def test_the_logo_is_served_as_its_checked_type_with_safe_headers(program, anon_client):
    data = image_bytes(40, 20)
    brand(program, logo=data)
    url = brand_of(Program.objects.select_related("organization").get(pk=program.pk)).logo_path
    assert hashlib.sha256(data).hexdigest() in url  # the URL is keyed by the content
    response = anon_client.get(url)
    assert response.status_code == 200 and response.content == data
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'"
    assert response["Content-Disposition"] == "inline"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert anon_client.head(url).status_code == 200
    assert anon_client.post(url).status_code == 405


def test_an_unknown_logo_is_404(db, anon_client):
    assert anon_client.get(f"/brand/logo/{'0' * 64}/").status_code == 404
    assert anon_client.get("/brand/logo/../../etc/passwd/").status_code == 404


def test_the_accent_stylesheet_only_carries_a_colour(db, anon_client):
    response = anon_client.get(reverse("brand_accent_css", args=["1a4d8f"]))
    assert response.content == b":root { --accent: #1a4d8f; }\n"
    assert response["Content-Type"] == "text/css; charset=utf-8"
    assert anon_client.get("/brand/accent/red;}.css").status_code == 404


# --- The admin pages ----------------------------------------------------------------


def _upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def _form(**fields) -> dict:
    return {"brand_name": "", "brand_accent": "", "brand_contact_email": "", **fields}


def test_admin_brands_a_program_with_a_png_named_jpg(program, org_admin_client):
    url = reverse("programs:branding", args=[program.pk])
    png = image_bytes(64, 32)
    response = org_admin_client.post(
        url,
        _form(
            brand_name="Northwind Mentoring",
            brand_accent="#1A4D8F",
            brand_contact_email="team@northwind.example",
            logo=_upload("logo.jpg", png),
        ),
    )
    assert response.status_code == 302
    program.refresh_from_db()
    assert (program.brand_name, program.brand_accent, program.brand_contact_email) == (
        "Northwind Mentoring",
        "#1a4d8f",
        "team@northwind.example",
    )
    assert BrandLogo.objects.get(pk=program.brand_logo_id).content_type == "image/png"
    page = org_admin_client.get(url).content.decode()
    assert "Northwind Mentoring" in page and program.brand_logo_id in page


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"brand_accent": "#ffffff"}, "contrast ratio of 1.00:1"),
        ({"brand_accent": "teal"}, "six hexadecimal digits"),
        ({"logo": ("logo.svg", SVG)}, "SVG is not accepted"),
        ({"logo": ("big.png", image_bytes(3000, 3000))}, "at most 2000 x 2000"),
        ({"logo": ("huge.png", b"\x89PNG\r\n\x1a\n" + b"\0" * LOGO_MAX_BYTES)}, "at most 512 KB"),
        ({"brand_contact_email": "not an address"}, "valid email"),
    ],
    ids=["white", "name", "svg", "3000px", "too-large", "bad-address"],
)
def test_bad_input_gets_a_clear_message_and_saves_nothing(program, org_admin_client, fields, error):
    if "logo" in fields:
        fields["logo"] = _upload(*fields["logo"])
    response = org_admin_client.post(
        reverse("programs:branding", args=[program.pk]),
        _form(brand_name="Should not be saved", **fields),
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    program.refresh_from_db()
    assert program.brand_name == "" and program.brand_logo_id is None
    assert not BrandLogo.objects.exists()


def test_admin_brands_the_organization_and_removes_its_logo(program, org_admin_client):
    url = reverse("programs:organization_branding", args=[program.organization_id])
    assert org_admin_client.get(url).status_code == 200
    org_admin_client.post(
        url, _form(brand_name="Northwind", logo=_upload("n.webp", image_bytes(10, 10, "WEBP")))
    )
    org = Organization.objects.get(pk=program.organization_id)
    assert org.brand_name == "Northwind" and org.brand_logo_id
    assert "Remove the current logo" in org_admin_client.get(url).content.decode()
    org_admin_client.post(url, _form(brand_name="Northwind", remove_logo="on"))
    org.refresh_from_db()
    assert org.brand_logo_id is None and not BrandLogo.objects.exists()


def test_another_organizations_admin_cannot_see_or_change_the_branding(program, other_admin_client):
    for url in (
        reverse("programs:branding", args=[program.pk]),
        reverse("programs:organization_branding", args=[program.organization_id]),
    ):
        assert other_admin_client.get(url).status_code == 404
        assert other_admin_client.post(url, _form(brand_name="Hijacked")).status_code == 404
    program.refresh_from_db()
    assert program.brand_name == "" and program.organization.brand_name == ""


class _CountingBody:
    """A request body that records how much of it was read."""

    def __init__(self, data: bytes):
        import io

        self._stream = io.BytesIO(data)
        self.read_bytes = 0

    def read(self, size=-1):
        chunk = self._stream.read(size)
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size=-1):
        chunk = self._stream.readline(size)
        self.read_bytes += len(chunk)
        return chunk


@pytest.mark.parametrize("name", ["programs:branding", "programs:organization_branding"])
def test_an_oversize_upload_is_refused_before_its_body_is_read(program, org_admin, name):
    """With the CSRF check on, as in production: it reads request.POST, so the whole
    upload would be taken in before the form could refuse it."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(org_admin)
    owner_id = program.pk if name == "programs:branding" else program.organization_id
    url = reverse(name, args=[owner_id])
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="logo"; filename="big.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + b"\x89PNG\r\n\x1a\n"
        + b"\0" * (2 * LOGO_MAX_BYTES)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    stream = _CountingBody(body)
    response = client.generic(
        "POST",
        url,
        body,
        content_type=f"multipart/form-data; boundary={boundary}",
        **{"wsgi.input": stream},
    )
    assert response.status_code == 413
    assert "KB; at most 512 KB, please. Nothing was saved." in response.content.decode()
    assert stream.read_bytes == 0
    program.refresh_from_db()
    assert program.brand_logo_id is None and not BrandLogo.objects.exists()


def test_the_branding_form_still_checks_csrf(program, org_admin):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(org_admin)
    response = client.post(reverse("programs:branding", args=[program.pk]), _form(brand_name="X"))
    assert response.status_code == 403
    program.refresh_from_db()
    assert program.brand_name == ""


def _wait_until_blocked_on_a_lock(timeout: float = 5.0) -> bool:
    """Whether another connection of this database waits on a row lock (within timeout)."""
    import time

    from django.db import connections

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_logo_one_admin_drops_while_another_takes_it_up_stays(org):
    """Admin A removes program one's logo while admin B gives program two the same
    image (one shared row): B's reference must win, with nothing lost or crashed."""
    import threading

    from django.db import connection, transaction

    from programs.branding import branding_update
    from tests import factories

    one = factories.ProgramFactory(organization=org)
    two = factories.ProgramFactory(organization=org)
    png = image_bytes(12, 12)
    branding_update(owner=one, brand_name="", brand_accent="", brand_contact_email="", logo=png)
    digest = one.brand_logo_id
    outcome = []

    def admin_a_removes_it():
        try:
            branding_update(
                owner=one, brand_name="", brand_accent="", brand_contact_email="", remove_logo=True
            )
            outcome.append("won")
        except Exception as exc:
            outcome.append(f"crashed: {type(exc).__name__}")
        finally:
            connection.close()

    with transaction.atomic():  # admin B's save, not yet committed
        branding_update(owner=two, brand_name="", brand_accent="", brand_contact_email="", logo=png)
        thread = threading.Thread(target=admin_a_removes_it)
        thread.start()
        _wait_until_blocked_on_a_lock()
    thread.join(timeout=30)
    assert outcome == ["won"]
    one.refresh_from_db()
    two.refresh_from_db()
    assert one.brand_logo_id is None and two.brand_logo_id == digest
    assert BrandLogo.objects.filter(pk=digest).exists()


def test_the_service_cleans_what_a_caller_other_than_the_form_passes(program):
    """The name is a header's (From) and the address Reply-To's, whoever saves them."""
    from programs.branding import branding_update

    branding_update(
        owner=program,
        brand_name="North\u202ewind\r\nBcc: x@example.org",
        brand_accent="",
        brand_contact_email=" Team@Northwind.example ",
    )
    program.refresh_from_db()
    assert program.brand_name == "Northwind Bcc: x@example.org"
    assert program.brand_contact_email == "team@northwind.example"
    with pytest.raises(DomainError, match="valid email address"):
        branding_update(
            owner=program, brand_name="", brand_accent="", brand_contact_email="a@b\r\nBcc: c@d"
        )
    program.refresh_from_db()
    assert program.brand_contact_email == "team@northwind.example"
