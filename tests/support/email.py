"""Shared by the email tests: templates and links for rendering checks, the
provider webhook URLs as a given EMAIL_PROVIDER mounts them, Invite all's paths."""

import importlib
from contextlib import contextmanager

from django.db import connection
from django.test import override_settings
from django.urls import clear_url_caches

from invitations.email_kinds import EmailKind
from pairing.email_kinds import EmailKind as PairingEmail
from pairing_admin.mail.kinds import DEFAULTS
from pairing_admin.mail.rendering import Template
from programs.email_kinds import EmailKind as ProgramEmail

# Every app's email kinds, as each declares them (each registers its own with mail.kinds).
EMAIL_KINDS = (*EmailKind, *PairingEmail, *ProgramEmail)
EMAIL_KIND_VALUES = [kind.value for kind in EMAIL_KINDS]

LINKS = [
    "http://127.0.0.1:8000/p/AbC-123_xyz/",
    "https://pairing.example.org/p/tok&en/",
]
TEMPLATES = {
    "default": DEFAULTS[EmailKind.INVITATION],
    "custom html": Template(
        subject="  {{first_name}}   —  {{ program_name }}\t{{ organization_name }} ",
        text="Hi {{ first_name }}: {{ preferences_link }}",
        html="<p title='{{ first_name }}'>Hi {{ first_name }}</p><a href=\"{{ preferences_link }}\">go</a>",
    ),
    "links in text": Template(
        subject="{{ preferences_link }}",
        text=(
            "\n\n  {{ first_name }}\n\n\n \nGo to {{ preferences_link }}. Or {{preferences_link}}{{first_name}}"
            "\nSee https://x.example/{{ first_name }}&amp;y and {{ unknown_name }} here.\n  "
        ),
    ),
    "only a placeholder": Template(subject="{{first_name}}", text="{{ first_name }}"),
    "urls touching values": Template(
        subject="s",
        text=(
            "https://{{ first_name }} http{{ first_name }} https://x.example/{{ first_name }}&b\n"
            "{{ first_name }}{{ preferences_link }}?utm=mail&amp;x=1{{ first_name }}"
            "{{preferences_link}}\n\n{{ program_name }} https://help.example.org/a&b "
            "{{ organization_name }}https://help.example.org/{{ first_name }}"
        ),
    ),
}


def _rebuild_urls() -> None:
    import pairing_admin.urls

    importlib.reload(pairing_admin.urls)
    clear_url_caches()


@contextmanager
def provider_mounted(provider: str):
    """URLs rebuilt as with EMAIL_PROVIDER=provider (they are built at start-up)."""
    try:
        with override_settings(EMAIL_PROVIDER=provider):
            _rebuild_urls()
            yield
    finally:
        _rebuild_urls()


def invite_paths():
    """Both service paths where the database has them (SQL only on PostgreSQL)."""
    return [False, True] if connection.vendor == "postgresql" else [False]
