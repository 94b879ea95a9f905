"""The mentor's Approve / Decline links: look on GET, act only on the POST from the page."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from pairing import services
from pairing.email_kinds import EmailKind
from pairing.models import MentorRequest, Pairing
from pairing_admin.mail.links import Purpose, link_create
from pairing_admin.mail.models import AccessLink, OutboundEmail
from programs.models import Participant, Program
from tests import factories

Status = MentorRequest.Status
LINK = re.compile(r"https?://[^\s<>\"]+")


@pytest.fixture
def live_program(org):
    return factories.ProgramFactory(organization=org, pairing_enabled=True)


@pytest.fixture
def pending(live_program):
    mentee = factories.ParticipantFactory(program=live_program, goals=["Negotiation"])
    mentor = factories.MentorFactory(program=live_program)
    return services.preferences_submit(
        mentee=mentee, mentor_ids=[mentor.pk], note="Would love your help"
    ).request


def _links(request):
    links = {}
    for purpose in (Purpose.APPROVE, Purpose.DECLINE):
        _, raw = link_create(
            purpose=purpose, participant=request.mentor, expires_at=request.expires_at,
            object_id=request.pk,
        )  # fmt: skip
        links[purpose] = f"/r/{raw}/"
    return links


def test_get_and_head_show_a_confirmation_and_change_nothing(pending, client):
    links = _links(pending)
    response = client.get(links[Purpose.APPROVE])
    html = response.content.decode()
    assert response.status_code == 200
    assert "Approve and pair us" in html and "Would love your help" in html
    assert "Negotiation" in html and "Please answer by" in html
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "no-referrer"
    assert client.head(links[Purpose.DECLINE]).status_code == 200
    assert "I&#x27;m unavailable for now" in client.get(links[Purpose.DECLINE]).content.decode()
    pending.refresh_from_db()
    assert pending.status == Status.PENDING
    assert not AccessLink.objects.filter(used_at__isnull=False).exists()


def test_post_approves_and_a_replay_says_when(pending, client):
    links = _links(pending)
    response = client.post(links[Purpose.APPROVE])
    assert response.status_code == 302
    assert Pairing.objects.get().request_id == pending.pk
    html = client.get(links[Purpose.APPROVE]).content.decode()
    assert f"You're paired with {pending.mentee.full_name}" in html and "You approved" in html
    # The decline link of the same request now only says it is closed.
    html = client.get(links[Purpose.DECLINE]).content.decode()
    assert "was already approved on" in html and "Decline the request" not in html
    assert client.post(links[Purpose.DECLINE]).status_code == 200
    pending.refresh_from_db()
    assert pending.status == Status.APPROVED
    assert OutboundEmail.objects.filter(kind=EmailKind.ASSIGNMENT).count() == 2


def test_decline_with_message_and_unavailable_for_now(pending, client):
    links = _links(pending)
    response = client.post(
        links[Purpose.DECLINE], {"message": "On leave until June", "unavailable": "on"}
    )
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == Status.DECLINED and pending.decline_message == "On leave until June"
    assert Participant.objects.get(pk=pending.mentor_id).accepting_requests is False
    email = OutboundEmail.objects.get(kind=EmailKind.REQUEST_DECLINED)
    assert "On leave until June" in email.body_text
    assert "You declined" in client.get(links[Purpose.DECLINE]).content.decode()


def test_bad_links_get_one_neutral_page_and_change_nothing(pending, client):
    links = _links(pending)
    _, expired = link_create(
        purpose=Purpose.APPROVE, participant=pending.mentor,
        expires_at=timezone.now() - timedelta(seconds=1), object_id=pending.pk,
    )  # fmt: skip
    _, someone_else = link_create(
        purpose=Purpose.APPROVE, participant=pending.mentee,
        expires_at=pending.expires_at, object_id=pending.pk,
    )  # fmt: skip
    _, preference = link_create(
        purpose=Purpose.PREFERENCES, participant=pending.mentor, expires_at=pending.expires_at
    )
    tampered = links[Purpose.APPROVE][:-3] + "xy/"
    for url in (f"/r/{expired}/", f"/r/{someone_else}/", f"/r/{preference}/", tampered):
        for response in (client.get(url), client.post(url)):
            assert response.status_code == 404, url
            assert "This link can't be used" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == Status.PENDING and not Pairing.objects.exists()


def test_full_mentor_sees_why_approval_failed(pending, client):
    Participant.objects.filter(pk=pending.mentor_id).update(capacity=0)
    response = client.post(_links(pending)[Purpose.APPROVE])
    assert response.status_code == 409 and "can&#x27;t be approved" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == Status.PENDING


def _state():
    return (
        sorted(MentorRequest.objects.values_list("pk", "status")),
        sorted(Pairing.objects.values_list("pk", "status")),
        sorted(AccessLink.objects.values_list("pk", "used_at")),
        OutboundEmail.objects.count(),
        sorted(Participant.objects.values_list("pk", "accepting_requests")),
    )


@pytest.mark.parametrize("after_decline", list(Program.AfterDecline))
def test_mail_scanner_following_every_emailed_link_changes_nothing(live_program, after_decline):
    """HEAD and GET on every link in every email so far, from a client with no cookies."""
    Program.objects.filter(pk=live_program.pk).update(after_decline=after_decline)
    mentors = factories.MentorFactory.create_batch(3, program=live_program)
    ids = [m.pk for m in mentors]
    first = services.preferences_submit(
        mentee=factories.ParticipantFactory(program=live_program), mentor_ids=ids
    ).request
    services.request_decline(request_id=first.pk, message="Busy")  # choose-again or forward
    second = services.preferences_submit(
        mentee=factories.ParticipantFactory(program=live_program), mentor_ids=ids[1:]
    ).request
    services.request_approve(request_id=second.pk)
    reminded = services.preferences_submit(
        mentee=factories.ParticipantFactory(program=live_program), mentor_ids=ids[2:]
    ).request
    MentorRequest.objects.filter(pk=reminded.pk).update(
        created_at=timezone.now() - timedelta(days=2),
        expires_at=timezone.now() + timedelta(hours=3),
    )
    assert services.requests_remind_due() == {"reminded": 1}
    kinds = set(OutboundEmail.objects.values_list("kind", flat=True))
    assert {EmailKind.MENTOR_REQUEST, EmailKind.ASSIGNMENT, EmailKind.REQUEST_REMINDER} <= kinds
    urls = set()
    for body in OutboundEmail.objects.values_list("body_text", flat=True):
        urls.update(LINK.findall(body))
    assert len(urls) >= 8
    before = _state()
    for url in sorted(urls):
        path = url.split("://", 1)[1].split("/", 1)[1]
        scanner = Client()  # no cookies, no session, new every time
        for method in (scanner.head, scanner.get):
            assert method(f"/{path}").status_code in (200, 404), url
    assert _state() == before


def test_posts_work_with_the_null_origin_browsers_send_under_no_referrer(pending):
    """Referrer-Policy: no-referrer makes browsers post "Origin: null"; the token is the credential."""
    client = Client(enforce_csrf_checks=True, HTTP_ORIGIN="null")
    response = client.post(_links(pending)[Purpose.APPROVE])
    assert response.status_code == 302
    assert Pairing.objects.filter(request=pending).exists()
