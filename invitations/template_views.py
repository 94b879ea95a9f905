from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from invitations import templates_service as svc
from invitations.models import EmailKind
from invitations.rendering import (
    BODY_MAX,
    REQUIRED,
    SUBJECT_MAX,
    VARIABLES,
    Template,
    TemplateError,
)
from pairing_admin.lib.params import row_id
from programs.access import admin_view, program_for_admin
from programs.models import Participant


def _kind(kind: str) -> EmailKind:
    if kind not in EmailKind.values or kind not in svc.EDITABLE_KINDS:
        raise Http404("No such email")
    return EmailKind(kind)


@admin_view
def email_template_list(request: HttpRequest, program_id: int) -> HttpResponse:
    program = program_for_admin(request.user, program_id)
    return render(
        request,
        "invitations/email_template_list.html",
        {"program": program, "rows": svc.email_template_overview(program)},
    )


@admin_view
@require_http_methods(["GET", "POST"])
def email_template_edit(request: HttpRequest, program_id: int, kind: str) -> HttpResponse:
    program = program_for_admin(request.user, program_id)
    kind = _kind(kind)
    current = svc.template_for(program, kind)
    participant = None
    participant_id = row_id(request.GET.get("participant") or request.POST.get("participant"))
    if participant_id is not None:
        # Only a participant of this program: never another organization's data.
        participant = Participant.objects.filter(program=program, pk=participant_id).first()
    error = ""
    template = current
    if request.method == "POST":
        template = Template(
            subject=request.POST.get("subject", ""),
            text=request.POST.get("body_text", "").replace("\r\n", "\n"),
            html=request.POST.get("body_html", "").replace("\r\n", "\n"),
        )
        if request.POST.get("action") == "save":
            try:
                svc.email_template_save(
                    program=program, kind=kind, template=template, user=request.user
                )
            except TemplateError as exc:
                error = str(exc)
            else:
                messages.success(request, f"“{kind.label}” email saved.")
                return redirect("email_templates:edit", program_id=program.pk, kind=kind.value)
    preview = None
    if not error:
        try:
            preview = svc.template_preview(
                program=program, kind=kind, template=template, participant=participant
            )
        except TemplateError as exc:
            error = str(exc)
    context = {
        "program": program,
        "kind": kind,
        "template": template,
        "variables": VARIABLES[kind].items(),
        "required": REQUIRED.get(kind, ()),
        "subject_max": SUBJECT_MAX,
        "body_max": BODY_MAX,
        "error": error,
        "preview": preview,
        "participant": participant,
        "participants": Participant.objects.filter(program=program).order_by(
            "last_name", "first_name"
        )[:100],
        "is_custom": program.email_templates.filter(kind=kind).exists(),
    }
    return render(
        request, "invitations/email_template_edit.html", context, status=400 if error else 200
    )


@admin_view
def email_template_reset(request: HttpRequest, program_id: int, kind: str) -> HttpResponse:
    program = program_for_admin(request.user, program_id)  # 404 before 405: reveal nothing
    kind = _kind(kind)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    svc.email_template_reset(program=program, kind=kind)
    messages.success(request, f"“{kind.label}” email reset to the default.")
    return redirect("email_templates:edit", program_id=program.pk, kind=kind.value)
