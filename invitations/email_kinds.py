"""Invitations' email: its kind, placeholders and default wording.

Registered with pairing_admin.mail.kinds in InvitationsConfig.ready().
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from pairing_admin.mail.rendering import COMMON, Template


class EmailKind(models.TextChoices):
    INVITATION = "invitation", "Submit Your Mentor Preferences"


VARIABLES: dict[str, dict[str, str]] = {
    EmailKind.INVITATION: {**COMMON, "preferences_link": "Personal link to the preference form"},
}


REQUIRED: dict[str, tuple[str, ...]] = {
    EmailKind.INVITATION: ("preferences_link",),
}


DEFAULTS: dict[str, Template] = {
    EmailKind.INVITATION: Template(
        subject=_("{{ program_name }}: Submit Your Mentor Preferences"),
        text=_(
            "Hi {{ first_name }},\n\n"
            "Pairing is open for {{ program_name }}. Have a look at the mentors who still have "
            "room, see why each one could suit you, and tell us who you would like to work with.\n\n"
            "Submit Your Mentor Preferences: {{ preferences_link }}\n\n"
            "The link is personal to you, so please don't forward it.\n\n"
            "{{ organization_name }}"
        ),
    ),
}
