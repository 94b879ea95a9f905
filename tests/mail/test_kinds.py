"""The registry of email kinds: each app registers its own, mail names none.

Admins see the kinds in one fixed order (the template list, the email log's
filter); an email or a template of a kind nobody registered is refused.
"""

import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.urls import reverse

from invitations.email_kinds import EmailKind as InvitationEmail
from pairing_admin.mail import kinds
from pairing_admin.mail.email_templates import email_template_save
from pairing_admin.mail.kinds import EDITABLE_KINDS, Template, UnknownEmailKind, register_kinds
from pairing_admin.mail.models import EmailTemplate, OutboundEmail
from pairing_admin.mail.outbox import Draft, outbox_add
from tests.support.email import EMAIL_KIND_VALUES

MAIL = Path(__file__).resolve().parents[2] / "pairing_admin" / "mail"

# The order admins have always seen; a new kind goes where its app's order puts it.
ADMIN_ORDER = [
    "invitation",
    "mentor_request",
    "request_reminder",
    "assignment",
    "request_declined",
    "request_expired",
    "request_forwarded",
    "request_cancelled",
    "request_closed",
    "waitlist_offer",
    "waitlist_returned",
    "mentor_requests",
    "assignments",
    "pairing_ended",
    "pairings_ended",
    "personal_page_link",
    "support_request",
    "registration_confirm",
]


def test_every_app_registers_each_of_its_kinds_once():
    assert sorted(value for value, _label in kinds.choices()) == sorted(EMAIL_KIND_VALUES)
    assert len(kinds.choices()) == len(EMAIL_KIND_VALUES) == 18


def test_admins_see_the_kinds_in_the_order_they_always_had():
    assert [value for value, _label in kinds.choices()] == ADMIN_ORDER
    assert [kind.value for kind in EDITABLE_KINDS] == [
        k for k in ADMIN_ORDER if k != "support_request"
    ]


def test_the_email_log_filter_and_the_template_list_keep_that_order(program, org_admin_client):
    log = org_admin_client.get(reverse("email_log:list", kwargs={"program_id": program.pk}))
    select = re.search(r'<select id="kind" name="kind">(.*?)</select>', log.content.decode(), re.S)
    assert re.findall(r'<option value="(\w+)"', select.group(1)) == ADMIN_ORDER
    listing = org_admin_client.get(
        reverse("email_templates:list", kwargs={"program_id": program.pk})
    )
    prefix = re.escape(reverse("email_templates:list", kwargs={"program_id": program.pk}))
    linked = re.findall(rf'href="{prefix}(\w+)/"', listing.content.decode())
    assert [k for k in linked if k != "log"] == [k for k in ADMIN_ORDER if k != "support_request"]


def test_the_mail_layer_names_no_app_kind():
    for path in MAIL.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        source = path.read_text()
        named = [value for value in ADMIN_ORDER if f'"{value}"' in source]
        assert named == [], f"{path.name} names {named}: the owning app registers them"


def test_labels_come_from_the_registry():
    email = OutboundEmail(kind=InvitationEmail.INVITATION, to_email="a@example.org")
    assert email.get_kind_display() == "Submit Your Mentor Preferences"
    assert EmailTemplate(kind="request_closed").get_kind_display() == "Request closed: mentor full"
    # A row of a kind no app registers any more still shows (as its value).
    assert OutboundEmail(kind="retired_kind").get_kind_display() == "retired_kind"


@pytest.mark.django_db
def test_an_email_of_an_unregistered_kind_is_refused_and_nothing_is_written():
    draft = Draft(kind="no_such_kind", key="unknown-kind:1", to_email="a@example.org")
    with pytest.raises(UnknownEmailKind, match="unknown email kind 'no_such_kind'"):
        outbox_add([draft], program=None, templates={"no_such_kind": Template("S", "T")})
    assert not OutboundEmail.objects.exists()


@pytest.mark.django_db
def test_a_template_of_an_unregistered_kind_is_refused(program, org_admin):
    with pytest.raises(UnknownEmailKind):
        email_template_save(
            program=program, kind="no_such_kind", template=Template("S", "T"), user=org_admin
        )
    with pytest.raises(UnknownEmailKind):
        EmailTemplate.objects.create(
            program=program, kind="no_such_kind", subject="S", body_text="T"
        )
    assert not EmailTemplate.objects.exists()


def test_registering_again_the_same_kinds_changes_nothing_and_a_clash_is_refused():
    before = kinds.choices()
    register_kinds(  # ready() may run twice
        InvitationEmail,
        order=10,
        variables=kinds.VARIABLES,
        defaults=kinds.DEFAULTS,
        required=kinds.REQUIRED,
    )
    assert kinds.choices() == before

    class Clash(models.TextChoices):
        INVITATION = "invitation", "Another app's invitation"

    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        register_kinds(
            Clash,
            order=10,
            variables=kinds.VARIABLES,
            defaults=kinds.DEFAULTS,
            required=kinds.REQUIRED,
        )

    class Incomplete(models.TextChoices):
        NEW = "not_described", "Not described"

    with pytest.raises(ImproperlyConfigured, match="needs variables and a default"):
        register_kinds(Incomplete, order=99, variables={}, defaults={})
    assert kinds.choices() == before
