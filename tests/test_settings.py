"""Settings come from the environment; a malformed value stops start-up naming it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = "import django; django.setup(); from django.conf import settings; print(settings.{})"


def _start(env: dict[str, str], show: str = "DEBUG") -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}
    }
    clean.update(DJANGO_SETTINGS_MODULE="pairing_admin.settings", VAR_DIR=str(ROOT / "var"), **env)
    return subprocess.run(
        [sys.executable, "-c", PROBE.format(show)],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "false"}, "SECRET_KEY"),
        ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"CELERY_BROKER_URL": "amqq://oops"}, "CELERY_BROKER_URL"),
        ({"EMAIL_PORT": "twenty-five"}, "EMAIL_PORT"),
        ({"EMAIL_PROVIDER": "carrier-pigeon"}, "EMAIL_PROVIDER"),
        ({"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE"),
        ({"CSRF_TRUSTED_ORIGINS": "example.org"}, "CSRF_TRUSTED_ORIGINS"),
        ({"ALLOWED_HOSTS": "a.org,,b.org"}, "ALLOWED_HOSTS"),
        ({"SESSION_IDLE_MINUTES": "1"}, "SESSION_IDLE_MINUTES"),
    ],
)
def test_malformed_setting_stops_start_up_naming_the_variable(env, named):
    result = _start(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.splitlines()[-1]


def test_nothing_set_runs_on_embedded_defaults():
    result = _start(
        {},
        show="DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL, settings.EMAIL_BACKEND",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "filesystem://",
        "django.core.mail.backends.console.EmailBackend",
    ]


def test_production_settings_are_secure():
    env = {
        "DEBUG": "false",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "pairing.example.org",
        "EMAIL_PROVIDER": "postmark",
        "ANYMAIL_POSTMARK_SERVER_TOKEN": "token",
    }
    show = (
        "SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS > 0, "
        "settings.SECURE_SSL_REDIRECT, settings.ANYMAIL['POSTMARK_SERVER_TOKEN'], settings.EMAIL_BACKEND"
    )
    result = _start(env, show=show)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "True", "True", "True", "True", "token", "anymail.backends.postmark.EmailBackend",
    ]  # fmt: skip


@pytest.mark.parametrize(("jit", "options"), [({}, "-c jit=off"), ({"DATABASE_JIT": "1"}, "")])
def test_postgresql_connections_turn_jit_off_unless_asked(jit, options):
    result = _start(
        {"DATABASE_URL": "postgres://app@db:5432/pairing", **jit},
        show="DATABASES['default']['OPTIONS'].get('options', '')",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == options


@pytest.mark.django_db
def test_the_apps_postgresql_connection_runs_without_jit():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("JIT is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
