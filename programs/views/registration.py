from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_protect

from pairing_admin.lib import ratelimit
from programs.forms import RegistrationForm
from programs.models import Program
from programs.registration import registration_submit

RATE_WINDOW_SECONDS = 3600


@csrf_protect
def register(request: HttpRequest, token: str) -> HttpResponse:
    """The public registration form behind a program's link (no login)."""
    program = get_object_or_404(
        Program.objects.select_related("organization"), registration_token=token
    )
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    if request.method == "GET" and "thanks" in request.GET:
        return render(request, "programs/register_done.html", {"program": program})
    context = {"program": program}
    if request.method == "POST":
        allowed = ratelimit.hit(
            "register",
            ratelimit.client_ip(request),
            limit=settings.REGISTRATION_RATE_LIMIT,
            window_seconds=RATE_WINDOW_SECONDS,
        )
        if not allowed:
            return render(request, "programs/register_limited.html", context, status=429)
    form = RegistrationForm(request.POST or None, default_capacity=program.default_mentor_capacity)
    if request.method == "POST" and form.is_valid():
        # The same answer whether the email was known or not: the page must
        # not tell a visitor who is in the program.
        registration_submit(program=program, **form.cleaned_data)
        messages.success(request, f"Thank you: your registration for {program.name} is in.")
        return redirect(reverse("register", kwargs={"token": token}) + "?thanks=1")
    context["form"] = form
    return render(request, "programs/register.html", context)
