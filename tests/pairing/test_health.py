"""Monitor Health: status rules (defaults and the program's own), reasons, live figures,
charts without JavaScript, a fixed query count."""

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from pairing import export, health, services
from pairing.models import HealthRules, MentoringSession, Pairing
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.models import OutboundEmail
from programs.models import ActivityEvent
from tests import factories
from tests.support.builders import pair


def _status(program, pairing):
    return health.active_pairings(program).get(pk=pairing.pk)


@pytest.mark.parametrize(
    "days_ago, sessions, expected, reason",
    [
        (3, [], "too_early", ""),
        (13, [], "too_early", ""),
        (15, [], "check_in", "no_first_session"),
        (20, [5], "on_track", ""),
        (90, [31], "check_in", "no_recent_session"),
        (90, [29], "on_track", ""),
        (5, [1], "on_track", ""),
    ],
)
def test_default_rules(program, days_ago, sessions, expected, reason):
    row = _status(program, pair(program, days_ago=days_ago, sessions=sessions))
    assert (row.health, row.check_in_reason) == (expected, reason)


def test_cancelled_and_future_sessions_do_not_count(program):
    pairing = pair(program, days_ago=20)
    MentoringSession.objects.create(
        program=program, pairing=pairing, date=timezone.localdate() - timedelta(days=1),
        minutes=30, status="cancelled", cancelled_at=timezone.now(),
    )  # fmt: skip
    MentoringSession.objects.create(
        program=program, pairing=pairing, date=timezone.localdate() + timedelta(days=3),
        minutes=30, status="scheduled",
    )  # fmt: skip
    row = _status(program, pairing)
    assert row.sessions_done == 0 and row.health == "check_in"


def test_reasons_say_why_in_words(program):
    rules = health.Rules()
    today = health.local_today(program)
    tz = ZoneInfo(program.organization.timezone)
    first = _status(program, pair(program, days_ago=20))
    assert "No session logged since the start, 20 days ago" in health.reason_text(
        first, rules, today, tz
    )
    stale = _status(program, pair(program, days_ago=90, sessions=[45]))
    assert "the last one was 45 days ago" in health.reason_text(stale, rules, today, tz)


def test_programs_own_rules_change_the_status(program, org_admin):
    pairing = pair(program, days_ago=20)
    assert _status(program, pairing).health == "check_in"
    services.health_rules_update(
        program=program, user=org_admin, first_session_days=28, recent_days=60
    )
    assert _status(program, pairing).health == "too_early"
    assert ActivityEvent.objects.filter(verb="health_rules_changed").exists()
    with pytest.raises(DomainError, match="between 1 and 365"):
        services.health_rules_update(
            program=program, user=org_admin, first_session_days=0, recent_days=60
        )


def test_rules_page_saves_and_refuses_bad_values(program, org_admin_client):
    url = reverse("pairing:health_rules", kwargs={"program_id": program.pk})
    page = org_admin_client.get(url).content.decode()
    assert "First session expected within (days)" in page
    assert "never On Track before a session is logged" in page
    response = org_admin_client.post(url, {"first_session_days": 10, "recent_days": 21})
    assert response.status_code == 302
    assert health.rules_for(program) == health.Rules(10, 21)
    response = org_admin_client.post(url, {"first_session_days": 0, "recent_days": 21})
    assert response.status_code == 400
    assert health.rules_for(program) == health.Rules(10, 21)


def test_health_tab_shows_live_figures_check_ins_and_charts(program, org_admin_client):
    pair(program, days_ago=3)
    stale = pair(program, days_ago=90, sessions=[45, 60])
    stale.mentee.first_name = "Stella"
    stale.mentee.save()
    pair(program, days_ago=40, sessions=[1, 8])
    factories.ParticipantFactory(program=program)  # unpaired
    factories.MentorRequestFactory(
        program=program, mentor=stale.mentor, expires_at=timezone.now() + timedelta(days=1)
    )
    for i, status in enumerate(["failed", "bounced", "sent"]):
        OutboundEmail.objects.create(
            program=program, kind="invitation", idempotency_key=f"k{i}", to_email="a@b.c",
            subject="s", body_text="b", status=status,
        )  # fmt: skip
    url = reverse("pairing:health", kwargs={"program_id": program.pk})
    response = org_admin_client.get(url)
    summary = response.context["summary"]
    assert summary["pairings"]["active"] == 3
    assert summary["sessions"]["total"] == 4 and summary["sessions"]["last_30"] == 2
    assert summary["share_recent"] == 33
    assert summary["pending"]["total"] == 1 and summary["pending"]["under_1"] == 1
    assert summary["unpaired"] == 2
    assert summary["emails"] == {"failed": 1, "bounced": 1}
    html = response.content.decode()
    # Each email figure links to exactly the emails it counts (the log filters on one status).
    log = reverse("email_log:list", kwargs={"program_id": program.pk})
    assert f'<dd id="emails-failed"><a href="{log}?status=failed">1</a>' in html
    assert f'<dd id="emails-bounced"><a href="{log}?status=bounced">1</a>' in html
    assert "Stella" in html and "the last one was 45 days ago" in html
    assert reverse("pairing:detail", args=[program.pk, stale.pk]) in html
    assert html.count("<svg") == 2 and "Sessions held per week as a table" in html
    assert "<script" not in html.split("<main", 1)[-1]
    # Live: a session logged now changes the next page load.
    services.session_log(
        pairing=stale, on=timezone.localdate(), minutes=30, participant=stale.mentee
    )
    again = org_admin_client.get(url).context["summary"]
    assert again["sessions"]["total"] == 5 and again["pairings"]["check_in"] == 0


