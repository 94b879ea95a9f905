import pytest
from django.urls import reverse

from invitations.email_kinds import EmailKind as InvitationEmail
from pairing_admin.mail.models import EmailTemplate
from pairing_admin.mail.outbox import Draft, outbox_add
from pairing_admin.mail.rendering import Template, TemplateError, render, validate_template
from programs.email_kinds import EmailKind as ProgramEmail
from tests import factories

KIND = InvitationEmail.INVITATION
GOOD = Template(subject="Hello {{ first_name }}", text="Go: {{ preferences_link }}")


def _edit_url(program, kind=KIND):
    return reverse("email_templates:edit", kwargs={"program_id": program.pk, "kind": kind})


@pytest.mark.parametrize(
    ("field", "source", "says"),
    [
        ("text", "{{ settings.SECRET_KEY }}", "only placeholders"),
        ("text", "{{ program.organization.name }}", "only placeholders"),
        ("text", "{% load static %}", "only placeholders"),
        ("text", "{% include 'base.html' %}", "only placeholders"),
        ("text", "{{ first_name|upper }}", "only placeholders"),
        ("text", "{{ __class__ }}", "unknown placeholder"),
        ("text", "{{ first_name.__class__.__mro__ }}", "only placeholders"),
        ("text", "{{ secret_key }}", "unknown placeholder"),
        ("text", "{% if x %}hi{% endif %}", "only placeholders"),
        ("text", "{# comment #}", "only placeholders"),
        ("text", "{{ mentor_name }}", "unknown placeholder"),  # not a variable of invitations
        ("subject", "Hi\nBcc: victim@example.org", "single line"),
        ("text", "", "cannot be empty"),
    ],
)
def test_unsafe_or_unknown_template_is_rejected_at_save(field, source, says):
    template = Template(
        subject=source if field == "subject" else GOOD.subject,
        text=source if field == "text" else GOOD.text,
    )
    with pytest.raises(TemplateError) as caught:
        validate_template(KIND, template)
    assert says in str(caught.value)


def test_huge_format_widths_render_as_plain_text():
    widths = "%(first_name)999999999s {first_name:>99999999}"
    template = Template(subject="{0:>999999999}", text=widths + " {{ preferences_link }}")
    validate_template(KIND, template)
    subject, text, _ = render(KIND, template, {"first_name": "Ada", "preferences_link": "L"})
    assert subject == "{0:>999999999}"
    assert text == widths + " L"


def test_values_are_escaped_in_html_and_kept_on_one_line_in_subjects():
    template = Template(subject="For {{ first_name }}", text="Hi {{ first_name }}")
    name = "<script>alert(1)</script>\r\nBcc: x@example.org"
    subject, _text, body_html = render(KIND, template, {"first_name": name})
    assert "\n" not in subject and "\r" not in subject
    assert "<script>" not in body_html and "&lt;script&gt;" in body_html
    custom_html = Template(subject="s", text="t", html="<p>{{ first_name }}</p>")
    assert "&lt;script&gt;" in render(KIND, custom_html, {"first_name": name})[2]


def test_admin_saves_a_valid_template_and_the_outbox_uses_it(
    program, org_admin_client, smtp_server
):
    response = org_admin_client.post(
        _edit_url(program),
        {
            "subject": "Pick a mentor, {{ first_name }}",
            "body_text": "Here: {{ preferences_link }}",
            "action": "save",
        },
    )
    assert response.status_code == 302
    saved = EmailTemplate.objects.get(program=program, kind=KIND)
    assert saved.subject == "Pick a mentor, {{ first_name }}"
    outbox_add(
        [
            Draft(
                kind=KIND,
                key="k1",
                to_email="m@example.org",
                values={"first_name": "Mo", "preferences_link": "L"},
            )
        ],
        program=program,
    )
    from pairing_admin.mail.models import OutboundEmail

    row = OutboundEmail.objects.get()
    # The program's brand signs the text (mail.branding).
    assert row.subject == "Pick a mentor, Mo" and row.body_text.startswith("Here: L\n\n-- \n")


def test_invalid_template_is_not_saved_and_the_error_is_shown(program, org_admin_client):
    response = org_admin_client.post(
        _edit_url(program),
        {"subject": "Hi", "body_text": "{{ settings.SECRET_KEY }}", "action": "save"},
    )
    assert response.status_code == 400
    assert "Not saved." in response.content.decode()
    assert not EmailTemplate.objects.exists()


