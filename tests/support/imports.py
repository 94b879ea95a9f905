"""The CSV import as an admin drives it: upload, preview, confirm, and what it left."""

from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from programs.models import Participant, ParticipantImport


def upload_csv(client, program, data: bytes, name: str = "people.csv"):
    url = reverse("programs:import_upload", args=[program.pk])
    return client.post(url, {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def preview_url(upload: ParticipantImport) -> str:
    return reverse("programs:import_preview", args=[upload.program_id, upload.pk])


def confirm_import(client, upload: ParticipantImport):
    return client.post(reverse("programs:import_confirm", args=[upload.program_id, upload.pk]))


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def participants_snapshot(program) -> list[dict]:
    return list(Participant.objects.filter(program=program).order_by("id").values())
