import pytest
from django.urls import reverse

from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.models import OutboundEmail
from programs.email_kinds import EmailKind
from programs.models import ActivityEvent, LaunchStep, SupportRequest
from programs.services import launch_step_mark_done
from programs.support import support_request_submit
from tests.support.smtp import text_of

HTMX_PANEL = {"HX-Request": "true", "HX-Target": "support-panel"}


def _url(program) -> str:
    return reverse("invitations:support_request", kwargs={"program_id": program.pk})


@pytest.fixture
def named_admin(org_admin):
    org_admin.first_name, org_admin.last_name = "Ada", "Lovelace"
    org_admin.email = "ada@customer.example.org"
    org_admin.save()
    return org_admin


def test_submit_stores_the_request_and_queues_one_email_to_the_advisor(program, named_admin):
    request = support_request_submit(
        program=program, user=named_admin, subject="Launch date", message="Can we go on Monday?"
    )

    stored = SupportRequest.objects.get()
    assert stored == request
    assert (stored.program, stored.sent_by, stored.subject, stored.message, stored.to_email) == (
        program,
        named_admin,
        "Launch date",
        "Can we go on Monday?",
        "advisor@support.example.com",
    )
    email = OutboundEmail.objects.get()
    assert email.kind == EmailKind.SUPPORT_REQUEST
    assert email.idempotency_key == f"support:{request.pk}"
    assert email.to_email == "advisor@support.example.com"
    assert email.reply_to == "ada@customer.example.org"
    assert email.subject == f"[{program.organization.name}] Launch date"
    for text in (program.name, "Ada Lovelace", "ada@customer.example.org", "Can we go on Monday?"):
        assert text in email.body_text, text
    assert list(ActivityEvent.objects.values_list("verb", "actor", "detail")) == [
        (
            ActivityEvent.Verb.SUPPORT_REQUEST_SENT,
            named_admin.pk,
            "“Launch date” to advisor@support.example.com",
        )
    ]


def test_success_manager_receives_the_request_when_the_organization_has_one(
    org, program, named_admin
):
    org.success_manager_email = "csm@support.example.com"
    org.save()

    support_request_submit(program=program, user=named_admin, subject="Hi", message="Hello")

    assert OutboundEmail.objects.get().to_email == "csm@support.example.com"
    assert SupportRequest.objects.get().to_email == "csm@support.example.com"


def test_without_any_address_nothing_is_written(org, program, named_admin):
    org.support_advisor_email = ""
    org.save()

    with pytest.raises(DomainError, match="no support advisor address"):
        support_request_submit(program=program, user=named_admin, subject="Hi", message="Hello")

    assert not SupportRequest.objects.exists()
    assert not OutboundEmail.objects.exists()
    assert not ActivityEvent.objects.exists()


def test_the_email_goes_out_over_smtp_with_reply_to_the_admin(
    program, named_admin, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        support_request_submit(
            program=program, user=named_admin, subject="Question", message="About SSO"
        )

    (message,) = smtp_server.wait_for(1)
    assert str(message["To"]) == "advisor@support.example.com"
    assert str(message["Reply-To"]) == "ada@customer.example.org"
    assert "About SSO" in text_of(message)
    assert OutboundEmail.objects.get().status == OutboundEmail.Status.SENT


def test_form_page_says_who_receives_the_request(program, org_admin_client):
    html = org_admin_client.get(_url(program)).content.decode()

    assert "Contact Your Customer Support Advisor" in html
    assert "advisor@support.example.com" in html
    assert 'name="subject"' in html and 'name="message"' in html


def test_form_page_without_an_address_explains_and_offers_no_form(org, program, org_admin_client):
    org.support_advisor_email = ""
    org.save()

    html = org_admin_client.get(_url(program)).content.decode()

    assert "no support advisor address yet" in html
    assert 'name="message"' not in html


def test_sending_redirects_and_offers_to_mark_the_step_done(program, named_admin, org_admin_client):
    response = org_admin_client.post(_url(program), {"subject": "Launch", "message": "All set?"})

    request = SupportRequest.objects.get()
    assert response.status_code == 302
    assert response.url == f"{_url(program)}?sent={request.pk}"
    html = org_admin_client.get(response.url).content.decode()
    assert "“Launch” is on its way to advisor@support.example.com" in html
    mark = reverse(
        "programs:pairing_step_done",
        kwargs={"program_id": program.pk, "step": "support_advisor"},
    )
    assert f'action="{mark}"' in html
    assert "Mark this step as done" in html

    org_admin_client.post(mark)
    assert LaunchStep.objects.filter(program=program, step="support_advisor").exists()
    html = org_admin_client.get(response.url).content.decode()
    assert "This step is already marked done" in html
    assert "Mark this step as done" not in html


def test_sending_with_htmx_swaps_only_the_panel(program, named_admin, org_admin_client):
    response = org_admin_client.post(
        _url(program), {"subject": "Launch", "message": "All set?"}, headers=HTMX_PANEL
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="support-panel"')
    assert "Mark this step as done" in html
    assert 'name="subject" value="Launch"' not in html  # a fresh form for the next one
    assert SupportRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"subject": "", "message": "Hello"}, "This field is required."),
        ({"subject": "Hi", "message": ""}, "This field is required."),
        ({"subject": "x" * 151, "message": "Hello"}, "at most 150 characters"),
        ({"subject": "Hi", "message": "x" * 5001}, "at most 5000 characters"),
        ({"subject": "Two\nlines", "message": "Hello"}, "single line"),
    ],
)
def test_invalid_requests_are_refused_and_nothing_is_written(
    program, org_admin_client, data, error
):
    response = org_admin_client.post(_url(program), data)

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not SupportRequest.objects.exists()
    assert not OutboundEmail.objects.exists()


def test_posting_without_an_address_shows_the_reason(org, program, org_admin_client):
    org.support_advisor_email = ""
    org.save()

    response = org_admin_client.post(_url(program), {"subject": "Hi", "message": "Hello"})

    assert "no support advisor address yet" in response.content.decode()
    assert not SupportRequest.objects.exists()


def test_a_sent_id_from_another_program_shows_nothing(program, named_admin, org_admin_client):
    from tests import factories

    other = factories.ProgramFactory(organization=program.organization)
    request = support_request_submit(program=other, user=named_admin, subject="Other", message="x")

    html = org_admin_client.get(f"{_url(program)}?sent={request.pk}").content.decode()

    assert "“Other”" not in html
    assert "Mark this step as done" not in html


def test_the_checklist_shows_the_last_request(program, named_admin, org_admin_client):
    launch_step_mark_done(program=program, step="integrations", user=named_admin)
    support_request_submit(program=program, user=named_admin, subject="Timing", message="x")

    html = org_admin_client.get(
        reverse("programs:pairing", kwargs={"program_id": program.pk})
    ).content.decode()

    assert "Last request: “Timing”, sent by Ada Lovelace" in html
    assert f'href="{_url(program)}"' in html
