"""Registering through the public link as a visitor does: the form, then the emailed link."""

import re

from django.urls import reverse

from pairing_admin.mail.models import OutboundEmail
from programs.email_kinds import EmailKind
from programs.models import Participant

CONFIRM_LINK = re.compile(r"https?://\S+/join/[^/\s]+/confirm/([A-Za-z0-9_-]+)/")


def register_url(program) -> str:
    return reverse("register", kwargs={"token": program.registration_token})


def confirm_url(program, code: str) -> str:
    return reverse("register_confirm", kwargs={"token": program.registration_token, "code": code})


def confirm_emails(program, email: str | None = None):
    emails = OutboundEmail.objects.filter(program=program, kind=EmailKind.REGISTRATION_CONFIRM)
    return emails.filter(to_email=email.lower()) if email else emails


def emailed_code(program, email: str) -> str:
    """The code in the newest confirmation email to `email`."""
    body = confirm_emails(program, email).order_by("-pk").first().body_text
    return CONFIRM_LINK.search(body).group(1)


def register(client, program, **data) -> Participant:
    """Fill in the form with `data`, open the emailed link and press Confirm."""
    response = client.post(register_url(program), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    confirmed = client.post(confirm_url(program, emailed_code(program, data["email"])))
    assert confirmed.status_code == 200, confirmed.content.decode()[:2000]
    return Participant.objects.get(program=program, email=data["email"].strip().lower())
