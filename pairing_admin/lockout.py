"""Login lockout: per account and address (axes), and per address across accounts.

axes counts failures per (username, IP): a credential-stuffing run trying a
few passwords on each of many usernames from one address is never slowed
down. This handler adds a second, higher limit: LOGIN_IP_FAILURE_LIMIT
failures from one address within the lockout window lock that address out
for every username, with axes' own lockout page (429).

axes' single failure limit applies to every lockout parameter set it is
given, which would lock an office's shared address after five typos; hence a
handler rather than a second entry in AXES_LOCKOUT_PARAMETERS. Failures stay
recorded per (username, IP), so a successful login resets only that
account's failures from that address: an attacker cannot clear the address's
count by logging into an account of their own.

The address is pairing_admin.lib.ratelimit.client_ip (AXES_CLIENT_IP_CALLABLE),
the same rule as the other rate limits: X-Forwarded-For only counts as far as
TRUSTED_PROXY_COUNT proxies of ours vouch for it.
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
