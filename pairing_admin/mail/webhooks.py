"""What the email provider tells us after sending: bounces, complaints, unsubscribes.

`on_tracking` records each of anymail's normalized tracking events once and
suppresses addresses that must not be mailed again. Only EMAIL_PROVIDER's
endpoint is mounted and it fails closed without a webhook secret, where
anymail alone would only warn (docs/emails.md, "Provider webhooks").
"""

import hashlib
import logging
from functools import wraps

from anymail.exceptions import AnymailAPIError
from anymail.signals import AnymailTrackingEvent, EventType
from anymail.urls import urlpatterns as anymail_urlpatterns
from anymail.utils import get_anymail_setting
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.http import HttpResponseBadRequest, HttpResponseForbidden
from django.urls import URLPattern
from django.utils import timezone

from pairing_admin.lib.params import row_id
from pairing_admin.mail.models import OutboundEmail, ProviderEvent, Suppression

log = logging.getLogger(__name__)

# The address must not be mailed again after these.
SUPPRESSING = {
    EventType.BOUNCED,
    EventType.REJECTED,
    EventType.COMPLAINED,
    EventType.UNSUBSCRIBED,
}
# These mean the email itself never arrived: its row becomes "bounced".
UNDELIVERED = {EventType.BOUNCED, EventType.REJECTED}


def webhook_secret_configured() -> bool:
    return bool(get_anymail_setting("webhook_secret", default=None))


# What anymail's parsers raise on a body that is not what the provider sends
# (empty, not JSON, a list where an object belongs, a field of the wrong type).
_MALFORMED = (ValueError, TypeError, KeyError, AttributeError, IndexError, AnymailAPIError)


class _Malformed(Exception):
    pass


class _Misconfigured(Exception):
    pass


def _hardened(view_class: type) -> type:
    """anymail's view, turning what it raises before our signal handler runs
    into _Malformed / _Misconfigured. Errors in on_tracking itself stay 500s:
    the provider then retries, which is what a failure on our side needs."""

    class Hardened(view_class):
        def __init__(self, **kwargs):
            try:
                super().__init__(**kwargs)
            except ImproperlyConfigured as exc:  # a missing key, or boto3 absent
                raise _Misconfigured(str(exc)) from exc

        def run_validators(self, request):
            try:
                super().run_validators(request)
            except ImproperlyConfigured as exc:  # e.g. cryptography absent (Postal)
                raise _Misconfigured(str(exc)) from exc
            except _MALFORMED as exc:  # signature checks that parse the body
                raise _Malformed(str(exc)) from exc

        def parse_events(self, request):
            try:
                return list(super().parse_events(request))
            except ImproperlyConfigured as exc:
                raise _Misconfigured(str(exc)) from exc
            except _MALFORMED as exc:
                raise _Malformed(str(exc)) from exc

    Hardened.__name__ = Hardened.__qualname__ = f"Hardened{view_class.__name__}"
    return Hardened


def _guarded(view_class: type):
    view = _hardened(view_class).as_view()

    @wraps(view)  # keeps csrf_exempt: the provider posts without a CSRF token
    def guarded(request, *args, **kwargs):
        if not settings.DEBUG and not webhook_secret_configured():
            log.error("Refused an email provider webhook: ANYMAIL_WEBHOOK_SECRET is not set")
            return HttpResponseForbidden(
                "Webhooks are disabled until a webhook secret is configured.",
                content_type="text/plain",
            )
        try:
            return view(request, *args, **kwargs)
        except _Misconfigured as exc:
            log.error("Refused an email provider webhook: %s", exc)
            return HttpResponseForbidden(
                "Webhooks are disabled until the email provider's settings are complete.",
                content_type="text/plain",
            )
        except _Malformed as exc:
            log.warning("Refused a malformed email provider webhook: %.200s", exc)
            return HttpResponseBadRequest(
                "This is not a webhook the email provider sends.", content_type="text/plain"
            )

    return guarded


def webhook_urlpatterns(provider: str) -> list[URLPattern]:
    """The tracking webhook URL(s) of `provider` (EMAIL_PROVIDER), guarded.

    None for SMTP or the console; never another provider's, nor an inbound
    (receive email) endpoint: we only read bounces and complaints.
    """
    names = {f"{provider}_tracking_webhook", f"{provider}_webhook"} if provider else set()
    return [
        URLPattern(p.pattern, _guarded(p.callback.view_class), p.default_args, p.name)
        for p in anymail_urlpatterns
        if p.name in names
    ]


def event_key(event: AnymailTrackingEvent, esp_name: str) -> str:
    """The provider's event id, or a stable one derived from what identifies it.

    Some providers (Postmark's delivery events, for instance) send no id; a
    replay of the same event then still maps to the same key.
    """
    if event.event_id:
        return f"{esp_name}:{event.event_id}"[:200]
    parts = [
        esp_name,
        event.message_id or "",
        event.event_type or "",
        event.timestamp.isoformat() if event.timestamp else "",
        (event.recipient or "").lower(),
    ]
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"{esp_name}:derived:{digest}"[:200]


def _matching_rows(event: AnymailTrackingEvent, recipient: str):
    rows = OutboundEmail.objects.none()
    if event.message_id:
        rows = OutboundEmail.objects.filter(provider_message_id=str(event.message_id))
    outbox_id = row_id((event.metadata or {}).get("outbox_id"))
    if outbox_id is not None:
        # Our own id travels as metadata; the address must match too, so a
        # forged id cannot mark someone else's email.
        rows = rows | OutboundEmail.objects.filter(pk=outbox_id, to_email=recipient)
    return rows


def on_tracking(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    """Record a provider event once; suppress the address if it bounced or complained."""
    recipient = (event.recipient or "").strip().lower()
    try:
        with transaction.atomic():
            ProviderEvent.objects.create(
                event_id=event_key(event, esp_name),
                event_type=(event.event_type or "")[:32],
                recipient=recipient[:254],
                provider_message_id=str(event.message_id or "")[:200],
            )
            if event.event_type not in SUPPRESSING or not recipient:
                return
            reason = event.reject_reason or event.event_type
            detail = event.mta_response or event.description or ""
            Suppression.objects.get_or_create(
                email=recipient, defaults={"reason": reason[:64], "detail": detail}
            )
            rows = _matching_rows(event, recipient)
            if event.event_type in UNDELIVERED:
                rows.exclude(status=OutboundEmail.Status.BOUNCED).update(
                    status=OutboundEmail.Status.BOUNCED,
                    last_error=f"Bounced ({reason}): {detail}"[:2000],
                    touched_at=timezone.now(),
                )
            else:
                # Delivered, but the person complained or unsubscribed: the
                # row stays "sent"; the log says why later ones are suppressed.
                rows.update(last_error=f"Recipient {event.event_type}: {detail}"[:2000])
    except IntegrityError:
        # The same event again (the provider re-sends until it sees a 2xx).
        log.info("Ignored a repeated %s event %s", esp_name, event.event_id)
