"""Project-wide response headers."""

from django.utils.cache import patch_cache_control


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
