from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from programs.access import admin_view, program_for_admin


@admin_view
def import_upload(request: HttpRequest, program_id: int) -> HttpResponse:
    program = program_for_admin(request.user, program_id)
    return render(request, "programs/import_upload.html", {"program": program})


@admin_view
def import_preview(request: HttpRequest, program_id: int, import_id: int) -> HttpResponse:
    program = program_for_admin(request.user, program_id)
    return render(request, "programs/import_upload.html", {"program": program})


@admin_view
def import_confirm(request: HttpRequest, program_id: int, import_id: int) -> HttpResponse:
    program = program_for_admin(request.user, program_id)
    return render(request, "programs/import_upload.html", {"program": program})


@admin_view
def import_discard(request: HttpRequest, program_id: int, import_id: int) -> HttpResponse:
    program = program_for_admin(request.user, program_id)
    return render(request, "programs/import_upload.html", {"program": program})
