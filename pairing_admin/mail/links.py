"""Personal links in emails: unguessable, purpose-bound, stored only as a hash.

A GET on a link's page validates and shows; only a POST consumes it, with a
conditional update (used_at IS NULL), so mail scanners that follow links
change nothing and a link acts at most once.
"""

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.urls import reverse
from django.utils import timezone

from pairing_admin.lib.db import is_postgresql
from pairing_admin.mail import links_pg
from pairing_admin.mail.models import AccessLink

Purpose = AccessLink.Purpose
PREFERENCES_VALID_FOR = timedelta(days=120)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    raw = secrets.token_urlsafe(32)
    return raw, token_hash(raw)


# The page each kind of link opens (served by the app that owns the flow).
LINK_VIEWS = {
    Purpose.PREFERENCES: "pairing:preferences",
    Purpose.APPROVE: "pairing:request_link",
    Purpose.DECLINE: "pairing:request_link",
    Purpose.SESSION: "pairing:session_link",
    Purpose.HOME: "pairing:me",
}


def link_url(raw: str, purpose: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse(LINK_VIEWS[purpose], kwargs={"token": raw})


def token_page(view):
    """Headers for pages opened from a personal link: never cached, never leaked
    through a Referer header to another site."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "no-referrer"
        return response

    return wrapper


def link_create(
    *,
    purpose: str,
    participant: models.Model,
    expires_at: datetime,
    object_id: int | None = None,
) -> tuple[AccessLink, str]:
    """A new link; returns it and the raw token (put in the email, never stored)."""
    raw, digest = new_token()
    link = AccessLink.objects.create(
        token_hash=digest,
        purpose=purpose,
        program_id=participant.program_id,
        participant=participant,
        object_id=object_id,
        expires_at=expires_at,
    )
    return link, raw


@dataclass(frozen=True)
class Resolved:
    link: AccessLink | None
    problem: str = ""  # "", "unknown", "expired", "used"


def link_resolve(raw: str) -> Resolved:
    """Look a token up without changing anything (GET and HEAD use this)."""
    if not raw or len(raw) > 100:
        return Resolved(None, "unknown")
    link = (
        AccessLink.objects.select_related("participant", "program", "program__organization")
        .filter(token_hash=token_hash(raw))
        .first()
    )
    if link is None:
        return Resolved(None, "unknown")
    if link.used_at is not None:
        return Resolved(link, "used")
    if link.expires_at <= timezone.now():
        return Resolved(link, "expired")
    return Resolved(link)


def link_use(link: AccessLink) -> bool:
    """Consume a one-time link; False if it was used (or expired) meanwhile."""
    return bool(
        AccessLink.objects.filter(pk=link.pk, used_at__isnull=True, expires_at__gt=Now()).update(
            used_at=Now()
        )
    )


# Stands in for a token while a link's URL is worked out once per purpose
# (tokens are URL-safe, so every link is that URL with its token in place).
_TOKEN_SLOT = "TOKENxSLOT"  # noqa: S105 - not a secret


def links_bulk(
    rows: Sequence[tuple[str, int, int, int | None, datetime]], *, use_sql: bool | None = None
) -> list[str]:
    """Links for (purpose, program id, participant id, object id, expires at) rows, in
    one statement; their URLs in the same order.

    On PostgreSQL (links_pg) one INSERT from arrays: thousands of links (a waitlist
    sweep, a batch of choose-again emails) without a model instance each.
    """
    if not rows:
        return []
    tokens = [new_token() for _ in rows]
    now = timezone.now()
    if is_postgresql() if use_sql is None else use_sql:
        links_pg.links_insert(now, [digest for _, digest in tokens], rows)
    else:
        AccessLink.objects.bulk_create(
            [
                AccessLink(
                    token_hash=digest,
                    purpose=purpose,
                    program_id=program_id,
                    participant_id=participant_id,
                    object_id=object_id,
                    expires_at=expires_at,
                )
                for (_, digest), (
                    purpose,
                    program_id,
                    participant_id,
                    object_id,
                    expires_at,
                ) in zip(tokens, rows, strict=True)
            ],
            batch_size=2000,
        )
    around = {
        purpose: link_url(_TOKEN_SLOT, purpose).split(_TOKEN_SLOT)
        for purpose in {row[0] for row in rows}
    }
    return [
        around[row[0]][0] + raw + around[row[0]][1]
        for (raw, _), row in zip(tokens, rows, strict=True)
    ]
