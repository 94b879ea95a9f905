"""When a mentor request expires: business days in the organization's calendar.

The rule is in docs/design.md ("Decisions", a request's deadline): the end of
the Nth business day after the request, in the organization's time zone,
skipping weekends and its country's public holidays; stored once, in UTC.
"""

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from pairing_admin.lib.i18n import long_date, program_language

# The end of a day, as precisely as a datetime goes: 23:59:59.999999.
END_OF_DAY = time.max


@lru_cache(maxsize=256)
def _holidays(country: str, year: int) -> frozenset[date]:
    try:
        calendar = holidays.country_holidays(country, years=year)
    except NotImplementedError:
        # The holidays package's answer for a country it does not know (its
        # documented API, tested): count weekends only.
        return frozenset()
    return frozenset(calendar.keys())


def is_business_day(day: date, country: str) -> bool:
    return day.weekday() < 5 and day not in _holidays(country, day.year)


def add_business_days(day: date, count: int, country: str) -> date:
    """The `count`th business day after `day` (`day` itself never counts)."""
    found = 0
    while found < count:
        day += timedelta(days=1)
        if is_business_day(day, country):
            found += 1
    return day


def request_deadline(
    created_at: datetime, *, business_days: int, timezone_name: str, country: str
) -> datetime:
    """The end of the Nth business day after the day `created_at` falls on, in UTC."""
    zone = ZoneInfo(timezone_name)
    local_day = created_at.astimezone(zone).date()
    last_day = add_business_days(local_day, business_days, country)
    return datetime.combine(last_day, END_OF_DAY, tzinfo=zone).astimezone(ZoneInfo("UTC"))


def deadline_for_program(created_at: datetime, program) -> datetime:
    organization = program.organization
    return request_deadline(
        created_at,
        business_days=program.request_expiry_business_days,
        timezone_name=organization.timezone,
        country=organization.country,
    )


def deadline_label(deadline: datetime, timezone_name: str) -> str:
    """How emails and pages say a deadline, in the active language: "Wednesday 3
    December", "mercredi 3 décembre" (participants read it in their program's)."""
    return long_date(deadline.astimezone(ZoneInfo(timezone_name)))


def deadline_label_for(deadline: datetime, program) -> str:
    """A deadline as the program's participants read it: its zone, its language
    (for emails, which are written whatever language the admin's page is in)."""
    with program_language(program):
        return deadline_label(deadline, program.organization.timezone)
