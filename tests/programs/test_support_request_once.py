"""A support request form sends once: a double submit (twice in a row, or two at once)
writes one request, one activity line and one email, and both land on the same "Sent"."""

import re
import threading

import pytest
from django.db import connection
from django.urls import reverse

from pairing_admin.mail.models import OutboundEmail
from programs.email_kinds import EmailKind
from programs.models import ActivityEvent, SupportRequest
from programs.support import support_request_submit
from tests import factories

HTMX_PANEL = {"HX-Request": "true", "HX-Target": "support-panel"}
DATA = {"subject": "Help", "message": "Please call"}


def _url(program) -> str:
    return reverse("invitations:support_request", kwargs={"program_id": program.pk})


def _token(html: str) -> str:
    match = re.search(r'name="form_token" value="([^"]+)"', html)
    assert match, "the form carries a one-time token"
    return match.group(1)


def _written(program) -> tuple[int, int, int]:
    return (
        SupportRequest.objects.filter(program=program).count(),
        OutboundEmail.objects.filter(program=program, kind=EmailKind.SUPPORT_REQUEST).count(),
        ActivityEvent.objects.filter(program=program, verb="support_request_sent").count(),
    )


def test_posting_the_same_form_twice_sends_one_request_and_shows_it_sent_both_times(
    program, org_admin_client
):
    token = _token(org_admin_client.get(_url(program)).content.decode())

    first = org_admin_client.post(_url(program), {**DATA, "form_token": token})
    second = org_admin_client.post(_url(program), {**DATA, "form_token": token})

    request = SupportRequest.objects.get()
    assert first.status_code == second.status_code == 302
    assert first.url == second.url == f"{_url(program)}?sent={request.pk}"
    assert _written(program) == (1, 1, 1)
    html = org_admin_client.get(second.url).content.decode()
    assert "“Help” is on its way to" in html


def test_htmx_double_submit_shows_the_sent_panel_twice_and_a_fresh_token_after(
    program, org_admin_client
):
    token = _token(org_admin_client.get(_url(program)).content.decode())

    responses = [
        org_admin_client.post(_url(program), {**DATA, "form_token": token}, headers=HTMX_PANEL)
        for _ in range(2)
    ]

    assert _written(program) == (1, 1, 1)
    for response in responses:
        html = response.content.decode()
        assert "“Help” is on its way to" in html
        assert _token(html) != token  # the next form on the page is a new submission


def test_each_form_page_is_its_own_request(program, org_admin_client):
    for _ in range(2):
        token = _token(org_admin_client.get(_url(program)).content.decode())
        org_admin_client.post(_url(program), {**DATA, "form_token": token})

    assert _written(program) == (2, 2, 2)


def test_a_refused_post_keeps_its_token_so_the_corrected_one_still_sends_once(
    program, org_admin_client
):
    token = _token(org_admin_client.get(_url(program)).content.decode())

    refused = org_admin_client.post(
        _url(program), {"subject": "", "message": "x", "form_token": token}
    )
    assert _token(refused.content.decode()) == token
    for _ in range(2):
        org_admin_client.post(_url(program), {**DATA, "form_token": token})

    assert _written(program) == (1, 1, 1)


def test_a_token_from_another_program_does_not_hide_this_programs_request(
    program, org_admin, org_admin_client
):
    token = _token(org_admin_client.get(_url(program)).content.decode())
    other = factories.ProgramFactory(organization=program.organization)
    support_request_submit(program=other, user=org_admin, form_token=token, **DATA)

    org_admin_client.post(_url(program), {**DATA, "form_token": token})

    assert _written(program) == (1, 1, 1)


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_submits_at_once_write_one_request_and_one_email(org):
    program = factories.ProgramFactory(organization=org)
    admin = factories.UserFactory()
    for round_number in range(5):
        token = f"concurrent-form-token-{round_number:04d}"
        barrier = threading.Barrier(4)
        results: list = [None] * 4

        def submit(index, token=token, barrier=barrier, results=results):
            try:
                barrier.wait()
                results[index] = support_request_submit(
                    program=program, user=admin, form_token=token, **DATA
                ).pk
            except Exception as exc:  # a crash must show up in the assertion
                results[index] = f"crashed: {type(exc).__name__}: {exc}"
            finally:
                connection.close()

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert len(set(results)) == 1 and isinstance(results[0], int), results
    assert _written(program) == (5, 5, 5)


def test_the_same_page_sent_again_with_other_words_says_so_and_sends_them_on_request(
    program, org_admin_client
):
    token = _token(org_admin_client.get(_url(program)).content.decode())
    org_admin_client.post(_url(program), {**DATA, "form_token": token})

    # Back to the sent page, edit, send: not silently dropped, not silently sent.
    edited = {"subject": "Help, urgent", "message": "Please call today"}
    response = org_admin_client.post(_url(program), {**edited, "form_token": token})

    assert response.status_code == 200
    html = response.content.decode()
    assert "already sent as “Help”, so your changes were not sent" in html
    assert _written(program) == (1, 1, 1)
    fresh = _token(html)
    assert fresh != token
    again = org_admin_client.post(_url(program), {**edited, "form_token": fresh})
    assert again.status_code == 302
    assert _written(program) == (2, 2, 2)
    assert SupportRequest.objects.filter(subject="Help, urgent").count() == 1