def test_active_pairings_over_time_counts_ended_ones_while_they_lasted(program):
    ended = pair(program, days_ago=50)
    Pairing.objects.filter(pk=ended.pk).update(
        status="ended", ended_at=timezone.now() - timedelta(days=20)
    )
    pair(program, days_ago=5)
    bars = health.health_summary(program)["active_chart"].bars
    assert bars[-1].value == 1  # this week: only the new one
    assert bars[-5].value == 1  # a month ago: only the ended one
    assert max(b.value for b in bars) >= 1


@pytest.mark.parametrize("size", [5, 150])
def test_health_tab_query_count_is_fixed(
    size, program, org_admin_client, django_assert_num_queries
):
    mentor = factories.MentorFactory(program=program, capacity=50)
    mentees = factories.ParticipantFactory.create_batch(size, program=program)
    Pairing.objects.bulk_create(
        Pairing(program=program, mentee=m, mentor=mentor, origin="request") for m in mentees
    )
    Pairing.objects.update(started_at=timezone.now() - timedelta(days=20))  # all need a check-in
    url = reverse("pairing:health", kwargs={"program_id": program.pk})
    # session, user, membership, program, rules, pairing figures with the check-in rows,
    # sessions per day, over time, pending requests, unpaired, emails, the session save (3)
    with django_assert_num_queries(14):
        response = org_admin_client.get(url)
    assert len(response.context["summary"]["check_in"]) == min(size, health.CHECK_IN_LIST_MAX)


def test_health_tab_is_404_for_outsiders(program, other_admin_client):
    url = reverse("pairing:health", kwargs={"program_id": program.pk})
    assert other_admin_client.get(url).status_code == 404
    rules = reverse("pairing:health_rules", kwargs={"program_id": program.pk})
    assert other_admin_client.post(rules, {"early_days": 1}).status_code == 404


CASES = [(3, []), (13, []), (15, []), (25, []), (18, []), (20, [5]), (90, [31]), (90, [29]), (5, [1]), (40, [35]),
         (60, [50, 20, 2]), (200, [100, 45]), (30, [30]), (16, [15])]  # fmt: skip


@pytest.mark.parametrize("custom_rules", [False, True])
def test_health_tab_figures_agree_with_the_active_pairings_annotations(
    program, org_admin, custom_rules
):
    """The Health tab's derived table and the Active Pairings tab's annotations: same rules."""
    if custom_rules:
        services.health_rules_update(
            program=program, user=org_admin, first_session_days=21, recent_days=40
        )
    for days_ago, sessions in CASES:
        pairing = pair(program, days_ago=days_ago, sessions=sessions)
        MentoringSession.objects.create(  # never counts
            program=program, pairing=pairing, date=timezone.localdate() - timedelta(days=1),
            minutes=30, status="cancelled", cancelled_at=timezone.now(),
        )  # fmt: skip
    gone = pair(program, days_ago=90)
    Pairing.objects.filter(pk=gone.pk).update(status="ended", ended_at=timezone.now())
    summary = health.health_summary(program)
    rows = list(health.active_pairings(program))
    figures = summary["pairings"]
    assert figures["active"] == len(rows) == len(CASES)
    for status in ("on_track", "check_in", "too_early"):
        assert figures[status] == sum(r.health == status for r in rows), status
    assert figures["check_in"] > 0
    recent = timezone.localdate() - timedelta(days=30)
    assert figures["with_recent"] == sum(
        bool(r.last_session and r.last_session > recent) for r in rows
    )
    listed = health.active_pairings(program, health="check_in").order_by(
        F("last_session").asc(nulls_first=True), "started_at", "id"
    )
    assert [p.pk for p in summary["check_in"]] == [p.pk for p in listed]
    by_pk = {r.pk: r for r in rows}
    for item in summary["check_in"]:
        row = by_pk[item.pk]
        assert item.check_in_reason == row.check_in_reason
        assert item.reason == health.reason_text(
            row,
            health.rules_for(program),
            health.local_today(program),
            ZoneInfo(program.organization.timezone),
        )
        assert item.mentee_name == row.mentee.full_name and item.started_at == row.started_at


