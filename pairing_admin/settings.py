"""Settings for the pairing admin, driven by environment variables.

Every variable is documented in .env.example. With nothing set the app runs
on embedded defaults: DEBUG on, SQLite, kombu's filesystem broker (no server)
and emails kept in the outbox and printed to the console.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from pairing_admin.lib.env import (
    env_bool,
    env_int,
    env_list,
    env_str,
    env_timezone,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-used-while-DEBUG-is-on"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("http://", "https://")):
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS entries must start with http:// or https://, got {_origin!r}"
        )

# Absolute base of links in emails (preference forms, approve/decline links).
PUBLIC_BASE_URL = env_url(
    "PUBLIC_BASE_URL", "http://127.0.0.1:8000", schemes=("http", "https")
).rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "anymail",
    "axes",
    "csp",
    "pairing_admin.mail",
    "programs",
    "invitations",
    "pairing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "pairing_admin.middleware.IdleSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Logged-in pages (personal data) are never stored by a cache or browser.
    "pairing_admin.middleware.PrivateCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Axes must come last: it turns a locked-out login into its own response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pairing_admin.urls"
WSGI_APPLICATION = "pairing_admin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
_default_db = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
try:
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL", _default_db) or _default_db,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
            conn_health_checks=True,
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles a statement whose estimated cost passes its
    # thresholds; on our pages (the mentor pool, counts over a large program)
    # compiling took most of the request (880 of 950 ms) for queries that run
    # in tens of milliseconds. Off for the app's connections; DATABASE_JIT=1
    # leaves the server's setting in force.
    if not env_bool("DATABASE_JIT", False):
        _options = DATABASES["default"].setdefault("OPTIONS", {})
        _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite is the embedded default for demos; a busy timeout keeps the web
    # process and the worker from tripping over each other's writes.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, login lockouts) --------------------------------------
CACHE_URL = env_url("CACHE_URL", "locmem://", schemes=("locmem", "redis", "rediss"))
if CACHE_URL.startswith("locmem"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            # A Redis that hangs (not one that refuses) must not hang the
            # request: rate limits then count in the process (lib/ratelimit).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }

# --- Auth and sessions -------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "programs:list"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Admin sessions end after this much inactivity: using one pushes its expiry
# forward, at most once a minute (pairing_admin.middleware.IdleSessionMiddleware,
# not a write on every request); an idle tab is logged out.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 120, minimum=5) * 60
SESSION_REFRESH_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Failed logins from one address, across usernames, within the lockout window
# that lock the address out (credential stuffing); see pairing_admin/lockout.py.
LOGIN_IP_FAILURE_LIMIT = env_int("LOGIN_IP_FAILURE_LIMIT", 20, minimum=1)
AXES_HANDLER = "pairing_admin.lockout.LoginLockoutHandler"
# The same client address as the rate limits (TRUSTED_PROXY_COUNT), never a
# forgeable X-Forwarded-For.
AXES_CLIENT_IP_CALLABLE = "pairing_admin.lockout.axes_client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"

# --- Security headers --------------------------------------------------------
_https = env_bool("HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _https)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _https else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
# The preload directive only allows submitting the domain to browsers' list;
# nothing is submitted automatically.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", _https)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    # Only behind a proxy that sets this header itself (docker-compose: gunicorn
    # behind the host's TLS terminator).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# How many proxies of ours stand in front of the app, each appending to
# X-Forwarded-For; rate limits then key on the address the outermost one saw.
# 0: X-Forwarded-For is ignored (anyone can forge it) and REMOTE_ADDR is used.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# Only our own static files: htmx is served locally, there are no inline
# scripts or styles, and htmx is configured (meta tag) not to inject styles
# or evaluate code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# --- Internationalization ----------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_timezone("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True  # storage is always UTC; pages show the organization's zone
# Admin pages are British English. Participant pages and default emails speak
# their program's language (programs.models.PARTICIPANT_LANGUAGES), chosen by
# pairing_admin.lib.i18n, never by the browser; locale/ holds the catalogues
# (`make messages` rebuilds them; the compiled .mo files are committed).
LANGUAGES = [("en-gb", "English"), ("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Static files ------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Celery ------------------------------------------------------------------
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL", "filesystem://", schemes=("filesystem", "redis", "rediss", "memory")
)
if CELERY_BROKER_URL.startswith("filesystem"):
    # The embedded broker: messages are files in var/broker. Same folder in
    # and out; the worker and the web process share it on one machine.
    _broker_dir = VAR_DIR / "broker"
    (_broker_dir / "queue").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # A message unacknowledged this long is redelivered; every task's hard
    # time limit is far below it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Where tasks are published (workers consume it: `celery worker -Q <name>`).
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A pool process whose peak memory passed this many KiB is replaced by a fresh
# one when its task ends. Freed memory is not given back to the system, so
# without it a process that ran one large auto-pair (464 MB at its peak for
# 25,000 mentees) kept 200 MB for good; an idle one holds about 100 MB and
# ordinary tasks stay well below the limit. 0 turns it off.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = (
    env_int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 250_000, minimum=0) or None
)
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_TASK_IGNORE_RESULT = True
# Celery closes the database connection around every task unless told to
# reuse it; pairing_admin.celery closes it as Django does after a request
# (DATABASE_CONN_MAX_AGE, health checks) instead.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# A worker renews its claim on the emails it is sending every third of this;
# emails whose claim was not renewed for this long (their worker died) are
# re-queued by the next sweep, which runs every OUTBOX_SWEEP_SECONDS.
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 30, minimum=2, maximum=600)
OUTBOX_SWEEP_SECONDS = env_int("OUTBOX_SWEEP_SECONDS", 15, minimum=1, maximum=300)
CELERY_BEAT_SCHEDULE = {
    # pairing_admin.mail.tasks.sweep_outbox, under the name it had in invitations.
    "sweep-outbox": {"task": "invitations.tasks.sweep_outbox", "schedule": OUTBOX_SWEEP_SECONDS},
    # Large Invite all batches whose preparation stalled (broker down, worker died).
    "resume-invitation-batches": {
        "task": "invitations.tasks.resume_invitation_batches",
        "schedule": 60.0,
    },
    # Mentor requests past their deadline; reminders one business day before it.
    "expire-requests": {"task": "pairing.tasks.expire_requests", "schedule": 120.0},
    "remind-requests": {"task": "pairing.tasks.remind_requests", "schedule": 300.0},
    "offer-waitlist-seats": {"task": "pairing.tasks.offer_waitlist_seats", "schedule": 300.0},
    # Upcoming sessions whose day has come count as held (the pairings' kept figures).
    "hold-due-sessions": {"task": "pairing.tasks.hold_due_sessions", "schedule": 300.0},
    # Mentors "unavailable until" a day that has come (their organization's zone) resume.
    "resume-unavailable-mentors": {
        "task": "pairing.tasks.resume_unavailable_mentors",
        "schedule": 900.0,
    },
    # Unconfirmed self-registrations: what people typed is not kept for ever.
    "forget-pending-registrations": {
        "task": "programs.tasks.forget_pending_registrations",
        "schedule": 3600.0,
    },
}
# A web request must not hang on a broker that is down: give up publishing
# quickly; the outbox sweeper delivers what could not be handed over.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}

# --- Email -------------------------------------------------------------------
# EMAIL_PROVIDER: empty (keep emails in the outbox and print them), "smtp",
# or an anymail provider name ("mailgun", "postmark", "sendgrid", "amazon_ses",
# "brevo", "resend", "sparkpost", "mailjet", "mandrill", "postal", ...).
EMAIL_PROVIDER = env_str("EMAIL_PROVIDER").lower()
_ANYMAIL_PROVIDERS = {
    "amazon_ses": "anymail.backends.amazon_ses.EmailBackend",
    "brevo": "anymail.backends.brevo.EmailBackend",
    "mailersend": "anymail.backends.mailersend.EmailBackend",
    "mailgun": "anymail.backends.mailgun.EmailBackend",
    "mailjet": "anymail.backends.mailjet.EmailBackend",
    "mandrill": "anymail.backends.mandrill.EmailBackend",
    "postal": "anymail.backends.postal.EmailBackend",
    "postmark": "anymail.backends.postmark.EmailBackend",
    "resend": "anymail.backends.resend.EmailBackend",
    "sendgrid": "anymail.backends.sendgrid.EmailBackend",
    "sparkpost": "anymail.backends.sparkpost.EmailBackend",
}
if EMAIL_PROVIDER == "":
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
elif EMAIL_PROVIDER == "smtp":
    EMAIL_BACKEND = "pairing_admin.mail.smtp.EmailBackend"  # Django's, envelope pipelined
elif EMAIL_PROVIDER == "locmem":
    # Keeps sent emails in the worker's memory: only for benchmarks and tests.
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
elif EMAIL_PROVIDER in _ANYMAIL_PROVIDERS:
    EMAIL_BACKEND = _ANYMAIL_PROVIDERS[EMAIL_PROVIDER]
else:
    raise ImproperlyConfigured(
        f"EMAIL_PROVIDER must be empty, 'smtp', 'locmem' or one of {', '.join(sorted(_ANYMAIL_PROVIDERS))};"
        f" got {EMAIL_PROVIDER!r}"
    )
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Mentoring programs <pairing@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# ANYMAIL_<NAME>=value becomes ANYMAIL["<NAME>"] (API keys, WEBHOOK_SECRET).
ANYMAIL = {
    key.removeprefix("ANYMAIL_"): value
    for key, value in os.environ.items()
    if key.startswith("ANYMAIL_") and value
}

# --- The product's own limits ------------------------------------------------
# Outbox rows queued or sending for longer than this are picked up again by
# the sweeper (broker was down, a worker died).
OUTBOX_STALE_SECONDS = env_int("OUTBOX_STALE_SECONDS", 120, minimum=1)
# First wait before a temporary failure (SMTP 4xx) is retried; it doubles per
# attempt, capped at 30 minutes (below the broker's visibility timeout).
OUTBOX_RETRY_BASE_SECONDS = env_int("OUTBOX_RETRY_BASE_SECONDS", 30, minimum=1, maximum=1800)
# An Invite all for more mentees than this commits only the batch in the
# click; a worker writes the invitations and emails, INVITE_WORKER_CHUNK
# mentees per transaction (sending starts with the first chunk).
INVITE_IN_WORKER_ABOVE = env_int("INVITE_IN_WORKER_ABOVE", 2000, minimum=0)
INVITE_WORKER_CHUNK = env_int("INVITE_WORKER_CHUNK", 5000, minimum=1)
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
REGISTRATION_RATE_LIMIT = env_int("REGISTRATION_RATE_LIMIT", 20, minimum=1)  # per IP per hour

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
}
