"""The language participants are spoken to in: their program's, whatever their browser says.

Admin pages stay in the site's language (settings.LANGUAGE_CODE). A mentee
opening a French program's link sees French pages and receives French
default emails, because the program chose it, not because of a browser or a
cookie that the program team never sees. Only a page that knows no program
(an unknown or expired link) falls back to the browser's preference among
the languages we ship, else English.
"""

from contextlib import contextmanager
from datetime import date, datetime
from functools import wraps

from django.http import HttpRequest
from django.utils import translation
from django.utils.formats import date_format

# The languages participant pages and default emails are shipped in; the
# first is the fallback (programs.models.PARTICIPANT_LANGUAGES lists the same).
SHIPPED = ("en", "fr")


def language_of(program) -> str:
    """The program's participant language, or English for none or an unknown one."""
    language = getattr(program, "language", "") or SHIPPED[0]
    return language if language in SHIPPED else SHIPPED[0]


@contextmanager
def program_language(program):
    """Everything inside (gettext, date formats, rendering) speaks the program's language."""
    with translation.override(language_of(program)):
        yield


def _quality(part: str) -> float:
    _, _, q = part.partition(";q=")
    try:
        return float(q) if q else 1.0
    except ValueError:
        return 0.0


def browser_language(request: HttpRequest) -> str:
    """The shipped language the browser prefers most (Accept-Language), else English."""
    parts = request.headers.get("Accept-Language", "").replace(" ", "").split(",")
    for part in sorted(parts, key=_quality, reverse=True):  # stable: header order breaks ties
        base = part.split(";")[0].lower().split("-")[0]
        if base in SHIPPED and _quality(part) > 0:
            return base
    return SHIPPED[0]


def participant_page(view):
    """Decorate a participant view: it starts in the browser's shipped language (the
    neutral pages know no program) and switches to its program's once it knows it
    (use_program_language); the response says which language it was in."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        with translation.override(browser_language(request)):
            response = view(request, *args, **kwargs)
            response.headers.setdefault("Content-Language", translation.get_language())
        return response

    return wrapper


def use_program_language(program) -> None:
    """Inside a participant_page view: speak the program's language from here on
    (the decorator puts the previous language back when the view returns)."""
    translation.activate(language_of(program))


def long_date(value: date | datetime) -> str:
    """A day as participants read it in the active language: "Monday 14 December",
    "lundi 14 décembre"."""
    return date_format(value, translation.pgettext("long date, no year", "l j F"))


def long_date_time(value: datetime) -> str:
    """A day and a time in the active language: "Monday 14 December at 14:00"."""
    return date_format(value, translation.pgettext("long date and time", r"l j F \a\t H:i"))


__all__ = [
    "SHIPPED",
    "browser_language",
    "language_of",
    "long_date",
    "long_date_time",
    "participant_page",
    "program_language",
    "use_program_language",
]
