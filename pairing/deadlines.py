"""When a mentor request expires: business days in the organization's calendar.

The rule (docs/design.md, "Decisions"): a request made on day D
expires at the end of the Nth business day after D, in the organization's
timezone. Business days are Monday to Friday minus the public holidays of
the organization's country. A request made on a weekend or a holiday counts
the same way: the next business day is day 1. The result is stored once, in
UTC, so a later change of timezone or holiday data never moves a deadline
someone was already told.
"""

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

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
    """How emails and pages say a deadline: "Wednesday 3 December"."""
    local = deadline.astimezone(ZoneInfo(timezone_name))
    return f"{local:%A} {local.day} {local:%B}"
