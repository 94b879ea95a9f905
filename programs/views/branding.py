"""Branding: the admins' pages for it, and the public logo and colour files pages use."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from pairing_admin.lib.errors import DomainError
from programs.access import organization_view, program_view
from programs.branding import ACCENT, brand_of, branding_update
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


def _edit(request: HttpRequest, owner: Organization | Program, *, inherited: bool):
    """The form, saved through the service on a valid POST; None means: show it."""
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


@program_view(methods=("GET", "POST"))
def program_branding(request: HttpRequest, program: Program) -> HttpResponse:
    form, saved = _edit(request, program, inherited=True)
    if saved:
        return redirect("programs:branding", program_id=program.pk)
    return render(
        request,
        "programs/branding.html",
        {"form": form, "program": program, "owner": program, "brand": brand_of(program)},
    )


@organization_view(methods=("GET", "POST"))
def organization_branding(request: HttpRequest, organization: Organization) -> HttpResponse:
    form, saved = _edit(request, organization, inherited=False)
    if saved:
        return redirect("programs:organization_branding", organization_id=organization.pk)
    return render(
        request,
        "programs/branding.html",
        {"form": form, "organization": organization, "owner": organization},
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
