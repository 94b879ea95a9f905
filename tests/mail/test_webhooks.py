"""Provider webhooks (Postmark's format, through anymail's real webhook view).

Only Postmark's HTTP API is faked (requests.Session.request); everything else
is the real path: outbox -> anymail's Postmark backend -> webhook -> signal.
"""

import base64
import json
import uuid

import pytest
import requests
from django.core import mail
from django.urls import reverse

from pairing_admin.mail.models import OutboundEmail, ProviderEvent, Suppression
from pairing_admin.mail.outbox import Draft, outbox_add
from pairing_admin.mail.sending import outbox_send_batch
from programs.email_kinds import EmailKind
from tests.support.email import provider_mounted

Status = OutboundEmail.Status
SECRET = "hook:s3cret-value"
URL = "/anymail/postmark/tracking/"


@pytest.fixture(autouse=True)
def _postmark_mounted():
    with provider_mounted("postmark"):
        yield


@pytest.fixture
def postmark(settings, monkeypatch):
    """Send through anymail's Postmark backend; Postmark's API answers from here."""
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "test-server-token", "WEBHOOK_SECRET": SECRET}
    calls = []

    def fake_request(self, method, url, **kwargs):
        body = json.loads(kwargs["data"])
        calls.append(body)
        response = requests.Response()
        response.status_code = 200
        response.url = url
        response._content = json.dumps(
            {
                "To": body["To"],
                "SubmittedAt": "2026-11-28T10:00:00.0000000-05:00",
                "MessageID": str(uuid.uuid4()),
                "ErrorCode": 0,
                "Message": "OK",
            }
        ).encode()
        return response

    monkeypatch.setattr(requests.Session, "request", fake_request)
    return calls


def _auth(credentials: str = SECRET) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def _send(program, n: int, email: str) -> OutboundEmail:
    outbox_add(
        [
            Draft(
                kind=EmailKind.SUPPORT_REQUEST,
                key=f"hook-test:{n}",
                to_email=email,
                values={"request_subject": "Hi", "message": "Body", "admin_name": "Ada"},
            )
        ],
        program=program,
    )
    row = OutboundEmail.objects.get(idempotency_key=f"hook-test:{n}")
    outbox_send_batch([row.pk])
    row.refresh_from_db()
    return row


def _bounce(row: OutboundEmail, *, event_id: int = 4323372036854775807, **extra) -> dict:
    return {
        "RecordType": "Bounce",
        "ID": event_id,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "",
        "MessageID": row.provider_message_id,
        "Metadata": {"outbox_id": str(row.pk)},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": row.to_email,
        "From": "pairing@example.org",
        "BouncedAt": "2026-11-28T10:01:00Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": row.subject,
        "MessageStream": "outbound",
        **extra,
    }


def _post(client, payload: dict, **headers):
    return client.post(URL, data=json.dumps(payload), content_type="application/json", **headers)


def test_bounce_suppresses_the_address_and_marks_the_email_bounced(db, program, postmark, client):
    row = _send(program, 1, "gone@example.org")
    assert row.status == Status.SENT and row.provider_message_id
    assert len(postmark) == 1

    response = _post(client, _bounce(row), **_auth())

    assert response.status_code == 200
    row.refresh_from_db()
    assert row.status == Status.BOUNCED
    assert "does not exist" in row.last_error
    suppression = Suppression.objects.get(email="gone@example.org")
    assert suppression.reason == "bounced"
    assert ProviderEvent.objects.get().event_type == "bounced"


def test_later_email_to_a_bounced_address_is_suppressed_without_calling_the_provider(
    db, program, postmark, client
):
    row = _send(program, 1, "gone@example.org")
    _post(client, _bounce(row), **_auth())
    later = _send(program, 2, "gone@example.org")
    assert later.status == Status.SUPPRESSED
    assert len(postmark) == 1  # only the first email reached Postmark's API
    other = _send(program, 3, "fine@example.org")
    assert other.status == Status.SENT and len(postmark) == 2


def test_bounce_found_by_our_outbox_id_when_the_provider_id_is_unknown(
    db, program, postmark, client
):
    row = _send(program, 1, "gone@example.org")
    _post(client, _bounce(row, MessageID="not-one-of-ours"), **_auth())
    row.refresh_from_db()
    assert row.status == Status.BOUNCED


