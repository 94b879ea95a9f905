import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from invitations.email_kinds import EmailKind as InvitationEmail
from pairing_admin.mail.models import OutboundEmail, Suppression
from programs.email_kinds import EmailKind as ProgramEmail
from programs.emails import EMAIL_RESENT
from programs.models import ActivityEvent
from tests import factories

Status = OutboundEmail.Status


def _email(program, n: int, **fields) -> OutboundEmail:
    defaults = {
        "kind": ProgramEmail.SUPPORT_REQUEST,
        "idempotency_key": f"log-test:{program.pk}:{n}",
        "to_email": f"person{n}@example.org",
        "to_name": f"Person {n}",
        "subject": f"Subject {n}",
        "body_text": f"Body {n}",
        "status": Status.SENT,
        "attempts": 1,
    }
    return OutboundEmail.objects.create(program=program, **{**defaults, **fields})


def _url(program):
    url = reverse("email_log:list", kwargs={"program_id": program.pk})
    return url


def _resend_url(program, email):
    return reverse("email_log:resend", kwargs={"program_id": program.pk, "email_id": email.pk})


def test_log_lists_the_programs_emails_with_status_attempts_and_error(
    program, org_admin_client, other_org
):
    _email(program, 1)
    _email(program, 2, status=Status.FAILED, attempts=3, last_error="550 5.1.1 No such user")
    elsewhere = factories.ProgramFactory(organization=other_org)
    _email(elsewhere, 3, to_email="stranger@example.org")

    response = org_admin_client.get(_url(program))

    body = response.content.decode()
    assert response.status_code == 200
    assert "person1@example.org" in body and "person2@example.org" in body
    assert "550 5.1.1 No such user" in body
    assert "stranger@example.org" not in body
    assert (
        body.count(
            'action="'
            + _resend_url(program, OutboundEmail.objects.get(to_email="person2@example.org"))
        )
        == 1
    )
    assert "Sent: 1" in body and "Failed: 1" in body


def test_log_filters_by_status_kind_and_recipient(program, org_admin_client):
    _email(program, 1)
    _email(program, 2, status=Status.FAILED)
    _email(program, 3, kind=InvitationEmail.INVITATION, to_email="ada@example.org", to_name="Ada")
    url = _url(program)

    failed = org_admin_client.get(url, {"status": "failed"}).content.decode()
    assert "person2@example.org" in failed and "person1@example.org" not in failed

    invitations = org_admin_client.get(url, {"kind": "invitation"}).content.decode()
    assert "ada@example.org" in invitations and "person1@example.org" not in invitations

    search = org_admin_client.get(url, {"q": "ADA"}).content.decode()
    assert "ada@example.org" in search and "person2@example.org" not in search

    bogus = org_admin_client.get(url, {"status": "nonsense"})
    assert bogus.status_code == 200  # an unknown filter value is ignored


def test_log_htmx_request_gets_only_the_results(program, org_admin_client):
    _email(program, 1)
    response = org_admin_client.get(
        _url(program), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="email-log-results"
    )
    body = response.content.decode()
    assert 'id="email-log-results"' in body and "<nav" not in body


@pytest.mark.parametrize("size", [3, 70])
def test_log_query_count_does_not_grow_with_the_number_of_emails(
    program, org_admin_client, django_assert_num_queries, size
):
    for n in range(size):
        _email(program, n, status=Status.FAILED if n % 2 else Status.SENT)
    Suppression.objects.create(email="person1@example.org", reason="bounced")
    # session, user, membership check, program, status counts (which give the
    # total), the page's ids, its rows (suppression is a subquery), then the
    # session save (3: savepoint)
    with django_assert_num_queries(10):
        response = org_admin_client.get(_url(program))
    assert response.status_code == 200
    assert response.content.decode().count("<tr>") == min(size, 50) + 1


@pytest.mark.parametrize("query", [{}, {"status": "failed"}, {"kind": "invitation"}])
def test_a_deep_page_holds_the_rows_a_plain_slice_of_the_log_would(
    program, org_admin_client, query
):
    from pairing_admin.mail.selectors import outbox_log

    for n in range(130):
        _email(program, n, status=Status.FAILED if n % 3 else Status.SENT,
               kind="invitation" if n % 4 else ProgramEmail.SUPPORT_REQUEST)  # fmt: skip
    response = org_admin_client.get(_url(program), {**query, "page": "2"})
    page = response.context["page"]
    expected = outbox_log(program=program, **query)
    assert [e.pk for e in page.object_list] == [e.pk for e in expected[50:100]]
    assert page.paginator.count == expected.count()
    assert all(hasattr(e, "suppressed_address") for e in page.object_list)


