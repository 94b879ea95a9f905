"""Admins edit a program's emails; we keep them safe to render."""

from datetime import datetime

from django.conf import settings
from django.db import models, transaction

from pairing_admin.lib.i18n import long_date, long_date_time, program_language
from pairing_admin.mail.branding import brand_for, frame, program_name
from pairing_admin.mail.kinds import EDITABLE_KINDS, VARIABLES
from pairing_admin.mail.models import EmailTemplate
from pairing_admin.mail.outbox import default_template, template_for
from pairing_admin.mail.rendering import Template, render, validate_template

# A path: previews put this deployment's PUBLIC_BASE_URL before every *_link,
# so a sample link looks like the real ones (sample_url).
SAMPLE_LINK = "/p/sample-personal-link"
# A Wednesday afternoon, for the sample deadline and confirm-by values.
SAMPLE_DAY = datetime(2025, 12, 3, 14, 0)
SAMPLE_VALUES = {
    "first_name": "Alex",
    "mentee_name": "Sam Rivera",
    "mentee_profile": "Product Designer, Design, Lisbon. Goals: leadership, public speaking",
    "mentee_note": "I'd love to learn how you grew into a lead role.",
    "mentor_name": "Jordan Lee",
    "next_mentor_name": "Priya Natarajan",
    "partner_name": "Jordan Lee",
    "partner_email": "jordan.lee@example.org",
    "partner_role": "mentor",
    "decline_message": "I'm at capacity this quarter, sorry!",
    "deadline": "Wednesday 3 December",
    "preferences_link": SAMPLE_LINK,
    "approve_link": SAMPLE_LINK + "/approve",
    "decline_link": SAMPLE_LINK + "/decline",
    "session_link": SAMPLE_LINK + "/session",
    "confirm_link": SAMPLE_LINK + "/confirm",
    "confirm_by": "Wednesday 3 December at 14:00 (Europe/London)",
    "admin_name": "Ada Admin",
    "admin_email": "ada@example.org",
    "request_subject": "A question about pairing",
    "message": "Hello!",
}


def sample_url(path: str = SAMPLE_LINK) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def sample_values(program: models.Model, participant: models.Model | None = None) -> dict[str, str]:
    values = {
        **{k: sample_url(v) if k.endswith("_link") else v for k, v in SAMPLE_VALUES.items()},
        "program_name": program_name(program),
        "organization_name": program.organization.name,
    }
    # The values the product writes itself come in the program's participant language.
    with program_language(program):
        values["deadline"] = long_date(SAMPLE_DAY)
        values["confirm_by"] = f"{long_date_time(SAMPLE_DAY)} (Europe/London)"
    if participant is not None:
        values["first_name"] = participant.first_name
    return values


def template_preview(
    *, program: models.Model, kind: str, template: Template, participant: models.Model | None = None
) -> tuple[str, str, str]:
    """What the email will look like, the program's brand around it as the outbox adds it."""
    subject, text, body_html = render(kind, template, sample_values(program, participant))
    return (subject, *frame(text, body_html, brand_for(program, kind)))


@transaction.atomic
def email_template_save(
    *, program: models.Model, kind: str, template: Template, user
) -> EmailTemplate:
    """Validate, then store; an invalid template raises TemplateError and saves nothing."""
    validate_template(kind, template)
    saved, _ = EmailTemplate.objects.update_or_create(
        program=program,
        kind=kind,
        defaults={
            "subject": template.subject.strip(),
            "body_text": template.text,
            "body_html": template.html,
            "updated_by": user,
        },
    )
    return saved


@transaction.atomic
def email_template_reset(*, program: models.Model, kind: str) -> None:
    EmailTemplate.objects.filter(program=program, kind=kind).delete()


def email_template_overview(program: models.Model) -> list[dict]:
    custom = {
        t.kind: t
        for t in EmailTemplate.objects.filter(program=program).select_related("updated_by")
    }
    return [
        {
            "kind": kind,
            "label": kind.label,
            "custom": custom.get(kind),
            "subject": (
                custom[kind].subject if kind in custom else default_template(program, kind).subject
            ),
        }
        for kind in EDITABLE_KINDS
    ]


__all__ = [
    "EDITABLE_KINDS",
    "VARIABLES",
    "email_template_overview",
    "email_template_reset",
    "email_template_save",
    "template_for",
    "template_preview",
]
