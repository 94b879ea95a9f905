"""Login lockout: per account and address (axes), and per address across accounts.

axes locks a (username, address) after LOGIN_FAILURE_LIMIT failures; this
handler adds LOGIN_IP_FAILURE_LIMIT failures from one address, any
usernames, within the lockout window. Why a handler and not a second axes
parameter: docs/security.md.
"""

import ipaddress

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum

from pairing_admin.lib.ratelimit import client_ip


def axes_client_ip(request) -> str | None:
    """client_ip, or None where it is no address (axes stores it in an inet column)."""
    address = client_ip(request)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        # No REMOTE_ADDR (a login made in code), or a malformed entry that
        # did not come through our proxies: fall back to what the socket saw.
        remote = request.META.get("REMOTE_ADDR")
        return remote or None
    return address


def failures_from_address(request) -> int:
    """Failed logins from the request's address within the lockout window, all usernames."""
    return (
        AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address,
            attempt_time__gte=get_cool_off_threshold(request),
        ).aggregate(total=Sum("failures_since_start"))["total"]
        or 0
    )


class LoginLockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials: dict | None = None) -> int:
        failures = super().get_failures(request, credentials)
        if failures_from_address(request) >= settings.LOGIN_IP_FAILURE_LIMIT:
            # axes compares this number with its own (per account) limit.
            return max(failures, get_failure_limit(request, credentials))
        return failures