def test_a_search_is_counted_only_up_to_the_limit(program, org_admin_client, monkeypatch):
    from pairing_admin.mail import selectors

    monkeypatch.setattr(selectors, "SEARCH_COUNT_LIMIT", 3)
    for n in range(5):
        _email(program, n, to_name=f"Ann Lee {n}")
    _email(program, 9, to_name="Bo Chen")
    body = org_admin_client.get(_url(program), {"q": "lee"}).content.decode()
    # The first 3 are listed, and the page says there are more.
    assert "3+ emails" in body and body.count("Ann Lee") == 3
    assert "add a word to narrow the search" in body
    body = org_admin_client.get(_url(program), {"q": "chen"}).content.decode()
    assert "1 email<" in body


def test_pagination_keeps_the_filters(program, org_admin_client):
    for n in range(60):
        _email(program, n, status=Status.FAILED)
    body = org_admin_client.get(_url(program), {"status": "failed"}).content.decode()
    assert "?status=failed&amp;page=2" in body


def test_resend_requeues_the_failed_email_and_sends_it_once(
    program, org_admin, org_admin_client, smtp_server, django_capture_on_commit_callbacks
):
    email = _email(program, 1, status=Status.FAILED, attempts=2, last_error="550 mailbox full")
    with django_capture_on_commit_callbacks(execute=True):
        response = org_admin_client.post(_resend_url(program, email), {"status": "failed"})
    assert response.status_code == 302
    assert response.url == _url(program) + "?status=failed"
    email.refresh_from_db()
    assert email.status == Status.SENT and email.attempts == 1  # a fresh count from the resend
    assert email.last_error == (
        f"Resent by {org_admin.get_username()} after 2 attempts: 550 mailbox full"
    )  # the history stays
    assert [str(m["To"]) for m in smtp_server.messages] == ["Person 1 <person1@example.org>"]
    event = ActivityEvent.objects.get(program=program, verb=EMAIL_RESENT)
    assert event.actor == org_admin and "person1@example.org" in event.detail


def test_resend_after_the_sender_gave_up_gets_a_fresh_set_of_retries(
    program, org_admin, smtp_server
):
    from pairing_admin.mail.outbox import outbox_resend
    from pairing_admin.mail.sending import MAX_ATTEMPTS, outbox_send_batch

    email = _email(
        program,
        1,
        status=Status.FAILED,
        attempts=MAX_ATTEMPTS,
        last_error=f"Gave up after {MAX_ATTEMPTS} attempts: 451 busy",
    )
    outbox_resend(program=program, email_id=email.pk, user=org_admin)
    email.refresh_from_db()
    assert (email.status, email.attempts, email.next_attempt_at) == (Status.QUEUED, 0, None)
    assert email.last_error.startswith(f"Resent by {org_admin.get_username()} after 8 attempts")
    smtp_server.refuse["person1@example.org"] = "451 4.3.0 still busy"
    outbox_send_batch([email.pk])
    email.refresh_from_db()
    # Retried later like any new email, not given up after one more try.
    assert (email.status, email.attempts) == (Status.QUEUED, 1)
    assert email.next_attempt_at is not None and "451" in email.last_error


def test_resend_twice_sends_one_email(
    program, org_admin_client, smtp_server, django_capture_on_commit_callbacks
):
    email = _email(program, 1, status=Status.FAILED)
    smtp_server.refuse["person1@example.org"] = "451 4.3.0 try later"
    with django_capture_on_commit_callbacks(execute=True):
        org_admin_client.post(_resend_url(program, email))
    email.refresh_from_db()
    assert email.status == Status.QUEUED  # waiting for its retry
    with django_capture_on_commit_callbacks(execute=True):
        response = org_admin_client.post(_resend_url(program, email), follow=True)
    assert "Only failed emails can be sent again" in response.content.decode()
    assert OutboundEmail.objects.count() == 1
    assert ActivityEvent.objects.filter(verb=EMAIL_RESENT).count() == 1


