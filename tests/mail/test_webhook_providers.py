"""Every provider EMAIL_PROVIDER accepts: only its tracking webhook is mounted,
and nothing an outsider (or a provider) posts to it reaches a traceback.

Requests go through a client that turns a server error into a 500 response
instead of raising, as a real deployment would answer.
"""

import base64
import hashlib
import hmac

import pytest
from anymail.urls import urlpatterns as anymail_urlpatterns
from django.test import Client
from django.urls import reverse

from pairing_admin.mail.models import ProviderEvent, Suppression
from pairing_admin.settings import _ANYMAIL_PROVIDERS
from tests.support.email import provider_mounted

PROVIDERS = sorted(_ANYMAIL_PROVIDERS)
SECRET = "hook:s3cret-value"
MANDRILL_URL = "https://pairing.example.org/anymail/mandrill/tracking/"
# What a provider needs beyond the shared secret to check its signatures.
PROVIDER_KEYS = {
    "mailgun": {"MAILGUN_WEBHOOK_SIGNING_KEY": "mailgun-signing-key"},
    "mailersend": {"MAILERSEND_SIGNING_SECRET": "mailersend-secret"},
    "mandrill": {"MANDRILL_WEBHOOK_KEY": "mandrill-key", "MANDRILL_WEBHOOK_URL": MANDRILL_URL},
    "postal": {"POSTAL_WEBHOOK_KEY": "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKpublicKeyOfPostal"},
}
# Empty, not JSON, an array where events belong, JSON scalars.
MALFORMED = [b"", b"{not json", b"[1, 2]", b"42", b'"text"', b"null"]
REFUSED = {400, 401, 403}


def _auth() -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(SECRET.encode()).decode()}


def _signed(provider: str, body: bytes) -> dict[str, str]:
    """Headers with a valid signature for `body`, where the provider signs bodies."""
    if provider == "mailersend":
        key = PROVIDER_KEYS["mailersend"]["MAILERSEND_SIGNING_SECRET"].encode()
        return {"HTTP_SIGNATURE": hmac.new(key, body, hashlib.sha256).hexdigest()}
    return {}


def _mandrill_signature(events: str) -> str:
    key = PROVIDER_KEYS["mandrill"]["MANDRILL_WEBHOOK_KEY"].encode()
    signed = f"{MANDRILL_URL}mandrill_events{events}".encode()
    return base64.b64encode(hmac.new(key, signed, hashlib.sha1).digest()).decode()


def _tracking_url(provider: str) -> str:
    name = "mandrill_tracking_webhook" if provider == "mandrill" else f"{provider}_tracking_webhook"
    return reverse(f"anymail:{name}")


def _paths_of_anymail() -> list[str]:
    """Every webhook path anymail ships, tracking and inbound, for all providers."""
    paths = []
    for pattern in anymail_urlpatterns:
        route = str(pattern.pattern).lstrip("^").rstrip("$").replace("(_mime)?", "")
        paths.append(f"/anymail/{route}")
    return paths


@pytest.fixture
def server_client():
    return Client(raise_request_exception=False)


@pytest.fixture(params=PROVIDERS)
def provider(request):
    with provider_mounted(request.param):
        yield request.param


@pytest.fixture(params=["only the webhook secret", "the provider's keys too"])
def configured(request, settings, provider):
    settings.DEBUG = False
    keys = PROVIDER_KEYS.get(provider, {}) if request.param != "only the webhook secret" else {}
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, **keys}
    return provider


def test_every_provider_has_a_tracking_webhook():
    names = {p.name for p in anymail_urlpatterns}
    for provider in PROVIDERS:
        assert f"{provider}_tracking_webhook" in names or f"{provider}_webhook" in names


def test_anonymous_post_is_refused(db, configured, server_client):
    body = b'{"event": "bounced", "recipient": "victim@example.org"}'
    response = server_client.post(
        _tracking_url(configured), data=body, content_type="application/json"
    )
    assert response.status_code in REFUSED, response.content[:300]
    assert b"Traceback" not in response.content
    assert not ProviderEvent.objects.exists() and not Suppression.objects.exists()


@pytest.mark.parametrize("body", MALFORMED, ids=repr)
def test_malformed_body_with_valid_credentials_is_refused(db, configured, server_client, body):
    response = server_client.post(
        _tracking_url(configured),
        data=body,
        content_type="application/json",
        **_auth(),
        **_signed(configured, body),
    )
    assert response.status_code in REFUSED, response.content[:300]
    assert b"Traceback" not in response.content
    assert not ProviderEvent.objects.exists()


@pytest.mark.parametrize("events", ["", "{not json", "[1, 2]", "42", '"text"'])
def test_mandrill_signed_form_with_malformed_events_is_refused(db, settings, server_client, events):
    settings.DEBUG = False
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, **PROVIDER_KEYS["mandrill"]}
    with provider_mounted("mandrill"):
        response = server_client.post(
            _tracking_url("mandrill"),
            data={"mandrill_events": events},
            HTTP_X_MANDRILL_SIGNATURE=_mandrill_signature(events),
            **_auth(),
        )
    assert response.status_code in REFUSED, response.content[:300]
    assert not ProviderEvent.objects.exists()


def test_malformed_body_is_refused_in_plain_words(db, settings, server_client):
    settings.DEBUG = False
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    with provider_mounted("postmark"):
        response = server_client.post(
            _tracking_url("postmark"), data=b"[]", content_type="application/json", **_auth()
        )
    assert response.status_code == 400
    assert response.content.decode() == "This is not a webhook the email provider sends."


def test_missing_provider_key_refuses_and_names_it_in_the_log(db, settings, server_client, caplog):
    settings.DEBUG = False
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    with provider_mounted("mailgun"):
        response = server_client.post(
            _tracking_url("mailgun"), data=b"{}", content_type="application/json", **_auth()
        )
    assert response.status_code == 403
    assert "settings are complete" in response.content.decode()
    assert "MAILGUN_WEBHOOK_SIGNING_KEY" in caplog.text


def test_only_the_configured_providers_tracking_path_is_mounted(db, configured, server_client):
    own = _tracking_url(configured)
    others = [path for path in _paths_of_anymail() if path != own]
    assert len(others) > 20
    for path in others:
        if configured == "mandrill" and path == "/anymail/mandrill/":
            continue  # the same view under anymail's combined Mandrill path
        response = server_client.post(path, data=b"{}", content_type="application/json", **_auth())
        assert response.status_code == 404, (configured, path, response.status_code)


@pytest.mark.parametrize("provider", ["", "smtp"])
def test_no_webhook_without_an_email_provider(db, settings, server_client, provider):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    with provider_mounted(provider):
        for path in _paths_of_anymail():
            response = server_client.post(path, data=b"{}", content_type="application/json")
            assert response.status_code == 404, path
