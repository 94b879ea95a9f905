"""Branding: the admins' pages for it, and the public logo and colour files pages use."""

from functools import wraps

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from pairing_admin.lib.errors import DomainError
from programs.access import organization_view, program_view
from programs.branding import ACCENT, LOGO_MAX_BYTES, brand_of, branding_update
from programs.forms import BrandingForm
from programs.models import BrandLogo, Organization, Program

# The URL names the content (its hash, or the colour itself): it never changes.
FOREVER = "public, max-age=31536000, immutable"


def _initial(owner: Organization | Program) -> dict:
    return {
        "brand_name": owner.brand_name,
        "brand_accent": owner.brand_accent,
        "brand_contact_email": owner.brand_contact_email,
    }


# What the form's other fields and the multipart framing may add to a logo's bytes.
FORM_SLACK = 64 * 1024


def _body_too_big(request: HttpRequest) -> int:
    """The declared body's size if it can't hold an acceptable logo, else 0.

    Read from Content-Length before anything touches request.POST or FILES:
    Django would otherwise take in the whole upload (to a temporary file)
    before the form could refuse it. A body without a length is read as empty.
    """
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
    return length if length > LOGO_MAX_BYTES + FORM_SLACK else 0


def size_checked(view):
    """Refuse an oversize upload by its declared length before the body is read.

    Django's CSRF check reads the whole body (request.POST), so the view is
    csrf_exempt for the middleware and csrf_protect'ed here, after the size check;
    an oversize POST is refused without acting, so it needs no CSRF check.
    """
    protected = csrf_protect(view)

    @wraps(view)
    def checked(request: HttpRequest, owner, **kwargs) -> HttpResponse:
        if request.method == "POST" and (size := _body_too_big(request)):
            return view(request, owner, too_big=size, **kwargs)
        return protected(request, owner, **kwargs)

    return csrf_exempt(checked)


def _edit(request: HttpRequest, owner: Organization | Program, *, inherited: bool, too_big: int):
    """The form, saved through the service on a valid POST; None means: show it."""
    if too_big:
        # Bound to the saved values (an error needs a bound form); the upload is not read.
        form = BrandingForm(_initial(owner), inherited=inherited)
        form.full_clean()
        form.add_error(
            None,
            f"The logo is {-(-too_big // 1024):,} KB; at most {LOGO_MAX_BYTES // 1024} KB, "
            "please. Nothing was saved.",
        )
        return form, False
    form = BrandingForm(
        request.POST or None, request.FILES or None, initial=_initial(owner), inherited=inherited
    )
    if request.method == "POST" and form.is_valid():
        try:
            branding_update(owner=owner, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Branding saved.")
            return form, True
    return form, False


@csrf_exempt  # see size_checked
@program_view(methods=("GET", "POST"))
@size_checked
def program_branding(request: HttpRequest, program: Program, too_big: int = 0) -> HttpResponse:
    form, saved = _edit(request, program, inherited=True, too_big=too_big)
    if saved:
        return redirect("programs:branding", program_id=program.pk)
    return render(
        request,
        "programs/branding.html",
        {"form": form, "program": program, "owner": program, "brand": brand_of(program)},
        status=413 if too_big else 200,
    )


@csrf_exempt  # see size_checked
@organization_view(methods=("GET", "POST"))
@size_checked
def organization_branding(
    request: HttpRequest, organization: Organization, too_big: int = 0
) -> HttpResponse:
    form, saved = _edit(request, organization, inherited=False, too_big=too_big)
    if saved:
        return redirect("programs:organization_branding", organization_id=organization.pk)
    return render(
        request,
        "programs/branding.html",
        {"form": form, "organization": organization, "owner": organization},
        status=413 if too_big else 200,
    )


@require_http_methods(["GET", "HEAD"])
def brand_logo(request: HttpRequest, digest: str) -> HttpResponse:
    """A logo, public (pages and emails show it to anyone), as an image and nothing else.

    Its type is the one its content was checked to be; nosniff and a CSP
    that allows nothing keep a browser from treating it as anything else.
    """
    logo = BrandLogo.objects.filter(pk=digest).values_list("content_type", "data").first()
    if logo is None:
        raise Http404("No such logo")
    content_type, data = logo
    response = HttpResponse(bytes(data), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = FOREVER
    return response


@require_http_methods(["GET", "HEAD"])
def brand_accent_css(request: HttpRequest, colour: str) -> HttpResponse:
    """The accent colour as a CSS custom property, in a file of our own.

    The pages' CSP allows no inline style, so participant_base.html links this
    file for its brand's colour. Any colour in the URL is only a variable.
    """
    colour = f"#{colour}"
    if not ACCENT.fullmatch(colour):
        raise Http404("No such colour")
    response = HttpResponse(
        f":root {{ --accent: {colour.lower()}; }}\n", content_type="text/css; charset=utf-8"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = FOREVER
    return response