def test_resend_does_not_bypass_suppression(
    program, org_admin_client, smtp_server, django_capture_on_commit_callbacks
):
    email = _email(program, 1, status=Status.FAILED)
    Suppression.objects.create(email="person1@example.org", reason="bounced")
    body = org_admin_client.get(_url(program)).content.decode()
    assert _resend_url(program, email) not in body  # no button
    with django_capture_on_commit_callbacks(execute=True):
        response = org_admin_client.post(_resend_url(program, email), follow=True)
    assert "no longer send to it" in response.content.decode()
    email.refresh_from_db()
    assert email.status == Status.FAILED
    assert smtp_server.messages == []


def test_resend_of_a_sent_email_is_refused(program, org_admin_client, smtp_server):
    email = _email(program, 1)
    response = org_admin_client.post(_resend_url(program, email), follow=True)
    assert "Only failed emails can be sent again" in response.content.decode()
    assert smtp_server.messages == []


def test_resend_cannot_reach_another_programs_email(program, org_admin_client, org, smtp_server):
    other_program = factories.ProgramFactory(organization=org)
    email = _email(other_program, 1, status=Status.FAILED)
    response = org_admin_client.post(_resend_url(program, email), follow=True)
    assert "no such email" in response.content.decode()
    email.refresh_from_db()
    assert email.status == Status.FAILED


def test_resend_answers_get_with_405_and_outsiders_with_404(
    program, org_admin_client, other_admin_client
):
    email = _email(program, 1, status=Status.FAILED)
    assert org_admin_client.get(_resend_url(program, email)).status_code == 405
    assert other_admin_client.post(_resend_url(program, email)).status_code == 404
    email.refresh_from_db()
    assert email.status == Status.FAILED


def test_the_sideways_scrolling_table_can_be_reached_by_keyboard_and_is_named(
    program, org_admin_client
):
    _email(program, 1)
    html = org_admin_client.get(_url(program)).content.decode()
    assert (
        f'<div class="table-scroll" role="region" aria-label="Emails of {program.name}" '
        'tabindex="0">' in html
    )


def _css_classes_with(pattern: str) -> set[str]:
    """Classes of app.css whose rule matches `pattern` (a declaration)."""
    css = Path(settings.BASE_DIR, "static", "css", "app.css").read_text()
    classes = set()
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", css):
        if re.search(pattern, body):
            classes.update(re.findall(r"\.([\w-]+)", selectors))
    return classes


def _template_tags(tag_pattern: str) -> list[tuple[str, str]]:
    return [
        (path.name, tag)
        for path in Path(settings.BASE_DIR, "templates").rglob("*.html")
        for tag in re.findall(tag_pattern, path.read_text())
    ]


def _classes(tag: str) -> set[str]:
    found = re.search(r'class="([^"]*)"', tag)
    return set(found.group(1).split()) if found else set()


def test_every_sideways_scrolling_region_in_the_templates_is_focusable_and_named():
    # axe's scrollable-region-focusable: a keyboard user must be able to
    # focus a region that scrolls in order to scroll it. Which classes scroll
    # is read from the stylesheet, so a new one is checked too.
    scrolling = _css_classes_with(r"overflow(-x|-y)?:\s*(auto|scroll)")
    assert {"table-scroll", "csv-example"} <= scrolling
    regions = [
        (name, tag)
        for name, tag in _template_tags(r"<[a-z]+\b[^>]*\bclass=\"[^\"]*\"[^>]*>")
        if _classes(tag) & scrolling
    ]
    assert len(regions) >= 18
    assert any(tag.startswith("<pre") for _, tag in regions)
    for name, tag in regions:
        assert 'tabindex="0"' in tag and 'role="region"' in tag, (name, tag)
        assert re.search(r'aria-label="[^"]+"', tag), (name, tag)


def test_every_pre_block_wraps_or_scrolls_as_a_named_region():
    # A <pre> keeps its long lines: it either wraps them (the stylesheet says
    # so for its class) or scrolls, and then it is a region a keyboard reaches
    # (the test above); one with neither would spill out of a phone's screen.
    wrapping = _css_classes_with(r"white-space:\s*pre-wrap")
    scrolling = _css_classes_with(r"overflow(-x)?:\s*(auto|scroll)")
    blocks = _template_tags(r"<pre\b[^>]*>")
    assert len(blocks) >= 3
    for name, tag in blocks:
        assert _classes(tag) & (wrapping | scrolling), (name, tag)
