"""The System page: is background work running, and how is this deployment set up.

Superusers only (an organization's admin gets 404); the page names the
database, broker and email mode, never their credentials. Why:
docs/design.md ("Decisions", the System page).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from programs import services
from programs.models import WorkerPing

# After this long without an answer the page says plainly that no worker is
# running; a healthy worker answers within a second or two.
NO_ANSWER_AFTER = timedelta(seconds=30)
# A check nobody answered for this long is history: stop polling for it.
STOP_POLLING_AFTER = timedelta(minutes=10)


def staff_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login required, and the user must be a superuser; 404 for anyone else."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_superuser:
            raise Http404("No such page")
        return view(request, *args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class WorkerStatus:
    ping: WorkerPing | None
    state: str  # "none", "pending", "silent", "ok"
    requested_by_you: bool = False
    waited: timedelta | None = None

    @property
    def polling(self) -> bool:
        if self.state == "pending":
            return True
        return (
            self.state == "silent" and self.waited is not None and self.waited < STOP_POLLING_AFTER
        )

    @property
    def poll_every(self) -> str:
        # Keep listening after the warning, so a worker started late still
        # shows up, but more slowly.
        return "1s" if self.state == "pending" else "5s"

    @property
    def answered_in_seconds(self) -> float | None:
        if self.ping is None or self.ping.completed_at is None:
            return None
        return (self.ping.completed_at - self.ping.requested_at).total_seconds()


def _worker_status(user, now: datetime) -> WorkerStatus:
    ping = WorkerPing.objects.order_by("-requested_at", "-pk").first()
    if ping is None:
        return WorkerStatus(ping=None, state="none")
    # Pings are not scoped to an organization: name nobody.
    mine = ping.requested_by_id is not None and ping.requested_by_id == user.pk
    if ping.completed_at is not None:
        return WorkerStatus(ping=ping, state="ok", requested_by_you=mine)
    waited = now - ping.requested_at
    state = "silent" if waited >= NO_ANSWER_AFTER else "pending"
    return WorkerStatus(ping=ping, state=state, requested_by_you=mine, waited=waited)


def _database_label() -> str:
    vendor = connection.vendor
    return {"sqlite": "SQLite (embedded)", "postgresql": "PostgreSQL"}.get(
        vendor, vendor.capitalize()
    )


def _broker_label() -> str:
    url = settings.CELERY_BROKER_URL
    parts = urlsplit(url)
    if parts.scheme == "filesystem":
        return "Embedded (filesystem folder, one machine only)"
    if parts.scheme in ("redis", "rediss"):
        # Host and port only: the URL may carry a password.
        where = f"{parts.hostname}:{parts.port or 6379}" if parts.hostname else "local"
        tls = ", TLS" if parts.scheme == "rediss" else ""
        return f"Redis at {where}{tls}"
    if parts.scheme == "memory":
        return "In-memory (tests only)"
    return parts.scheme or "unknown"


def _email_label() -> str:
    provider = settings.EMAIL_PROVIDER
    if not provider:
        return "Kept in the outbox and printed to the console (nothing is delivered)"
    if provider == "smtp":
        security = " with TLS" if settings.EMAIL_USE_TLS else ""
        security = " with SSL" if settings.EMAIL_USE_SSL else security
        return f"SMTP via {settings.EMAIL_HOST}:{settings.EMAIL_PORT}{security}"
    return f"Email provider through Anymail: {provider}"


def _configuration() -> list[tuple[str, str]]:
    return [
        ("Database", _database_label()),
        ("Task broker", _broker_label()),
        ("Email", _email_label()),
        ("Links in emails start with", settings.PUBLIC_BASE_URL),
        ("Debug mode", "On (development only)" if settings.DEBUG else "Off"),
    ]


@staff_view
@require_http_methods(["GET", "HEAD", "POST"])
def system(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        services.worker_ping_request(user=request.user)
        return redirect("system")
    status = _worker_status(request.user, timezone.now())
    if request.htmx:
        return render(request, "programs/system.html#status", {"status": status})
    return render(
        request,
        "programs/system.html",
        {"status": status, "configuration": _configuration()},
    )
