"""A small fixed-window rate limiter on Django's cache.

`cache.add` creates the counter only if it is absent and `cache.incr` is
atomic on Redis and on the local-memory cache, so concurrent requests never
lose a hit. Windows are aligned to the clock: a burst straddling a boundary
can get up to twice the limit, which is fine for slowing abuse down.
"""

import hashlib
import time

from django.core.cache import cache
from django.http import HttpRequest


def hit(scope: str, identity: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt; True while the identity is within its limit."""
    window = int(time.time() // window_seconds)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    key = f"ratelimit:{scope}:{digest}:{window}"
    if cache.add(key, 1, timeout=window_seconds + 60):
        return limit >= 1
    try:
        count = cache.incr(key)
    except ValueError:
        # The key expired between add and incr: this is the window's first hit.
        cache.add(key, 1, timeout=window_seconds + 60)
        count = 1
    return count <= limit


def client_ip(request: HttpRequest) -> str:
    """The address the request came from, as the web server saw it.

    X-Forwarded-For is not trusted: anyone can set it, and trusting it would
    let a client pick a fresh identity for every request.
    """
    return request.META.get("REMOTE_ADDR") or "unknown"
