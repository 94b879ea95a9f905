from django.urls import reverse

from programs.models import ActivityEvent, Integration
from programs.selectors import email_provider_in_use, integration_rows
from programs.services import integration_update
from tests import factories

HTMX_ROW = {"HX-Request": "true", "HX-Target": "integration-slack"}


def _url(organization, program=None) -> str:
    url = reverse("programs:integrations", kwargs={"organization_id": organization.pk})
    return f"{url}?program={program.pk}" if program else url


def _post(client, organization, kind="slack", status="in_progress", notes="", program=None, **kw):
    return client.post(
        _url(organization, program),
        {"kind": kind, f"{kind}-status": status, f"{kind}-notes": notes},
        **kw,
    )


def test_every_kind_is_listed_as_not_started_without_writing_rows(org, program, org_admin_client):
    response = org_admin_client.get(_url(org, program))

    html = response.content.decode()
    assert response.status_code == 200
    for label in (
        "SSO / SAML",
        "HRIS or directory sync",
        "Slack",
        "Microsoft Teams",
        "Google Calendar",
        "Outlook Calendar",
        "Email provider",
    ):
        assert f">{label}</h2>" in html, label
    assert html.count(">Not started</span>") == 7
    assert not Integration.objects.exists()
    assert [row.pk for row in integration_rows(org)] == [None] * 7


def test_page_links_back_to_the_program_it_was_reached_from(org, program, org_admin_client):
    html = org_admin_client.get(_url(org, program)).content.decode()

    assert f'href="{reverse("programs:pairing", kwargs={"program_id": program.pk})}"' in html


def test_a_program_of_another_organization_is_not_offered_as_the_way_back(
    org, other_org, program, org_admin_client
):
    foreign = factories.ProgramFactory(organization=other_org, name="Foreign cohort")

    html = org_admin_client.get(_url(org, foreign)).content.decode()

    assert "Foreign cohort" not in html
    assert "Back to the launch checklist" not in html


def test_saving_records_status_notes_who_and_when(org, program, org_admin, org_admin_client):
    response = _post(org_admin_client, org, notes="  Waiting on IT  ", program=program)

    assert response.status_code == 302
    assert response.url == _url(org, program) + "#integration-slack"
    slack = Integration.objects.get(organization=org, kind="slack")
    assert (slack.status, slack.notes, slack.updated_by) == (
        "in_progress",
        "Waiting on IT",
        org_admin,
    )
    assert slack.updated_at is not None
    html = org_admin_client.get(response.url).content.decode()
    assert f"Last changed by {org_admin.username}" in html
    assert "Slack saved." in html


def test_a_change_is_logged_on_every_program_of_the_organization(org, program, org_admin):
    second = factories.ProgramFactory(organization=org)
    factories.ProgramFactory()  # another organization's program hears nothing

    integration_update(organization=org, kind="slack", status="connected", notes="", user=org_admin)
    integration_update(
        organization=org, kind="slack", status="connected", notes="Workspace live", user=org_admin
    )

    for p in (program, second):
        assert list(p.activity.values_list("verb", "detail")) == [
            ("integration_changed", "Slack: notes changed"),
            ("integration_changed", "Slack: Not started → Connected"),
        ]
    assert ActivityEvent.objects.count() == 4


def test_saving_the_same_values_again_changes_and_logs_nothing(org, program, org_admin_client):
    _post(org_admin_client, org, notes="x")
    first = Integration.objects.get(kind="slack").updated_at

    _post(org_admin_client, org, notes="x")

    assert Integration.objects.get(kind="slack").updated_at == first
    assert ActivityEvent.objects.count() == 1


def test_invalid_status_is_shown_and_nothing_is_saved(org, program, org_admin_client):
    response = _post(org_admin_client, org, status="done-ish")

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Integration.objects.exists()


def test_unknown_kind_is_404(org, org_admin_client):
    assert _post(org_admin_client, org, kind="fax").status_code == 404


def test_saving_with_htmx_swaps_only_that_integration(org, program, org_admin_client):
    response = _post(org_admin_client, org, program=program, headers=HTMX_ROW)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card integration" id="integration-slack"')
    assert "Saved." in html
    assert ">In progress</span>" in html
    assert "integration-sso" not in html
    assert f"?program={program.pk}" in html  # the form keeps the way back


def test_invalid_htmx_save_returns_the_row_with_its_error(org, org_admin_client):
    response = _post(org_admin_client, org, status="nope", headers=HTMX_ROW)

    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card integration" id="integration-slack"')
    assert "Select a valid choice" in html


def test_another_organizations_admin_cannot_change_integrations(org, other_admin_client):
    assert _post(other_admin_client, org).status_code == 404
    assert other_admin_client.get(_url(org)).status_code == 404
    assert not Integration.objects.exists()


def test_email_provider_row_shows_what_the_deployment_uses(org, org_admin_client, settings):
    settings.EMAIL_PROVIDER = ""
    assert email_provider_in_use() == (
        "Emails are kept in the outbox and printed (no provider configured)"
    )
    settings.EMAIL_PROVIDER = "postmark"
    assert email_provider_in_use() == "Postmark (through django-anymail)"

    settings.EMAIL_PROVIDER = "smtp"
    settings.EMAIL_HOST = "mail.example.org"
    settings.EMAIL_PORT = 587
    settings.EMAIL_HOST_USER = "relay-user"
    settings.EMAIL_HOST_PASSWORD = "s3cret-value"
    html = org_admin_client.get(_url(org)).content.decode()

    row = html[html.index('id="integration-email_provider"') :]
    assert "In use on this deployment: <strong>SMTP via mail.example.org:587</strong>" in row
    assert "s3cret-value" not in html
    assert "relay-user" not in html


def test_checklist_links_to_the_organizations_integrations(org, program, org_admin_client):
    html = org_admin_client.get(
        reverse("programs:pairing", kwargs={"program_id": program.pk})
    ).content.decode()

    assert f'href="{_url(org, program)}"' in html
