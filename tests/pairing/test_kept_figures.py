"""Each pairing's kept figures (held sessions, last session, its people's names) equal a
recount after every service that changes them, under races too; the Active Pairings tab
lists the same rows in the same order as a recount sorts them, on every page, in a fixed
number of queries."""

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from pairing import health, pairing_figures, services
from pairing.models import MentoringSession, Pairing
from programs.models import Participant
from tests import factories
from tests.support.builders import pair
from tests.support.race import race


def _recount(pairing, today) -> tuple[int, object]:
    """Held sessions as the health rules define them: not cancelled, dated today or earlier."""
    held = [
        s.date
        for s in MentoringSession.objects.filter(pairing=pairing)
        if s.status != MentoringSession.Status.CANCELLED and s.date <= today
    ]
    return len(held), max(held, default=None)


def _kept(pairing) -> tuple[int, object]:
    pairing.refresh_from_db()
    return pairing.sessions_done, pairing.last_session


def _names(pairing) -> tuple[str, str, str, str]:
    p = Pairing.objects.select_related("mentee", "mentor").get(pk=pairing.pk)
    kept = (p.mentee_last_name, p.mentee_first_name, p.mentor_last_name, p.mentor_first_name)
    assert kept == (
        p.mentee.last_name,
        p.mentee.first_name,
        p.mentor.last_name,
        p.mentor.first_name,
    )
    return kept


def test_kept_figures_equal_a_recount_after_each_service(program, org_admin):
    pairing = pair(program, days_ago=40)
    today = health.local_today(program)
    assert _kept(pairing) == (0, None)

    services.session_log(pairing=pairing, on=today - timedelta(days=9), minutes=30, user=org_admin)
    assert _kept(pairing) == _recount(pairing, today) == (1, today - timedelta(days=9))

    mentee = pairing.mentee
    services.session_log(
        pairing=pairing, on=today - timedelta(days=3), minutes=45, participant=mentee
    )
    assert _kept(pairing) == _recount(pairing, today) == (2, today - timedelta(days=3))

    # An upcoming session is not held yet...
    upcoming = services.session_log(
        pairing=pairing, on=today + timedelta(days=2), minutes=30, user=org_admin
    )
    assert upcoming.status == MentoringSession.Status.SCHEDULED
    assert _kept(pairing) == _recount(pairing, today) == (2, today - timedelta(days=3))

    # ...until its day comes: the beat sweep marks it held (a page only reads).
    later = timezone.now() + timedelta(days=3)
    later_day = health.local_today(program, later)
    list(health.active_pairings(program, now=later))
    assert MentoringSession.objects.get(pk=upcoming.pk).status == MentoringSession.Status.SCHEDULED
    assert services.sessions_hold_due_everywhere(now=later) == 1
    row = health.active_pairings(program, now=later).get(pk=pairing.pk)
    assert (row.sessions_done, row.last_session) == _recount(pairing, later_day)
    assert _kept(pairing) == (3, today + timedelta(days=2))
    assert MentoringSession.objects.get(pk=upcoming.pk).status == MentoringSession.Status.LOGGED

    last = MentoringSession.objects.get(pk=upcoming.pk)
    services.session_cancel(program=program, session_id=last.pk, user=org_admin)
    assert _kept(pairing) == _recount(pairing, later_day) == (2, today - timedelta(days=3))

    # Ending the pairing cancels its upcoming sessions; the held ones stay counted.
    services.session_log(pairing=pairing, on=today + timedelta(days=30), minutes=30, user=org_admin)
    services.pairing_end(
        program=program, pairing_id=pairing.pk, user=org_admin, reason="Done", notify=False
    )
    assert _kept(pairing) == _recount(pairing, today) == (2, today - timedelta(days=3))

    # Deleting a session (as a cascade does) recounts too.
    MentoringSession.objects.filter(pairing=pairing).delete()
    assert _kept(pairing) == (0, None)


def test_the_database_keeps_the_figures_of_sessions_written_directly(program):
    pairing = pair(program, days_ago=60, sessions=[50, 20, 2])
    today = timezone.localdate()
    assert _kept(pairing) == _recount(pairing, today) == (3, today - timedelta(days=2))
    MentoringSession.objects.filter(pairing=pairing, date=today - timedelta(days=2)).update(
        status=MentoringSession.Status.CANCELLED, cancelled_at=timezone.now()
    )
    assert _kept(pairing) == (2, today - timedelta(days=20))
    other = pair(program, days_ago=60)
    MentoringSession.objects.filter(pairing=pairing).update(pairing=other)  # moved: both recounted
    assert _kept(pairing) == (0, None)
    assert _kept(other) == (2, today - timedelta(days=20))


def test_names_are_copied_when_paired_and_follow_a_rename(program):
    pairing = pair(program)
    _names(pairing)
    mentee = Participant.objects.get(pk=pairing.mentee_id)
    mentee.first_name, mentee.last_name = "Zelda", "Aaronson"
    mentee.save()
    assert _names(pairing)[:2] == ("Aaronson", "Zelda")
    Participant.objects.filter(pk=pairing.mentor_id).update(last_name="Quimby")
    assert _names(pairing)[2] == "Quimby"
    bulk = Pairing.objects.bulk_create(
        [Pairing(program=program, mentee=factories.ParticipantFactory(program=program),
                 mentor=mentee, origin="admin")]
    )  # fmt: skip
    assert _names(bulk[0])[2:] == ("Aaronson", "Zelda")


