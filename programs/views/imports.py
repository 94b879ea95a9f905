from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize

from pairing_admin.lib.errors import DomainError
from programs.access import program_view
from programs.forms import ImportUploadForm
from programs.imports import parse, template
from programs.imports import services as import_services
from programs.models import ParticipantImport, Program
from programs.questions import questions_of

# Authorization comes before the method check in these views, so another
# organization's admin gets 404 for every method, never a 405 that would
# confirm the import exists.


def _import_for(program: Program, import_id: int) -> ParticipantImport:
    participant_import = get_object_or_404(ParticipantImport, program=program, pk=import_id)
    # The program already read: its questions are read once for the whole request.
    participant_import.program = program
    return participant_import


@program_view(methods=("GET", "POST"))
def import_upload(request: HttpRequest, program: Program) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            # Refuse before reading a large file into memory.
            parse.check_upload_size(upload.size)
            participant_import = import_services.import_create(
                program=program, user=request.user, filename=upload.name, data=upload.read()
            )
        except DomainError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect(
                "programs:import_preview", program_id=program.pk, import_id=participant_import.pk
            )
    asked = questions_of(program)
    return render(
        request,
        "programs/import_upload.html",
        {
            "program": program,
            "form": form,
            "required_columns": parse.REQUIRED_COLUMNS,
            "optional_columns": parse.OPTIONAL_COLUMNS,
            "questions": template.column_help(asked),
            # The template's first lines, shown as an example of the format.
            "example": template.template_csv(program, asked),
            "max_mb": settings.IMPORT_MAX_BYTES / (1024 * 1024),
        },
    )


@program_view(methods=("GET",))
def import_template(request: HttpRequest, program: Program) -> HttpResponse:
    """A CSV with every column the import reads and an example row per role."""
    response = HttpResponse(
        template.template_csv(program, questions_of(program)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="participants-template.csv"'
    response["Cache-Control"] = "no-store"
    return response


@program_view(methods=("GET",), load=_import_for)
def import_preview(
    request: HttpRequest, program: Program, participant_import: ParticipantImport
) -> HttpResponse:
    context = {"program": program, "upload": participant_import}
    if participant_import.status == ParticipantImport.Status.PREVIEW:
        preview = import_services.import_preview(participant_import=participant_import)
        shown = import_services.PREVIEW_ROWS
        lines, rows = preview.parsed.lines[:shown], preview.parsed.rows[:shown]
        answers = _answers_shown(program, preview.parsed.answer_keys, rows)
        context |= {
            "preview": preview,
            "sample": list(zip(lines, rows, answers, strict=True)),
            "can_confirm": preview.parsed.is_valid,
        }
    return render(request, "programs/import_preview.html", context)


def _answers_shown(program: Program, keys: list[str], rows: list[dict]) -> list[str]:
    """Each sample row's answers on one line: "Skills: Python, SQL · Years: 5"."""
    labels = {q.key: q.label for q in questions_of(program)}
    return [
        " · ".join(
            f"{labels[key]}: {', '.join(value) if isinstance(value, list) else value}"
            for key in keys
            if (value := row.get(key)) is not None
        )
        for row in rows
    ]


@program_view(methods=("POST",), load=_import_for)
def import_confirm(
    request: HttpRequest, program: Program, participant_import: ParticipantImport
) -> HttpResponse:
    try:
        done = import_services.import_apply(
            participant_import=participant_import, user=request.user
        )
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect(
            "programs:import_preview", program_id=program.pk, import_id=participant_import.pk
        )
    total = done.created_count + done.updated_count
    messages.success(
        request,
        f"Imported {total} participant{pluralize(total)}: "
        f"{done.created_count} new, {done.updated_count} updated.",
    )
    return redirect("programs:participants", program_id=program.pk)


@program_view(methods=("POST",), load=_import_for)
def import_discard(
    request: HttpRequest, program: Program, participant_import: ParticipantImport
) -> HttpResponse:
    if import_services.import_discard(participant_import=participant_import):
        messages.success(
            request, f"“{participant_import.filename}” discarded; nothing was imported."
        )
    else:
        messages.warning(request, "This file was no longer waiting for confirmation.")
    return redirect("programs:import_upload", program_id=program.pk)