def test_forged_outbox_id_for_another_address_marks_nothing(db, program, postmark, client):
    row = _send(program, 1, "fine@example.org")
    payload = _bounce(row, MessageID="not-one-of-ours", Email="attacker@example.org")
    _post(client, payload, **_auth())
    row.refresh_from_db()
    assert row.status == Status.SENT


def test_repeated_event_is_processed_once(db, program, postmark, client):
    row = _send(program, 1, "gone@example.org")
    assert _post(client, _bounce(row), **_auth()).status_code == 200
    # An admin lifts the suppression; the provider then re-sends the same
    # event (it retries until it sees a 2xx): it must not suppress again.
    Suppression.objects.all().delete()
    assert _post(client, _bounce(row), **_auth()).status_code == 200
    assert ProviderEvent.objects.count() == 1
    assert not Suppression.objects.exists()


def test_event_without_an_id_is_deduplicated_by_a_derived_key(db, program, postmark, client):
    row = _send(program, 1, "someone@example.org")
    delivery = {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": row.provider_message_id,
        "Recipient": row.to_email,
        "Tag": "",
        "DeliveredAt": "2026-11-28T10:00:05Z",
        "Details": "Test delivery webhook details",
        "Metadata": {"outbox_id": str(row.pk)},
    }
    _post(client, delivery, **_auth())
    _post(client, delivery, **_auth())
    assert ProviderEvent.objects.count() == 1
    assert ProviderEvent.objects.get().event_id.startswith("Postmark:derived:")
    # A different event of the same message is a different key.
    _post(client, {**delivery, "DeliveredAt": "2026-11-28T11:00:00Z"}, **_auth())
    assert ProviderEvent.objects.count() == 2
    assert not Suppression.objects.exists()  # a delivery suppresses nothing


def test_spam_complaint_suppresses_but_the_email_stays_sent(db, program, postmark, client):
    row = _send(program, 1, "annoyed@example.org")
    complaint = {
        "RecordType": "SpamComplaint",
        "ID": 42,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "MessageID": row.provider_message_id,
        "Email": row.to_email,
        "BouncedAt": "2026-11-28T10:05:00Z",
        "Description": "The subscriber explicitly marked this message as spam.",
        "Details": "Test spam complaint details",
        "Metadata": {"outbox_id": str(row.pk)},
    }
    assert _post(client, complaint, **_auth()).status_code == 200
    assert Suppression.objects.get().reason == "spam"
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert "complained" in row.last_error


def test_wrong_credentials_are_rejected(db, program, postmark, client):
    row = _send(program, 1, "gone@example.org")
    response = _post(client, _bounce(row), **_auth("hook:wrong"))
    assert response.status_code == 400
    assert not Suppression.objects.exists()
    assert _post(client, _bounce(row)).status_code == 400  # no credentials at all
    assert not ProviderEvent.objects.exists()


def test_webhook_fails_closed_without_a_secret_outside_debug(db, program, settings, client):
    settings.DEBUG = False
    settings.ANYMAIL = {}
    payload = {
        "RecordType": "Bounce",
        "ID": 1,
        "Type": "HardBounce",
        "Email": "victim@example.org",
        "BouncedAt": "2026-11-28T10:01:00Z",
    }
    response = _post(client, payload)
    assert response.status_code == 403
    assert not Suppression.objects.exists()
    assert not ProviderEvent.objects.exists()


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailInsecureWebhookWarning")
def test_anymail_alone_would_accept_an_unauthenticated_webhook(db, settings, client):
    # Why the guard exists: in DEBUG (guard off) anymail 15.2 accepts the post.
    settings.DEBUG = True
    settings.ANYMAIL = {}
    payload = {"RecordType": "Bounce", "ID": 2, "Type": "HardBounce", "Email": "x@example.org"}
    assert _post(client, payload).status_code == 200
    assert Suppression.objects.filter(email="x@example.org").exists()


def test_tracking_url_is_anymails_own_name(db):
    assert reverse("anymail:postmark_tracking_webhook") == URL


def test_sent_row_keeps_postmarks_message_id(db, program, postmark):
    mail.outbox = []
    row = _send(program, 1, "someone@example.org")
    assert row.provider_message_id != ""
    uuid.UUID(row.provider_message_id)  # Postmark's id, not our Message-ID header
