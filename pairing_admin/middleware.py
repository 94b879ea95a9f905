"""Project-wide middleware: response headers, the sessions' idle timeout."""

import time

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.utils.cache import patch_cache_control

_RENEWED_AT = "_renewed_at"  # in the session: when its expiry was last pushed ahead


class PrivateCacheMiddleware:
    """`Cache-Control: private, no-store` on every response to a logged-in user.

    Admin pages show participants' names, emails and notes: neither a shared
    proxy nor the browser's disk cache (or its back button after logout, on a
    shared computer) may keep them. Static files never get here (WhiteNoise
    answers them earlier) and keep their long cache lifetimes; pages opened
    from a personal link set `no-store` themselves (pairing_admin.mail.links.token_page).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response


class IdleSessionMiddleware(SessionMiddleware):
    """Django's session middleware, with the idle timeout renewed once a minute at most.

    SESSION_SAVE_EVERY_REQUEST would write the session row, and wait for the
    commit's flush to disk, on every page an admin opens (15 to 20 ms of each
    list page in the benchmark). Here a logged-in session is saved, which
    pushes its expiry SESSION_COOKIE_AGE ahead, only when SESSION_REFRESH_SECONDS
    have passed since it last was; it may end that much earlier than a full
    idle period after the last click. Sessions changed by the request are
    saved as always; empty ones (visitors not logged in) are never created.
    """

    def process_response(self, request, response):
        session = getattr(request, "session", None)
        if session is not None and not session.modified and not session.is_empty():
            now = int(time.time())
            if now - session.get(_RENEWED_AT, 0) >= settings.SESSION_REFRESH_SECONDS:
                session[_RENEWED_AT] = now
        return super().process_response(request, response)
