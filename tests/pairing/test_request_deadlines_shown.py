"""Mentor requests, end to end: the deadline each side is shown, the admin list's
settled rows, an expiry with nobody left to pass to, and the /r/ pages' rate limit."""

import re
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pairing import services
from pairing.deadlines import deadline_label
from pairing.email_kinds import EmailKind
from pairing.models import MentorPreference, MentorRequest, Pairing
from pairing_admin.lib import ratelimit
from pairing_admin.mail.links import Purpose, link_create
from pairing_admin.mail.models import AccessLink, OutboundEmail
from programs.models import Participant, Program
from tests import factories

Status = MentorRequest.Status
NEW_YORK = "America/New_York"
LINK = re.compile(r"https?://[^\s<>\"]+")

# Thursday 28 November 2030, 21:00 in New York (Thanksgiving) is already
# Friday 29 November in UTC. Three business days after the local day:
# Friday 29, Monday 2, Tuesday 3 December; the end of that Tuesday in New
# York is 04:59:59.999999 on Wednesday 4 December in UTC.
MADE = datetime(2030, 11, 29, 2, 0, tzinfo=UTC)
STORED_DEADLINE = datetime(2030, 12, 4, 4, 59, 59, 999999, tzinfo=UTC)
LOCAL_LABEL = "Tuesday 3 December"
UTC_LABEL = "Wednesday 4 December"


@pytest.fixture
def ny_program(org):
    org.timezone = NEW_YORK
    org.country = "US"
    org.save()
    return factories.ProgramFactory(
        organization=org, pairing_enabled=True, request_expiry_business_days=3
    )


def _emails(kind, to=None):
    qs = OutboundEmail.objects.filter(kind=kind)
    if to is not None:
        qs = qs.filter(to_email=to.email)
    return list(qs.order_by("pk"))


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _submit(program, mentors, mentee=None):
    mentee = mentee or factories.ParticipantFactory(program=program)
    return services.preferences_submit(mentee=mentee, mentor_ids=[m.pk for m in mentors]).request


# --- 1. One stored deadline, the same local date on every side ------------------------


def test_mentor_email_mentee_page_and_mentor_page_show_the_one_stored_deadline_locally(
    ny_program, monkeypatch
):
    assert deadline_label(STORED_DEADLINE, "UTC") == UTC_LABEL  # the dates really differ
    # The request is made at MADE: the service's clock only (links are checked on the real one).
    monkeypatch.setattr(services.requests, "timezone", SimpleNamespace(now=lambda: MADE))
    mentee = factories.ParticipantFactory(program=ny_program)
    mentor = factories.MentorFactory(program=ny_program)
    raw = factories.preferences_link(mentee)
    mentee_client = Client()
    response = mentee_client.post(f"/p/{raw}/choose/", {f"rank_{mentor.pk}": "1"})
    assert response.status_code == 302

    request = MentorRequest.objects.get()
    assert request.status == Status.PENDING
    assert request.expires_at == STORED_DEADLINE  # stored once, in UTC
    assert deadline_label(request.expires_at, NEW_YORK) == LOCAL_LABEL

    [email] = _emails(EmailKind.MENTOR_REQUEST)
    assert email.to_email == mentor.email
    assert f"Please respond by {LOCAL_LABEL};" in email.body_text
    assert UTC_LABEL not in email.body_text

    page = mentee_client.get(response.url).content.decode()
    assert f"Your request is with {mentor.full_name}" in page
    assert f"They have until the end of {LOCAL_LABEL} to answer." in page
    assert UTC_LABEL not in page

    mentor_urls = [url for url in LINK.findall(email.body_text) if "/r/" in url]
    assert len(mentor_urls) == 2  # Approve and Decline
    for url in mentor_urls:
        response = Client().get(_path(url))
        html = response.content.decode()
        assert response.status_code == 200, url
        assert f"<dt>Please answer by</dt><dd>the end of {LOCAL_LABEL}</dd>" in html
        assert UTC_LABEL not in html
    request.refresh_from_db()
    assert request.status == Status.PENDING and request.expires_at == STORED_DEADLINE


# --- 2. The admin list: expired and withdrawn rows, local deadlines --------------------


def _row(html: str, mentee: Participant) -> str:
    [row] = [part for part in html.split("<tr>") if mentee.email in part]
    return row.split("</tr>", 1)[0]


