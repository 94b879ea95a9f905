"""A small fixed-window rate limiter on Django's cache.

Counters are atomic (`cache.add` then `cache.incr`). While the shared cache
is down each process counts in its own memory and retries the cache every
RETRY_SHARED_AFTER seconds, so the pages people open from their emails stay
up (docs/security.md).
"""

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import BaseCache, cache
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

RETRY_SHARED_AFTER = 30.0
# What a cache that cannot be reached raises: redis-py's errors, or the
# operating system's for a socket that fails below it.
UNREACHABLE = (RedisError, OSError)

_local = LocMemCache("ratelimit-fallback", {"MAX_ENTRIES": 10_000})
_shared_down_until = 0.0


def hit(scope: str, identity: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt; True while the identity is within its limit."""
    global _shared_down_until
    window = int(time.time() // window_seconds)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    key = f"ratelimit:{scope}:{digest}:{window}"
    if time.monotonic() >= _shared_down_until:
        try:
            return _count(cache, key, limit=limit, timeout=window_seconds + 60)
        except UNREACHABLE as exc:
            _shared_down_until = time.monotonic() + RETRY_SHARED_AFTER
            log.warning(
                "The cache cannot be reached (%s); rate limits are counted by each process "
                "on its own until it answers again.",
                exc,
            )
    return _count(_local, key, limit=limit, timeout=window_seconds + 60)


def _count(store: BaseCache, key: str, *, limit: int, timeout: int) -> bool:
    if store.add(key, 1, timeout=timeout):
        return limit >= 1
    try:
        count = store.incr(key)
    except ValueError:
        # The key expired between add and incr: this is the window's first hit.
        store.add(key, 1, timeout=timeout)
        count = 1
    return count <= limit


def reset_fallback() -> None:
    """Forget the local counts and try the shared cache again at once (for tests)."""
    global _shared_down_until
    _shared_down_until = 0.0
    _local.clear()


def token_page_allowed(request: HttpRequest) -> bool:
    """One hit on the pages people open from emailed links (mentee, mentor,
    session, registration Confirm): at most TOKEN_PAGE_RATE_LIMIT per address
    per 10 minutes, across all of them."""
    limit = getattr(settings, "TOKEN_PAGE_RATE_LIMIT", 300)
    return hit("token-page", client_ip(request), limit=limit, window_seconds=600)


def client_ip(request: HttpRequest) -> str:
    """The address the request came from.

    With TRUSTED_PROXY_COUNT = 0 (the default) that is REMOTE_ADDR, and
    X-Forwarded-For is ignored: anyone can set it, and trusting it would let a
    client pick a fresh identity for every request. Behind N proxies of our
    own, each appends the address it saw, so the client is the N-th entry
    from the right; entries further left are whatever the client sent and
    are never used. A request that did not pass through all N proxies has
    fewer entries: then REMOTE_ADDR is the best we know.
    """
    remote = request.META.get("REMOTE_ADDR") or "unknown"
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    chain = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    return chain[-proxies] if len(chain) >= proxies else remote
