"""The Pairing page's launch checklist, the switch, and the organization's integrations.

Every action is a plain form POST that redirects back (no JavaScript needed);
with htmx the same POST answers with just the part of the page it changed,
plus out-of-band copies of the parts that depend on it (the Turn on Pairing
warning, the activity log).
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from pairing_admin.lib.htmx import render_page
from pairing_admin.lib.params import row_id
from programs import selectors, services
from programs.access import organization_view, program_view, programs_for
from programs.forms import IntegrationForm
from programs.models import Integration, LaunchStep, Organization, Program

PAGE = "programs/pairing.html"


def _checklist_context(request: HttpRequest, program: Program) -> dict:
    return {
        "program": program,
        "readiness": selectors.program_readiness(program),
        "checklist": selectors.launch_checklist(program),
        "activity": selectors.activity_page(program, request.GET.get("page")),
        "tab": "checklist",
    }


@program_view(methods=("GET",))
def pairing_page(request: HttpRequest, program: Program) -> HttpResponse:
    """The launch checklist tab; htmx asks for one part of it by target id."""
    target = request.htmx.target if request.htmx else None
    if target == "activity-log":
        page = selectors.activity_page(program, request.GET.get("page"))
        return render_page(request, PAGE + "#activity", {"program": program, "activity": page})
    context = _checklist_context(request, program)
    partials = {"pairing-panel": "panel", "pairing-switch": "switch"}
    return render_page(request, PAGE, context, partials=partials)


def _after_action(request: HttpRequest, program: Program, *, changed: str, step: str = ""):
    """htmx: the changed part and what depends on it. Otherwise back to the page."""
    if not request.htmx:
        return redirect("programs:pairing", program_id=program.pk)
    context = _checklist_context(request, program) | {"changed": changed}
    if step:
        context["step"] = context["checklist"].step(step)
    return render(request, "programs/pairing_update.html", context)


def _step_or_404(program: Program, step: str) -> LaunchStep.Step:
    if step not in LaunchStep.Step.values:
        raise Http404("No such step")
    return LaunchStep.Step(step)


@program_view(methods=("POST",), load=_step_or_404)
def step_done(request: HttpRequest, program: Program, step: LaunchStep.Step) -> HttpResponse:
    services.launch_step_mark_done(program=program, step=step, user=request.user)
    if not request.htmx:
        messages.success(request, f"“{step.label}” is marked done.")
    return _after_action(request, program, changed="step", step=step)


@program_view(methods=("POST",), load=_step_or_404)
def step_undo(request: HttpRequest, program: Program, step: LaunchStep.Step) -> HttpResponse:
    services.launch_step_undo(program=program, step=step, user=request.user)
    if not request.htmx:
        messages.success(request, f"“{step.label}” is no longer marked done.")
    return _after_action(request, program, changed="step", step=step)


def _confirm_switch(request, program, template: str, context=None) -> HttpResponse:
    """Turn on / Turn off Pairing's confirmation: the page, or with htmx its switch part."""
    context = {"program": program, **(context or {})}
    return render_page(request, template, context, partials={"pairing-switch": "confirm"})


@program_view(methods=("GET", "POST"))
def turn_on(request: HttpRequest, program: Program) -> HttpResponse:
    """GET: the confirmation (works without JavaScript). POST: turn pairing on."""
    if request.method == "GET":
        context = {"checklist": selectors.launch_checklist(program)}
        return _confirm_switch(request, program, "programs/pairing_turn_on.html", context)
    changed = services.pairing_turn_on(program=program, user=request.user)
    if not request.htmx:
        if changed:
            messages.success(
                request,
                "Pairing is on. No emails were sent: invite your mentees from the "
                "Unpaired Mentees tab when you are ready.",
            )
        else:
            messages.info(request, "Pairing was already on; nothing changed.")
    return _after_action(request, program, changed="switch")


@program_view(methods=("GET", "POST"))
def turn_off(request: HttpRequest, program: Program) -> HttpResponse:
    """GET: the confirmation, saying what a pause does. POST: turn pairing off."""
    if request.method == "GET":
        return _confirm_switch(request, program, "programs/pairing_turn_off.html")
    changed = services.pairing_turn_off(program=program, user=request.user)
    if not request.htmx:
        if changed:
            messages.success(
                request,
                "Pairing is off. No emails were sent. Requests already waiting can still be "
                "answered and still expire.",
            )
        else:
            messages.info(request, "Pairing was already off; nothing changed.")
    return _after_action(request, program, changed="switch")


# --- Integrations ----------------------------------------------------------------


def _back_program(request: HttpRequest, organization: Organization) -> Program | None:
    """The program whose checklist led here (?program=), for the way back."""
    pk = row_id(request.GET.get("program"))
    if pk is None:
        return None
    return programs_for(request.user).filter(organization=organization, pk=pk).first()


def _row(integration: Integration, form: IntegrationForm | None = None, **extra) -> dict:
    if form is None:
        form = IntegrationForm(
            prefix=integration.kind,
            initial={"status": integration.status, "notes": integration.notes},
        )
    return {"integration": integration, "form": form, **extra}


@organization_view(methods=("GET", "POST"))
def integration_list(request: HttpRequest, organization: Organization) -> HttpResponse:
    back = _back_program(request, organization)
    context = {
        "organization": organization,
        "back": back,
        "email_in_use": selectors.email_provider_in_use(),
        "query": f"?program={back.pk}" if back else "",
    }
    rows = [_row(i) for i in selectors.integration_rows(organization)]
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        if kind not in Integration.Kind.values:
            raise Http404("No such integration")
        form = IntegrationForm(request.POST, prefix=kind)
        index = Integration.Kind.values.index(kind)
        if form.is_valid():
            integration = services.integration_update(
                organization=organization, kind=kind, user=request.user, **form.cleaned_data
            )
            if not request.htmx:
                messages.success(request, f"{integration.get_kind_display()} saved.")
                url = reverse("programs:integrations", kwargs={"organization_id": organization.pk})
                return redirect(url + context["query"] + f"#integration-{kind}")
            integration = selectors.integration_rows(organization)[index]
            return render(
                request,
                "programs/integration_list.html#row",
                context | {"row": _row(integration, saved=True)},
            )
        rows[index] = _row(rows[index]["integration"], form)
        if request.htmx:
            return render(
                request, "programs/integration_list.html#row", context | {"row": rows[index]}
            )
    return render(request, "programs/integration_list.html", context | {"rows": rows})
