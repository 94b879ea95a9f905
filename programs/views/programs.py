from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from programs import selectors, services
from programs.access import admin_view, organizations_for, program_view
from programs.forms import ProgramForm
from programs.models import Program


@admin_view
def program_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "programs/program_list.html",
        {"programs": selectors.program_list_for(request.user)},
    )


@admin_view
@require_http_methods(["GET", "POST"])
def program_create(request: HttpRequest) -> HttpResponse:
    form = ProgramForm(request.POST or None, organizations=organizations_for(request.user))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        program = services.program_create(**data)
        messages.success(request, f"Program “{program.name}” created.")
        return redirect("programs:detail", program_id=program.pk)
    return render(request, "programs/program_form.html", {"form": form, "program": None})


@program_view(methods=("GET", "POST"))
def program_edit(request: HttpRequest, program: Program) -> HttpResponse:
    form = ProgramForm(
        request.POST or None, instance=program, organizations=organizations_for(request.user)
    )
    if request.method == "POST" and form.is_valid():
        # form.save() is not used: writes go through the service.
        program.refresh_from_db()
        services.program_update(program=program, user=request.user, **form.cleaned_data)
        messages.success(request, "Program settings saved.")
        return redirect("programs:detail", program_id=program.pk)
    return render(request, "programs/program_form.html", {"form": form, "program": program})


@program_view(methods=("GET", "HEAD"))
def program_detail(request: HttpRequest, program: Program) -> HttpResponse:
    registration_url = request.build_absolute_uri(
        reverse("register", kwargs={"token": program.registration_token})
    )
    return render(
        request,
        "programs/program_detail.html",
        {
            "program": program,
            "headcount": selectors.program_headcount(program),
            "registration_url": registration_url,
        },
    )