def test_preview_does_not_save(program, org_admin_client):
    response = org_admin_client.post(
        _edit_url(program),
        {"subject": "Draft {{ first_name }}", "body_text": "Draft", "action": "preview"},
    )
    assert response.status_code == 200
    assert "Draft Alex" in response.content.decode()
    assert not EmailTemplate.objects.exists()


def test_preview_with_a_real_participant_of_the_program(program, org_admin_client):
    person = factories.ParticipantFactory(program=program, first_name="Zelda")
    response = org_admin_client.get(_edit_url(program) + f"?participant={person.pk}")
    assert "Zelda" in response.content.decode()
    assert 'sandbox=""' in response.content.decode()


def test_preview_never_shows_another_organizations_participant(program, org_admin_client):
    stranger = factories.ParticipantFactory(first_name="Quentinstranger")
    response = org_admin_client.get(_edit_url(program) + f"?participant={stranger.pk}")
    assert response.status_code == 200
    assert "Quentinstranger" not in response.content.decode()


def test_reset_to_default_removes_the_custom_version(program, org_admin, org_admin_client):
    EmailTemplate.objects.create(program=program, kind=KIND, subject="Mine", body_text="Mine")
    response = org_admin_client.post(
        reverse("email_templates:reset", kwargs={"program_id": program.pk, "kind": KIND})
    )
    assert response.status_code == 302
    assert not EmailTemplate.objects.exists()


def test_unknown_kind_is_404(program, org_admin_client):
    assert org_admin_client.get(_edit_url(program, "nonsense")).status_code == 404
    assert org_admin_client.get(_edit_url(program, ProgramEmail.SUPPORT_REQUEST)).status_code == 404


def test_get_never_writes(program, org_admin_client):
    org_admin_client.get(_edit_url(program) + "?subject=x&body_text=y&action=save")
    assert not EmailTemplate.objects.exists()


def test_a_rendered_subject_past_300_characters_is_cut_with_an_ellipsis():
    from pairing_admin.mail.rendering import SUBJECT_MAX, render

    template = Template(subject="Hi {{ first_name }}, welcome", text="t")
    values = {"first_name": "word " * 100}
    subject, _, _ = render(InvitationEmail.INVITATION, template, values)
    assert len(subject) <= SUBJECT_MAX and subject.endswith("word…")
    assert subject.startswith("Hi word word")
    long_word, _, _ = render(InvitationEmail.INVITATION, template, {"first_name": "x" * 400})
    assert long_word == "Hi " + "x" * 296 + "…"  # no word to cut at: cut mid-word
    short, _, _ = render(InvitationEmail.INVITATION, template, {"first_name": "Ann"})
    assert short == "Hi Ann, welcome"


def test_a_subject_over_300_characters_is_refused_at_save_with_a_message(program, org_admin_client):
    response = org_admin_client.post(
        _edit_url(program),
        {"subject": "x" * 301, "body_text": "Hi {{ preferences_link }}", "action": "save"},
    )
    assert response.status_code == 400
    assert "Subject: at most 300 characters" in response.content.decode()
    assert "(this one has 301)" in response.content.decode()
    assert not EmailTemplate.objects.exists()
    saved = org_admin_client.post(
        _edit_url(program),
        {"subject": "x" * 300, "body_text": "Hi {{ preferences_link }}", "action": "save"},
    )
    assert saved.status_code == 302 and EmailTemplate.objects.get().subject == "x" * 300


def test_template_list_shows_the_edit_date_in_the_organizations_timezone(
    program, org_admin, org_admin_client
):
    from datetime import UTC, datetime

    from pairing_admin.mail.email_templates import email_template_save

    program.organization.timezone = "Pacific/Auckland"
    program.organization.save(update_fields=["timezone"])
    saved = email_template_save(
        program=program,
        kind=InvitationEmail.INVITATION,
        template=Template(subject="Hi", text="Go {{ preferences_link }}"),
        user=org_admin,
    )
    # 20:00 UTC on 10 March is 09:00 on 11 March in Auckland.
    EmailTemplate.objects.filter(pk=saved.pk).update(
        updated_at=datetime(2026, 3, 10, 20, tzinfo=UTC)
    )
    html = org_admin_client.get(
        reverse("email_templates:list", kwargs={"program_id": program.pk})
    ).content.decode()
    assert "Edited 11 Mar 2026" in html