def test_check_in_list_is_capped_and_says_how_many_more(program):
    mentor = factories.MentorFactory(program=program, capacity=50)
    mentees = factories.ParticipantFactory.create_batch(
        health.CHECK_IN_LIST_MAX + 3, program=program
    )
    Pairing.objects.bulk_create(
        Pairing(program=program, mentee=m, mentor=mentor, origin="request") for m in mentees
    )
    Pairing.objects.update(started_at=timezone.now() - timedelta(days=20))
    pair(program, days_ago=2)  # too early: never listed
    summary = health.health_summary(program)
    assert len(summary["check_in"]) == health.CHECK_IN_LIST_MAX
    assert summary["check_in_more"] == 3
    assert summary["pairings"]["too_early"] == 1


# --- Local dates: the organization's calendar, not UTC's ----------------------------------


def _auckland_pairing(program, started):
    org = program.organization
    org.timezone = "Pacific/Auckland"
    org.save()
    program.refresh_from_db()
    pairing = pair(program)
    Pairing.objects.filter(pk=pairing.pk).update(started_at=started)
    return pairing


def test_check_in_reason_counts_days_from_the_local_start_date(program):
    tz = ZoneInfo("Pacific/Auckland")
    started = datetime(2026, 1, 1, 10, 0, tzinfo=tz)  # 31 December 21:00 UTC
    pairing = _auckland_pairing(program, started)
    now = datetime(2026, 1, 16, 11, 0, tzinfo=tz)
    item = health.health_summary(program, now=now)["check_in"][0]
    assert item.pk == pairing.pk and item.started_local.isoformat() == "2026-01-01"
    assert "since the start, 15 days ago (the rule allows 14)" in item.reason
    row = health.active_pairings(program, now=now).get(pk=pairing.pk)
    assert health.reason_text(row, health.rules_for(program), date(2026, 1, 16), tz) == (
        item.reason
    )


@pytest.mark.parametrize(
    "local_now, expected",
    [
        # Started 1 January (local): the first session is due on day 14, the 15th.
        (datetime(2026, 1, 14, 23, 59), "too_early"),  # 13 local days
        (datetime(2026, 1, 15, 0, 1), "check_in"),  # 14 local days, though 13d14h elapsed
    ],
)
def test_first_session_deadline_falls_on_a_local_day_in_tab_figures_and_export(
    program, local_now, expected
):
    tz = ZoneInfo("Pacific/Auckland")
    pairing = _auckland_pairing(program, datetime(2026, 1, 1, 10, 0, tzinfo=tz))
    now = local_now.replace(tzinfo=tz)
    assert health.active_pairings(program, now=now).get(pk=pairing.pk).health == expected
    assert health.health_summary(program, now=now)["pairings"][expected] == 1
    (row,) = export.active_rows(program, now=now)  # the export's cells
    assert health.HEALTH_LABELS[expected] in row


# --- A pairing with no session is never On Track ----------------------------------------


def _export(client, program, **params) -> list[list[str]]:
    url = reverse("pairing:export_active", kwargs={"program_id": program.pk})
    response = client.get(url, params)
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(body[1:], newline="")))


def test_no_session_before_the_first_session_is_due_is_too_early_everywhere(
    program, org_admin, org_admin_client
):
    # A program saved before the rules lost their separate "too early" period: 7 < 14 once
    # opened a window in which a pairing without any session read On Track.
    HealthRules.objects.create(program=program, early_days=7, first_session_days=14)
    pairing = pair(program, days_ago=10)
    row = health.active_pairings(program).get(pk=pairing.pk)
    assert (row.health, row.sessions_done) == ("too_early", 0)
    figures = health.health_summary(program)["pairings"]
    assert (figures["too_early"], figures["on_track"]) == (1, 0)
    assert not health.active_pairings(program, health="on_track").exists()
    active = reverse("pairing:active", kwargs={"program_id": program.pk})
    listed = org_admin_client.get(active, {"health": "too_early"}).context["page"]
    assert [p.pk for p in listed] == [pairing.pk]
    header, *rows = _export(org_admin_client, program)
    assert [r[header.index("Health")] for r in rows] == ["Too Early to Tell"]
    assert _export(org_admin_client, program, health="on_track")[1:] == []
    tab = org_admin_client.get(reverse("pairing:health", kwargs={"program_id": program.pk}))
    assert "No session logged yet, and started less than 14 days ago" in tab.content.decode()


def test_saving_unchanged_rules_records_no_activity(program, org_admin, org_admin_client):
    url = reverse("pairing:health_rules", kwargs={"program_id": program.pk})
    assert (
        org_admin_client.post(url, {"first_session_days": 14, "recent_days": 30}).status_code == 302
    )
    services.health_rules_update(
        program=program, user=org_admin, first_session_days=10, recent_days=30
    )
    assert (
        org_admin_client.post(url, {"first_session_days": 10, "recent_days": 30}).status_code == 302
    )
    lines = ActivityEvent.objects.filter(program=program, verb="health_rules_changed")
    assert [e.detail for e in lines] == ["first session within 10 days, a session every 30 days"]
