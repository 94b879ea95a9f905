from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from pairing_admin.lib import ratelimit
from pairing_admin.lib.i18n import participant_page, use_program_language
from programs.forms import RegistrationForm
from programs.models import Program
from programs.questions import questions_of
from programs.registration import (
    CONFIRM_VALID_FOR_TEXT,
    Outcome,
    RegistrationClosed,
    deadline_text,
    registration_confirm,
    registration_pending,
    registration_request,
)

RATE_WINDOW_SECONDS = 3600

# The confirmation link's pages: a used, expired or unknown link says so in
# its status too; a confirmed one answers 200 like the Confirm page.
CONFIRM_STATUS = {
    Outcome.READY: 200,
    Outcome.CREATED: 200,
    Outcome.ALREADY_REGISTERED: 200,
    Outcome.CLOSED: 409,
    Outcome.USED: 410,
    Outcome.EXPIRED: 410,
    Outcome.UNKNOWN: 404,
}


def _program(token: str) -> Program:
    """The link's program; its pages speak the program's language from here on
    (an unknown link gets the site's 404 page)."""
    program = get_object_or_404(
        Program.objects.select_related("organization"), registration_token=token
    )
    use_program_language(program)
    return program


def _private(response: HttpResponse) -> HttpResponse:
    # Pages of an emailed link: never cached, and the token never leaks to
    # another site through a Referer header.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@csrf_protect
@require_http_methods(["GET", "POST"])
@participant_page
def register(request: HttpRequest, token: str) -> HttpResponse:
    """The public registration form behind a program's link (no login)."""
    program = _program(token)
    context = {"program": program, "valid_for": CONFIRM_VALID_FOR_TEXT}
    if request.method == "GET" and "sent" in request.GET:
        return render(request, "programs/register_done.html", context)
    if not program.registration_open:
        return render(request, "programs/register_closed.html", context)
    if request.method == "POST":
        allowed = ratelimit.hit(
            "register",
            ratelimit.client_ip(request),
            limit=settings.REGISTRATION_RATE_LIMIT,
            window_seconds=RATE_WINDOW_SECONDS,
        )
        if not allowed:
            return render(request, "programs/register_limited.html", context, status=429)
    form = RegistrationForm(
        request.POST or None,
        default_capacity=program.default_mentor_capacity,
        questions=questions_of(program),
    )
    if request.method == "POST" and form.is_valid():
        # The same answer whether the email is known or new, and whether an
        # email went out (the per-address limit): the page must not tell a
        # visitor who is in the program.
        try:
            registration_request(program=program, **form.registration_values())
        except RegistrationClosed:
            return render(request, "programs/register_closed.html", context)
        return redirect(reverse("register", kwargs={"token": token}) + "?sent=1")
    context["form"] = form
    return render(request, "programs/register.html", context)


def _answers_shown(program: Program, sent: dict) -> list[tuple[str, str]]:
    """(question, answer as sent) for the confirm page, in the questions' order."""
    shown = []
    for q in questions_of(program):
        value = sent.get(q.key)
        if value:
            shown.append((q.label, ", ".join(value) if isinstance(value, list) else str(value)))
    return shown


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@participant_page
def register_confirm(request: HttpRequest, token: str, code: str) -> HttpResponse:
    """The emailed link: GET shows what would be saved and a Confirm button; POST saves it.

    Exempt from the CSRF check like the other pages people open from an email
    (pairing.views.links says why): the code in the URL is the credential,
    and this page's Referrer-Policy: no-referrer makes browsers post
    "Origin: null", which the check refuses.
    """
    program = _program(token)
    if not ratelimit.token_page_allowed(request):
        context = {"program": program, "valid_for": CONFIRM_VALID_FOR_TEXT}
        return _private(render(request, "programs/register_limited.html", context, status=429))
    if request.method == "POST":
        result = registration_confirm(program=program, token=code)
    else:
        result = registration_pending(program=program, token=code)
    context = {
        "program": program,
        "outcome": result.outcome.value,
        "register_url": reverse("register", kwargs={"token": token}),
        "valid_for": CONFIRM_VALID_FOR_TEXT,
    }
    if result.outcome is Outcome.READY:
        details = result.pending.details
        context.update(
            email=result.pending.email,
            details=details,
            role=dict(RegistrationForm.ROLES)[details["role"]],
            capacity=details.get("capacity") or program.default_mentor_capacity,
            answers=_answers_shown(program, details.get("answers") or {}),
            expires=deadline_text(result.pending.expires_at, program),
        )
    response = render(
        request,
        "programs/register_confirm.html",
        context,
        status=CONFIRM_STATUS[result.outcome],
    )
    return _private(response)