def test_admin_list_shows_expired_and_withdrawn_rows_with_local_deadlines(
    ny_program, org_admin_client
):
    mentors = factories.MentorFactory.create_batch(3, program=ny_program)
    # End of Monday 5 January 2026 in New York = Tuesday 6 January in UTC.
    expired_at = datetime(2026, 1, 6, 4, 59, 59, 999999, tzinfo=UTC)
    # End of Friday 27 November 2026 in New York = Saturday 28 November in UTC.
    withdrawn_deadline = datetime(2026, 11, 28, 4, 59, 59, 999999, tzinfo=UTC)
    # End of Monday 7 December 2099 in New York = Tuesday 8 December in UTC.
    pending_deadline = datetime(2099, 12, 8, 4, 59, 59, 999999, tzinfo=UTC)

    expired = _submit(ny_program, mentors[:1])
    MentorRequest.objects.filter(pk=expired.pk).update(expires_at=expired_at)
    assert services.requests_expire_due() == {"expired": 1}
    withdrawn = _submit(ny_program, mentors[1:2])
    services.request_withdraw(mentee=withdrawn.mentee, request_id=withdrawn.pk)
    MentorRequest.objects.filter(pk=withdrawn.pk).update(expires_at=withdrawn_deadline)
    pending = _submit(ny_program, mentors[2:])
    MentorRequest.objects.filter(pk=pending.pk).update(expires_at=pending_deadline)
    statuses = dict(MentorRequest.objects.values_list("pk", "status"))
    assert statuses == {
        expired.pk: Status.EXPIRED,
        withdrawn.pk: Status.WITHDRAWN,
        pending.pk: Status.PENDING,
    }

    url = reverse("requests:list", kwargs={"program_id": ny_program.pk})
    response = org_admin_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    expected = {
        expired.mentee: ("expired", "Expired", "Monday 5 January", "Tuesday 6 January"),
        withdrawn.mentee: ("withdrawn", "Withdrawn", "Friday 27 November", "Saturday 28 November"),
        pending.mentee: ("pending", "Pending", "Monday 7 December", "Tuesday 8 December"),
    }
    for mentee, (value, label, local, utc) in expected.items():
        row = _row(html, mentee)
        assert f'<span class="badge status-{value}">{label}</span>' in row, label
        assert f'<td class="nowrap">{local}</td>' in row, label
        assert utc not in html, label
    # Only the pending row can still be cancelled.
    assert "Cancel" not in _row(html, expired.mentee)
    assert "Cancel" not in _row(html, withdrawn.mentee)
    assert "Cancel" in _row(html, pending.mentee)

    for value, shown, hidden in (
        ("expired", expired, withdrawn),
        ("withdrawn", withdrawn, expired),
    ):
        html = org_admin_client.get(url, {"status": value}).content.decode()
        assert shown.mentee.email in html and hidden.mentee.email not in html
        assert pending.mentee.email not in html


# --- 3. Next-choice setting: an expiry with no further available choice ------------------


def _not_accepting(mentor):
    Participant.objects.filter(pk=mentor.pk).update(accepting_requests=False)


def _full(mentor):
    Participant.objects.filter(pk=mentor.pk).update(capacity=1)
    factories.PairingFactory(program=mentor.program, mentor=mentor)


@pytest.mark.parametrize(
    "next_choice",
    [None, _not_accepting, _full],
    ids=["no-later-choice", "next-stopped-accepting", "next-is-full"],
)
def test_next_choice_expiry_with_nobody_left_asks_the_mentee_to_choose_again(
    ny_program, next_choice
):
    Program.objects.filter(pk=ny_program.pk).update(after_decline=Program.AfterDecline.NEXT_CHOICE)
    first, second = factories.MentorFactory.create_batch(2, program=ny_program)
    ranked = [first] if next_choice is None else [first, second]
    request = _submit(ny_program, ranked)
    assert request.mentor == first
    if next_choice is not None:
        next_choice(second)
    MentorRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now())

    assert services.requests_expire_due() == {"expired": 1}

    request.refresh_from_db()
    assert request.status == Status.EXPIRED
    assert list(MentorRequest.objects.values_list("pk", flat=True)) == [request.pk]  # none new
    assert len(_emails(EmailKind.MENTOR_REQUEST)) == 1  # only the first request's
    assert not _emails(EmailKind.REQUEST_FORWARDED)
    [email] = _emails(EmailKind.REQUEST_EXPIRED)
    assert email.to_email == request.mentee.email
    assert first.full_name in email.body_text and "Please pick another mentor" in email.body_text
    # The preferences stay; the emailed link opens the form to choose again.
    assert MentorPreference.objects.filter(mentee=request.mentee).count() == len(ranked)
    [url] = [u for u in LINK.findall(email.body_text) if "/p/" in u]
    html = Client().get(_path(url)).content.decode()
    assert f"Your request to {first.full_name} lapsed without an answer." in html
    assert "Send my request" in html

    # A second sweep finds nothing and writes nothing.
    assert services.requests_expire_due() == {"expired": 0}
    assert OutboundEmail.objects.count() == 2


