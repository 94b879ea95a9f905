"""A small fixed-window rate limiter on Django's cache.

`cache.add` creates the counter only if it is absent and `cache.incr` is
atomic on Redis and on the local-memory cache, so concurrent requests never
lose a hit. Windows are aligned to the clock: a burst straddling a boundary
can get up to twice the limit, which is fine for slowing abuse down.
"""

import hashlib
import time

from django.conf import settings
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
