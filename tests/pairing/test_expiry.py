"""The expiry sweep at scale: set-based state change, emails written in bulk in the same transaction."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from pairing import services
from pairing.email_kinds import EmailKind
from pairing.models import MentorRequest
from pairing_admin.mail.links import Purpose
from pairing_admin.mail.models import AccessLink, OutboundEmail
from programs.models import Program
from tests import factories

Status = MentorRequest.Status


def _program(org, **kwargs):
    return factories.ProgramFactory(organization=org, pairing_enabled=True, **kwargs)


def _pending(program, n, *, ranks=1):
    """n pending requests of n mentees, each mentee having ranked `ranks` mentors."""
    mentors = factories.MentorFactory.create_batch(ranks, program=program, capacity=n)
    requests = []
    for i in range(n):
        mentee = factories.ParticipantFactory(program=program, first_name=f"Mentee{i}")
        requests.append(
            services.preferences_submit(mentee=mentee, mentor_ids=[m.pk for m in mentors]).request
        )
    return requests


def _link_in(body: str) -> str:
    return re.search(r"https?://\S+/p/[\w-]+/", body).group(0)


@pytest.mark.parametrize("vendor", ["postgresql", "other"])
def test_each_mentee_gets_their_own_working_link_back_to_the_form(org, vendor, monkeypatch):
    if vendor == "postgresql" and connection.vendor != "postgresql":
        pytest.skip("the set-based link insert is PostgreSQL's")
    program = _program(org)
    requests = _pending(program, 4)
    later = max(r.expires_at for r in requests) + timedelta(seconds=1)
    before = AccessLink.objects.filter(purpose=Purpose.PREFERENCES).count()
    if vendor == "other":
        # The portable path (SQLite), run here against whatever database the tests use.
        monkeypatch.setattr(connection, "vendor", "sqlite", raising=False)
    assert services.requests_expire_due(now=later) == {"expired": 4}
    monkeypatch.undo()
    emails = OutboundEmail.objects.filter(kind=EmailKind.REQUEST_EXPIRED).order_by("to_email")
    assert [e.to_email for e in emails] == sorted(r.mentee.email for r in requests)
    assert AccessLink.objects.filter(purpose=Purpose.PREFERENCES).count() == before + 4
    client = Client()
    for email in emails:
        request = next(r for r in requests if r.mentee.email == email.to_email)
        assert request.mentor.full_name in email.body_text
        assert email.idempotency_key == f"request-expired:{request.pk}"
        page = client.get(urlsplit(_link_in(email.body_text)).path)
        assert page.status_code == 200
        html = page.content.decode()
        assert request.mentee.full_name in html and "lapsed without an answer" in html


def test_programs_with_either_setting_in_one_sweep(org):
    tell = _program(org)
    cascade = _program(org, after_decline=Program.AfterDecline.NEXT_CHOICE)
    told = _pending(tell, 3)
    passed = _pending(cascade, 2, ranks=2)
    later = max(r.expires_at for r in told + passed) + timedelta(seconds=1)
    assert services.requests_expire_due(now=later) == {"expired": 5}
    assert OutboundEmail.objects.filter(kind=EmailKind.REQUEST_EXPIRED).count() == 3
    assert OutboundEmail.objects.filter(kind=EmailKind.REQUEST_FORWARDED).count() == 2
    moved = MentorRequest.objects.filter(program=cascade, status=Status.PENDING)
    assert sorted(r.mentee_id for r in moved) == sorted(r.mentee_id for r in passed)
    assert all(r.rank == 2 for r in moved)


def test_a_sweep_that_fails_leaves_no_state_change_and_no_email(org, monkeypatch):
    program = _program(org)
    requests = _pending(program, 3)
    later = max(r.expires_at for r in requests) + timedelta(seconds=1)

    def broken(*args, **kwargs):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(services.forwarding, "outbox_add", broken)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.requests_expire_due(now=later)
    assert MentorRequest.objects.filter(status=Status.PENDING).count() == 3
    assert not OutboundEmail.objects.filter(kind=EmailKind.REQUEST_EXPIRED).exists()
    monkeypatch.undo()
    assert services.requests_expire_due(now=later) == {"expired": 3}
    assert services.requests_expire_due(now=later) == {"expired": 0}
    assert OutboundEmail.objects.filter(kind=EmailKind.REQUEST_EXPIRED).count() == 3


def test_the_sweep_takes_at_most_its_limit_oldest_deadline_first(org):
    program = _program(org)
    requests = _pending(program, 5)
    now = timezone.now()
    for n, request in enumerate(requests):
        MentorRequest.objects.filter(pk=request.pk).update(expires_at=now - timedelta(hours=n))
    assert services.requests_expire_due(now=now, limit=2) == {"expired": 2}
    expired = set(MentorRequest.objects.filter(status=Status.EXPIRED).values_list("pk", flat=True))
    assert expired == {requests[4].pk, requests[3].pk}
    assert services.requests_expire_due(now=now, limit=10) == {"expired": 3}
