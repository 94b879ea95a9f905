"""Which real services this test run has: PostgreSQL, Redis, Chromium.

In CI (TEST_REQUIRE_SERVICES=1) a missing service is an error, so a test that
needs it fails instead of quietly skipping. On a laptop the tests that need a
missing service are skipped, and pytest's summary says which and why.
"""

import os
import shutil
from functools import cache

from django.conf import settings

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def required() -> bool:
    return os.environ.get("TEST_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


@cache
def postgres_reason() -> str | None:
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        return "DATABASE_URL is not PostgreSQL"
    return None


@cache
def redis_reason() -> str | None:
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return "CELERY_BROKER_URL is not Redis"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at {url} does not answer: {exc}"
    return None


@cache
def browser_reason() -> str | None:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


REASONS = {
    "needs_postgres": postgres_reason,
    "needs_redis": redis_reason,
    "needs_browser": browser_reason,
}