def test_the_migrations_fill_computes_what_the_triggers_keep(program):
    kept = [pair(program, days_ago=30, sessions=s) for s in ([], [1], [29, 3], [31])]
    before = [(_kept(p), _names(p)) for p in kept]
    Pairing.objects.update(
        sessions_done=0, last_session=None, mentee_last_name="", mentee_first_name="",
        mentor_last_name="", mentor_first_name="",
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(pairing_figures.FILL)
    assert [(_kept(p), _names(p)) for p in kept] == before


# --- Races ------------------------------------------------------------------------------


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_logs_cancels_and_a_reader_leave_the_right_figures(org):
    program = factories.ProgramFactory(organization=org)
    admin = factories.MembershipFactory(organization=org).user
    pairing = pair(program, days_ago=100)
    today = health.local_today(program)
    held = [
        services.session_log(pairing=pairing, on=today - timedelta(days=d), minutes=30, user=admin)
        for d in (40, 30, 20)
    ]
    MentoringSession.objects.create(  # upcoming, but its day has come: the sweep marks it
        program=program, pairing=pairing, date=today, minutes=30, status="scheduled"
    )
    actions = [
        lambda d=d: services.session_log(
            pairing=pairing, on=today - timedelta(days=d), minutes=30, user=admin
        )
        for d in (1, 2, 3, 4)
    ]
    actions += [
        lambda s=s: services.session_cancel(program=program, session_id=s.pk, user=admin)
        for s in held
    ]
    actions.append(lambda: services.sessions_hold_due(program, today))
    actions.append(lambda: list(health.active_pairings(program)))
    outcomes = race(actions)
    assert outcomes == ["won"] * len(actions)
    services.sessions_hold_due(program, today)  # in case the sweep skipped the held row
    assert _kept(pairing) == _recount(pairing, today) == (5, today)


# --- The tab's rows and order -----------------------------------------------------------

SURNAMES = ["Adams", "Baker", "Baker", "Chen", "Diaz", "Evans", "Baker", "Ng"]


def _fill(program, size: int) -> None:
    """`size` pairings with names that tie, and every health status, through services."""
    rng = random.Random(17)
    admin = factories.MembershipFactory(organization=program.organization).user
    mentors = [
        factories.MentorFactory(program=program, capacity=50, first_name=first, last_name=last)
        for first, last in [("Kai", "Lee"), ("Ari", "Lee"), ("Kai", "Kim")]
    ]
    today = timezone.localdate()
    # The first three: one of each status (too early, needs a check-in, on track).
    plans = [(2, []), (45, []), (20, [1])]
    for i in range(size):
        mentee = factories.ParticipantFactory(
            program=program, first_name=rng.choice(["Al", "Bo"]), last_name=rng.choice(SURNAMES)
        )
        days = rng.choice([2, 10, 20, 45, 90])
        agos = rng.sample(range(days), k=min(days, rng.choice([0, 0, 1, 2, 3])))
        days, agos = plans[i] if i < len(plans) else (days, agos)
        pairing = pair(program, days_ago=days, mentee=mentee, mentor=mentors[i % 3])
        for ago in agos:
            services.session_log(
                pairing=pairing, on=today - timedelta(days=ago), minutes=30, user=admin
            )


def _expected(program, sort: str, status: str = "") -> list[int]:
    """The tab's order, recounted in Python from the sessions and the people."""
    rules = health.rules_for(program)
    today = health.local_today(program)
    due = health.first_session_due_before(program, rules, today)
    stale = today - timedelta(days=rules.recent_days)
    rows = []
    for p in Pairing.objects.active().filter(program=program).select_related("mentee", "mentor"):
        n, last = _recount(p, today)
        if n == 0:
            state = health.TOO_EARLY if p.started_at >= due else health.CHECK_IN
        else:
            state = health.CHECK_IN if last <= stale else health.ON_TRACK
        rows.append((p, n, last, state))
    if status:
        rows = [r for r in rows if r[3] == status]
    key, descending = health.parse_sort(sort)
    keys = {
        "mentee": lambda r: (r[0].mentee.last_name, r[0].mentee.first_name),
        "mentor": lambda r: (r[0].mentor.last_name, r[0].mentor.first_name),
        "started": lambda r: (r[0].started_at,),
        "sessions": lambda r: (r[1],),
        "health": lambda r: (r[3],),
    }
    if key == "last_session":  # no session first going up, last going down
        order = sorted(rows, key=lambda r: (r[2] is not None, r[2] or today, r[0].pk))
        return [r[0].pk for r in (order[::-1] if descending else order)]
    order = sorted(rows, key=lambda r: (*keys[key](r), r[0].pk), reverse=descending)
    return [r[0].pk for r in order]


def _listed(client, program, **params) -> list[int]:
    url = reverse("pairing:active", kwargs={"program_id": program.pk})
    ids, number = [], 1
    while True:
        page = client.get(url, {**params, "page": number}).context["page"]
        ids += [p.pk for p in page.object_list]
        if not page.has_next():
            return ids
        number += 1


VARIANTS = [{"sort": f"{d}{k}"} for k in health.SORTS for d in ("", "-")] + [
    {"health": status, "sort": sort}
    for status in health.HEALTH_LABELS
    for sort in ("-started", "health", "-health", "mentor")
]


def test_every_sort_and_filter_lists_the_recounted_rows_in_order_on_every_page(
    program, org_admin_client
):
    _fill(program, 130)
    states = {r.health for r in health.active_pairings(program)}
    assert states == set(health.HEALTH_LABELS)  # the pages cross from one status to the next
    for params in VARIANTS:
        expected = _expected(program, params["sort"], params.get("health", ""))
        assert _listed(org_admin_client, program, **params) == expected, params
    # The export lists the same rows in the same order.
    for params in ({"sort": "health"}, {"sort": "-mentee", "health": "check_in"}):
        exported = list(health.active_pairings(program, **params).values_list("pk", flat=True))
        assert exported == _expected(program, params["sort"], params.get("health", "")), params


@pytest.mark.parametrize("size", [5, 120])
@pytest.mark.parametrize(
    "params",
    [{"sort": "health"}, {"sort": "-health", "page": 2}, {"health": "check_in"},
     {"sort": "mentee", "page": 3}, {"sort": "-last_session", "health": "on_track"}],
)  # fmt: skip
def test_query_count_is_fixed_for_every_sort_filter_and_page(
    size, params, program, org_admin_client, django_assert_num_queries
):
    _fill(program, size)
    url = reverse("pairing:active", kwargs={"program_id": program.pk})
    # session, user, membership check, program, health rules, count, one page of
    # rows, and the session's save (3, with its savepoint)
    with django_assert_num_queries(10):
        response = org_admin_client.get(url, params)
    assert response.status_code == 200


def test_health_tab_session_figures_equal_a_recount(program, org_admin):
    pairing = pair(program, days_ago=200, sessions=[150, 95, 40, 20, 6, 0])
    ended = pair(program, days_ago=120, sessions=[100, 10])
    services.pairing_end(
        program=program, pairing_id=ended.pk, user=org_admin, reason="Done", notify=False
    )
    today = health.local_today(program)
    MentoringSession.objects.create(  # cancelled: never counts
        program=program, pairing=pairing, date=today - timedelta(days=3), minutes=30,
        status="cancelled", cancelled_at=timezone.now(),
    )  # fmt: skip
    services.session_log(pairing=pairing, on=today + timedelta(days=4), minutes=30, user=org_admin)
    held = [
        s.date
        for s in MentoringSession.objects.filter(program=program)
        if s.status != MentoringSession.Status.CANCELLED and s.date <= today
    ]
    summary = health.health_summary(program)
    sessions = summary["sessions"]
    assert sessions["total"] == len(held) == 8
    assert sessions["last_30"] == sum(d > today - timedelta(days=30) for d in held)
    first_week = today - timedelta(days=today.weekday(), weeks=health.CHART_WEEKS - 1)
    assert sum(sessions[f"w{i}"] for i in range(health.CHART_WEEKS)) == sum(
        d >= first_week for d in held
    )


def test_the_sweep_holds_due_sessions_by_each_organizations_own_day(org, other_org):
    """Pages never write: the beat task marks upcoming sessions held once their day has
    come where the program is, and leaves the others upcoming."""
    from pairing.tasks import hold_due_sessions

    org.timezone = "Pacific/Kiritimati"  # UTC+14: its day starts first
    org.save()
    other_org.timezone = "Pacific/Pago_Pago"  # UTC-11
    other_org.save()
    early, late = (factories.ProgramFactory(organization=o) for o in (org, other_org))
    sessions = {}
    for program, ahead in ((early, 1), (late, 2)):
        pairing = pair(program, days_ago=10)
        sessions[program.pk] = services.session_log(
            pairing=pairing, on=health.local_today(program) + timedelta(days=ahead), minutes=30,
            participant=pairing.mentee,
        )  # fmt: skip
    # A minute into Kiritimati's tomorrow: Pago Pago, 25 hours behind, is still two days
    # before its session.
    tomorrow = health.local_today(early) + timedelta(days=1)
    then = datetime.combine(tomorrow, time(0, 1), ZoneInfo("Pacific/Kiritimati"))
    assert services.sessions_hold_due_everywhere(now=then) == 2
    status = {pk: MentoringSession.objects.get(pk=s.pk).status for pk, s in sessions.items()}
    assert status[early.pk] == MentoringSession.Status.LOGGED
    assert status[late.pk] == MentoringSession.Status.SCHEDULED
    hold_due_sessions()  # the task, today: the late one's day has not come
    assert MentoringSession.objects.get(pk=sessions[late.pk].pk).status == "scheduled"
