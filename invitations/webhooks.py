"""What the email provider tells us after sending: bounces, complaints, unsubscribes.

anymail turns each provider's webhook into one normalized `tracking` signal;
`on_tracking` (connected in InvitationsConfig.ready) records each event once
and suppresses addresses that must not be mailed again. The outbox then marks
later emails to them "suppressed" without calling the provider.

The endpoints are public (the provider calls them), so they fail closed:
outside DEBUG a request is refused unless anymail's WEBHOOK_SECRET (HTTP basic
auth credentials the provider sends) is configured. anymail itself (15.2)
only *warns* when the secret is missing and then accepts anything, which would
let anyone on the internet suppress any address.
"""

import hashlib
import logging
from functools import wraps

from anymail.signals import AnymailTrackingEvent, EventType
from anymail.urls import urlpatterns as anymail_urlpatterns
from anymail.utils import get_anymail_setting
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponseForbidden
from django.urls import URLPattern
from django.utils import timezone

from invitations.models import OutboundEmail, ProviderEvent, Suppression
from pairing_admin.lib.params import row_id

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


def _fail_closed(view):
    @wraps(view)  # keeps csrf_exempt: the provider posts without a CSRF token
    def guarded(request, *args, **kwargs):
        if not settings.DEBUG and not webhook_secret_configured():
            log.error("Refused an email provider webhook: ANYMAIL_WEBHOOK_SECRET is not set")
            return HttpResponseForbidden(
                "Webhooks are disabled until a webhook secret is configured.",
                content_type="text/plain",
            )
        return view(request, *args, **kwargs)

    return guarded


def webhook_urlpatterns() -> list[URLPattern]:
    """anymail's webhook URLs, each refusing requests while no secret is set."""
    return [
        URLPattern(p.pattern, _fail_closed(p.callback), p.default_args, p.name)
        for p in anymail_urlpatterns
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
