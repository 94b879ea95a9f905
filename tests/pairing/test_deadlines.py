from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pairing.deadlines import deadline_label, is_business_day, request_deadline

LONDON = "Europe/London"
NEW_YORK = "America/New_York"
UTC = ZoneInfo("UTC")


def _at(text: str, zone: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def _deadline(created: str, zone: str = LONDON, country: str = "GB", days: int = 3) -> datetime:
    return request_deadline(
        _at(created, zone), business_days=days, timezone_name=zone, country=country
    )


def _local(deadline: datetime, zone: str = LONDON) -> str:
    return deadline.astimezone(ZoneInfo(zone)).isoformat(timespec="microseconds")


@pytest.mark.parametrize(
    ("created", "expected_local_end", "why"),
    [
        ("2026-11-27T17:00", "2026-12-02", "Friday 17:00 -> Wednesday"),
        ("2026-11-30T09:00", "2026-12-03", "Monday 09:00 -> Thursday"),
        ("2026-11-28T11:00", "2026-12-02", "Saturday counts from Monday -> Wednesday"),
        ("2026-11-29T23:30", "2026-12-02", "Sunday late evening -> Wednesday"),
        (
            "2026-12-23T10:00",
            "2026-12-30",
            "before Christmas: 25th, 28th (Boxing Day moved) skipped",
        ),
        ("2026-12-25T10:00", "2026-12-31", "on Christmas Day (a holiday): counts from the 29th"),
        (
            "2027-03-25T10:00",
            "2027-03-31",
            "before Good Friday 2027 (UK-wide; Easter Monday is not)",
        ),
        ("2026-03-27T12:00", "2026-04-01", "across the spring DST change (29 March)"),
        ("2026-10-23T12:00", "2026-10-28", "across the autumn DST change (25 October)"),
    ],
)
def test_business_day_table_in_london(created, expected_local_end, why):
    deadline = _deadline(created)
    # Summer time (UTC+1) from the last Sunday of March to the last Sunday of October.
    day = datetime.fromisoformat(expected_local_end)
    summer = datetime(day.year, 3, 25) < day < datetime(day.year, 10, 25)
    offset = "+01:00" if summer else "+00:00"
    assert _local(deadline) == f"{expected_local_end}T23:59:59.999999{offset}", why
    assert deadline.tzinfo is not None and deadline.utcoffset().total_seconds() == 0


def test_deadline_is_stored_in_utc_with_the_local_offset_applied():
    # Summer: London is UTC+1, so the local end of day is 22:59:59 UTC.
    deadline = _deadline("2026-06-01T09:00")
    assert deadline == datetime(2026, 6, 4, 22, 59, 59, 999999, tzinfo=UTC)


def test_two_timezones_give_different_instants_for_the_same_local_rule():
    london = _deadline("2026-11-30T09:00")
    new_york = _deadline("2026-11-30T09:00", zone=NEW_YORK, country="US")
    assert _local(london).startswith("2026-12-03T23:59:59")
    assert _local(new_york, NEW_YORK).startswith("2026-12-03T23:59:59")
    assert (new_york - london).total_seconds() == 5 * 3600


def test_the_same_instant_is_a_different_day_in_another_timezone():
    # 03:00 UTC on Saturday is still Friday evening in New York.
    instant = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    in_new_york = request_deadline(instant, business_days=3, timezone_name=NEW_YORK, country="US")
    in_london = request_deadline(instant, business_days=3, timezone_name=LONDON, country="GB")
    assert _local(in_new_york, NEW_YORK).startswith("2026-12-02T23:59:59")
    assert _local(in_london).startswith("2026-12-02T23:59:59")


def test_us_holiday_is_skipped_but_not_in_gb():
    # Thanksgiving 2026 is Thursday 26 November.
    us = _deadline("2026-11-24T10:00", zone=NEW_YORK, country="US")
    gb = _deadline("2026-11-24T10:00")
    assert _local(us, NEW_YORK).startswith("2026-11-30T23:59:59")  # Wed, Fri, Mon
    assert _local(gb).startswith("2026-11-27T23:59:59")  # Wed, Thu, Fri


def test_a_request_made_on_a_holiday_counts_from_the_next_business_day():
    # Thanksgiving itself (a Thursday): Fri, Mon, Tue.
    deadline = _deadline("2026-11-26T10:00", zone=NEW_YORK, country="US")
    assert _local(deadline, NEW_YORK).startswith("2026-12-01T23:59:59")


def test_is_business_day_knows_weekends_and_holidays():
    assert is_business_day(datetime(2026, 12, 2).date(), "GB")
    assert not is_business_day(datetime(2026, 12, 5).date(), "GB")  # Saturday
    assert not is_business_day(datetime(2026, 12, 25).date(), "GB")
    assert not is_business_day(datetime(2027, 1, 1).date(), "US")


def test_unknown_country_falls_back_to_weekends_only():
    deadline = _deadline("2026-12-23T10:00", country="ZZ")
    assert _local(deadline).startswith("2026-12-28T23:59:59")


def test_label_is_the_weekday_and_date_in_the_organization_timezone():
    deadline = _deadline("2026-11-27T17:00")
    assert deadline_label(deadline, LONDON) == "Wednesday 2 December"
    # The same instant is already Thursday in Tokyo.
    assert deadline_label(deadline, "Asia/Tokyo") == "Thursday 3 December"