# --- 4. The mentor's /r/ pages are rate-limited per address ----------------------------


@pytest.fixture
def one_window(monkeypatch):
    """The limiter's clock stands still: no window boundary can fall inside a test."""
    now = time.time()
    monkeypatch.setattr(
        ratelimit, "time", SimpleNamespace(time=lambda: now, monotonic=time.monotonic)
    )


def _state():
    return (
        sorted(MentorRequest.objects.values_list("pk", "status", "decided_at")),
        sorted(Pairing.objects.values_list("pk", "status")),
        sorted(AccessLink.objects.values_list("pk", "used_at")),
        sorted(OutboundEmail.objects.values_list("pk", "kind")),
        sorted(Participant.objects.values_list("pk", "accepting_requests")),
    )


def _mentor_links(request):
    links = {}
    for purpose in (Purpose.APPROVE, Purpose.DECLINE):
        _, raw = link_create(
            purpose=purpose,
            participant=request.mentor,
            expires_at=request.expires_at,
            object_id=request.pk,
        )
        links[purpose] = f"/r/{raw}/"
    return links


def test_mentor_links_are_rate_limited_per_address_and_a_refused_post_changes_nothing(
    ny_program, settings, one_window
):
    settings.TOKEN_PAGE_RATE_LIMIT = 3
    request = _submit(ny_program, [factories.MentorFactory(program=ny_program)])
    links = _mentor_links(request)
    busy = Client(REMOTE_ADDR="10.0.0.1")
    assert [busy.get(links[Purpose.APPROVE]).status_code for _ in range(3)] == [200, 200, 200]
    before = _state()

    refused = [
        busy.get(links[Purpose.APPROVE]),
        busy.head(links[Purpose.DECLINE]),
        busy.post(links[Purpose.APPROVE]),
        busy.post(links[Purpose.DECLINE], {"message": "No", "unavailable": "on"}),
    ]
    for response in refused:
        assert response.status_code == 429
        assert response["Cache-Control"] == "no-store"
        assert response["Referrer-Policy"] == "no-referrer"
    assert "Too many attempts" in refused[0].content.decode()
    assert "Approve and pair us" not in refused[0].content.decode()
    assert _state() == before
    request.refresh_from_db()
    assert request.status == Status.PENDING and not Pairing.objects.exists()

    # Another address is not held back, and its POST acts.
    other = Client(REMOTE_ADDR="10.0.0.2")
    assert other.post(links[Purpose.APPROVE]).status_code == 302
    assert Pairing.objects.get().request_id == request.pk


def test_mentee_and_mentor_token_pages_share_one_budget_per_address(
    ny_program, settings, one_window
):
    settings.TOKEN_PAGE_RATE_LIMIT = 3
    request = _submit(ny_program, [factories.MentorFactory(program=ny_program)])
    links = _mentor_links(request)
    raw = factories.preferences_link(request.mentee)
    client = Client(REMOTE_ADDR="10.0.0.3")
    assert [client.get(f"/p/{raw}/").status_code for _ in range(3)] == [200, 200, 200]
    before = _state()
    assert client.get(links[Purpose.APPROVE]).status_code == 429
    assert client.post(links[Purpose.APPROVE]).status_code == 429
    assert _state() == before
    assert Client(REMOTE_ADDR="10.0.0.4").get(links[Purpose.APPROVE]).status_code == 200
