"""programs' emails: their kinds, placeholders and default wording.

Registered with pairing_admin.mail.kinds in ProgramsConfig.ready(). The support
request goes to our support desk, so admins cannot edit it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from pairing_admin.mail.rendering import COMMON, Template


class EmailKind(models.TextChoices):
    SUPPORT_REQUEST = "support_request", "Support request"
    REGISTRATION_CONFIRM = "registration_confirm", "Registration: confirm your email"


VARIABLES: dict[str, dict[str, str]] = {
    EmailKind.SUPPORT_REQUEST: {
        **COMMON,
        "admin_name": "Admin who wrote the request",
        "admin_email": "Admin's email",
        "request_subject": "Subject the admin wrote",
        "message": "The admin's message",
    },
    EmailKind.REGISTRATION_CONFIRM: {
        **COMMON,
        "confirm_link": "Link to confirm the registration (works once, for 48 hours)",
        "confirm_by": "When the link stops working",
    },
}


REQUIRED: dict[str, tuple[str, ...]] = {
    EmailKind.REGISTRATION_CONFIRM: ("confirm_link",),
}


DEFAULTS: dict[str, Template] = {
    EmailKind.SUPPORT_REQUEST: Template(
        subject="[{{ organization_name }}] {{ request_subject }}",
        text=(
            "Support request from {{ admin_name }} <{{ admin_email }}>\n"
            "Organization: {{ organization_name }}\n"
            "Program: {{ program_name }}\n\n"
            "{{ message }}\n\n"
            "Reply to this email to answer {{ admin_name }} directly."
        ),
    ),
    EmailKind.REGISTRATION_CONFIRM: Template(
        subject=_("Confirm your registration for {{ program_name }}"),
        text=_(
            "Hello,\n\n"
            "Someone, we hope you, used this email address to join {{ program_name }}. "
            "To finish, open this link and press Confirm:\n\n"
            "{{ confirm_link }}\n\n"
            "The link works once, for 48 hours: until {{ confirm_by }}. Nothing is saved "
            "to the program until you confirm. If you were already in the program, "
            "confirming changes nothing; your program team can update your details.\n\n"
            "If this wasn't you, ignore this email and nothing will happen.\n\n"
            "{{ organization_name }}"
        ),
    ),
}
