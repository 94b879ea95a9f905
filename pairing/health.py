"""Monitor Health: the health of each active pairing, and the program's figures.

Computed in SQL from each pairing row's kept figures (its held sessions' count and last date,
kept by the database: pairing.pairing_figures) and the program's rules (HealthRules), live at
any size and from the pairing row alone, in two forms tests hold equal: ORM annotations (`with_health`, the Active Pairings tab) and a
derived table (`health_table`) for the Health tab's figures and the PostgreSQL export. Too
Early to Tell: no session, the first not yet due. Needs Check-in: none `first_session_days`
after the start, or none in the last `recent_days`. On Track: the last held session within
`recent_days`. Days are calendar days of the organization's time zone.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    Func,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import cached_property

from pairing.models import (
    HealthRules,
    MenteeStanding,
    MentoringSession,
    MentorRequest,
    Pairing,
    PendingRequest,
    StandingCount,
    last_session_order,
)
from pairing_admin.lib.search import search_words, words_filter
from pairing_admin.mail.models import OutboundEmail
from programs.models import Program
from programs.selectors import PAIR_NAME_FIELDS

PAGE_SIZE = 50
CHECK_IN_LIST_MAX = 100
_PAIRED = (MenteeStanding.State.NOT_MENTEE, MenteeStanding.State.PAIRED)
CHART_WEEKS = 12

ON_TRACK = "on_track"
CHECK_IN = "check_in"
TOO_EARLY = "too_early"
HEALTH_LABELS = {ON_TRACK: "On Track", CHECK_IN: "Needs Check-in", TOO_EARLY: "Too Early to Tell"}
# Why a pairing needs a check-in (annotated next to the status).
NO_FIRST_SESSION = "no_first_session"
NO_RECENT_SESSION = "no_recent_session"


@dataclass(frozen=True)
class Rules:
    """Two numbers. A pairing without a session is Too Early to Tell until its first
    session is due, so a separate "too early" period could only open a window in
    which a pairing with no session at all read On Track (HealthRules.early_days
    is kept equal to first_session_days and not read)."""

    first_session_days: int = 14
    recent_days: int = 30

    def describe(self) -> list[tuple[str, str]]:
        """The published rules, in words, for the Health tab."""
        return [
            (
                HEALTH_LABELS[TOO_EARLY],
                f"No session logged yet, and started less than {self.first_session_days} "
                "days ago (the time allowed for a first session).",
            ),
            (
                HEALTH_LABELS[CHECK_IN],
                f"No session logged {self.first_session_days} days after the start, "
                f"or no session in the last {self.recent_days} days.",
            ),
            (
                HEALTH_LABELS[ON_TRACK],
                f"A session held, the last one within the last {self.recent_days} days.",
            ),
        ]


def rules_for(program: Program) -> Rules:
    row = HealthRules.objects.filter(program=program).first()
    if row is None:
        return Rules()
    return Rules(row.first_session_days, row.recent_days)


def local_today(program: Program, now: datetime | None = None) -> date:
    now = now or timezone.now()
    return now.astimezone(ZoneInfo(program.organization.timezone)).date()


def first_session_due_before(program: Program, rules: Rules, today: date) -> datetime:
    """Pairings started before this instant have had `first_session_days` local days.

    A pairing's age is counted in the organization's calendar days (today's local
    date minus the local date it started), as the tab's "Started" column and the
    reason text show it: started on local day S, its first session is due once
    S <= today - N, that is when it started before the local midnight that opens
    day today - N + 1. One instant, so SQL compares timestamps and needs no time
    zone support of its own.
    """
    tz = ZoneInfo(program.organization.timezone)
    day = today - timedelta(days=rules.first_session_days - 1)
    return datetime.combine(day, time.min, tz)


def health_conditions(program: Program, rules: Rules, today: date) -> dict[str, Q]:
    """Each health status as a condition on the row's kept figures.

    Exclusive and together complete. A pairing has held a session exactly when it
    has a last session (a constraint holds it), so the conditions read only
    `last_session` and `started_at`: plain comparisons of columns that the index
    of the Started sort holds, so a count or a filter by health reads that index
    alone instead of computing every row's status.
    """
    due = first_session_due_before(program, rules, today)
    stale = today - timedelta(days=rules.recent_days)
    return {
        TOO_EARLY: Q(last_session__isnull=True, started_at__gte=due),
        CHECK_IN: Q(last_session__isnull=True, started_at__lt=due) | Q(last_session__lte=stale),
        ON_TRACK: Q(last_session__gt=stale),
    }


def with_health(
    qs: QuerySet[Pairing], rules: Rules, *, program: Program, today: date
) -> QuerySet[Pairing]:
    """Annotate health and check_in_reason from the row's kept session figures.

    Upcoming sessions whose day has come count once the sweep marked them held
    (pairing.services.sessions_hold_due, every few minutes).
    """
    status = health_conditions(program, rules, today)
    due = first_session_due_before(program, rules, today)
    stale = today - timedelta(days=rules.recent_days)
    return qs.annotate(
        health=Case(
            When(status[TOO_EARLY], then=Value(TOO_EARLY)),
            When(status[CHECK_IN], then=Value(CHECK_IN)),
            default=Value(ON_TRACK),
            output_field=CharField(),
        ),
        check_in_reason=Case(
            When(Q(last_session__isnull=True, started_at__lt=due), then=Value(NO_FIRST_SESSION)),
            When(Q(last_session__lte=stale), then=Value(NO_RECENT_SESSION)),
            default=Value(""),
            output_field=CharField(),
        ),
    )


def reason_text(pairing: "Pairing | CheckIn", rules: Rules, today: date, tz: ZoneInfo) -> str:
    """Why an annotated pairing needs a check-in, in words ("" if it does not).

    Days are counted between local dates (`tz`: the organization's), as the
    rules are applied and as the row's "Started" date is shown.
    """
    if pairing.check_in_reason == NO_FIRST_SESSION:
        started = pairing.started_at.astimezone(tz).date()
        return (
            f"No session logged since the start, {(today - started).days} days ago "
            f"(the rule allows {rules.first_session_days})."
        )
    if pairing.check_in_reason == NO_RECENT_SESSION:
        days = (today - pairing.last_session).days
        return (
            f"No session in the last {rules.recent_days} days: the last one was "
            f"{days} days ago, on {pairing.last_session:%-d %B %Y}."
        )
    return ""


def health_table(program: Program, rules: Rules, *, today: date) -> tuple[str, list]:
    """SQL (and its parameters) of the program's active pairings with their health.

    Every boundary follows from `today`, the organization's local date; call
    the sweep's last run (pairing.services.sessions_hold_due).

    Columns: id, mentee_id, mentor_id, started_at, origin, n (held sessions),
    last (the last held session's date), health and reason, with exactly
    `with_health`'s rules. Plain SQL that PostgreSQL and SQLite both run, from
    the pairing rows alone: their kept figures (pairing.pairing_figures).
    """
    ops = connection.ops
    due = ops.adapt_datetimefield_value(first_session_due_before(program, rules, today))
    stale = ops.adapt_datefield_value(today - timedelta(days=rules.recent_days))
    sql = f"""
        SELECT p.id, p.mentee_id, p.mentor_id, p.started_at, p.origin,
            p.sessions_done AS n, p.last_session AS last,
            CASE WHEN p.last_session IS NULL AND p.started_at >= %s THEN '{TOO_EARLY}'
                 WHEN p.last_session IS NULL THEN '{CHECK_IN}'
                 WHEN p.last_session <= %s THEN '{CHECK_IN}'
                 ELSE '{ON_TRACK}' END AS health,
            CASE WHEN p.last_session IS NULL AND p.started_at < %s THEN '{NO_FIRST_SESSION}'
                 WHEN p.last_session <= %s THEN '{NO_RECENT_SESSION}'
                 ELSE '' END AS reason
        FROM pairing_pairing p
        WHERE p.program_id = %s AND p.status = %s"""  # noqa: S608 (constants only)
    return sql, [due, stale, due, stale, program.pk, Pairing.Status.ACTIVE.value]


# --- Active Pairings ------------------------------------------------------------------

# Each sort reads the pairing row alone, through its own index (Pairing.Meta.indexes).
SORTS = {
    "mentee": ("mentee_last_name", "mentee_first_name", "id"),
    "mentor": ("mentor_last_name", "mentor_first_name", "id"),
    "started": ("started_at", "id"),
    "sessions": ("sessions_done", "id"),
    "last_session": (last_session_order(), "id"),
    "health": ("health", "id"),
}
SORT_LABELS = {
    "mentee": "Mentee",
    "mentor": "Mentor",
    "started": "Started",
    "sessions": "Sessions completed",
    "last_session": "Last session",
    "health": "Health",
}
DEFAULT_SORT = "-started"


def parse_sort(raw: str) -> tuple[str, bool]:
    """('started', True) for '-started'; unknown columns fall back to newest first."""
    raw = raw if raw.lstrip("-") in SORTS else DEFAULT_SORT
    return raw.lstrip("-"), raw.startswith("-")


def _order(key: str, descending: bool) -> list:
    order = []
    for part in SORTS[key]:
        if isinstance(part, str):
            order.append(f"-{part}" if descending else part)
        else:  # an expression (last_session's, with no session first going up)
            order.append(part.desc() if descending else part.asc())
    return order


def search_filter(qs: QuerySet[Pairing], query: str) -> QuerySet[Pairing]:
    """Pairings whose mentee or mentor matches every word (up to five) of the search."""
    return qs.filter(words_filter(query, PAIR_NAME_FIELDS))


@dataclass
class _Listing:
    """The tab's pairings as `_active` builds them, and what paging needs to know of them."""

    program: Program
    rows: QuerySet[Pairing]  # searched, annotated, filtered by health, sorted
    unfiltered: QuerySet[Pairing]  # the same before the health filter
    status: dict[str, Q]  # the condition of each health status
    health: str
    searched: bool
    by_health: bool
    descending: bool


def _active(
    program: Program,
    *,
    query: str = "",
    health: str = "",
    sort: str = DEFAULT_SORT,
    rules: Rules | None = None,
    now: datetime | None = None,
) -> _Listing:
    now = now or timezone.now()
    rules = rules or rules_for(program)
    today = local_today(program, now)
    status = health_conditions(program, rules, today)
    qs = search_filter(Pairing.objects.filter(program=program).active(), query)
    unfiltered = with_health(qs, rules, program=program, today=today)
    health = health if health in HEALTH_LABELS else ""
    qs = unfiltered.filter(status[health]) if health else unfiltered
    key, descending = parse_sort(sort)
    return _Listing(
        program=program,
        rows=qs.order_by(*_order(key, descending)),
        unfiltered=unfiltered,
        status=status,
        health=health,
        searched=bool(search_words(query)),
        by_health=key == "health",
        descending=descending,
    )


def active_pairings(program: Program, **filters) -> QuerySet[Pairing]:
    """The program's active pairings, annotated, searched, filtered and sorted.

    Filters: query, health, sort, rules, now.
    """
    return _active(program, **filters).rows


def _count(qs: QuerySet[Pairing]) -> Subquery:
    return Subquery(qs.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n"))


def status_counts(listing: _Listing) -> dict[str, int]:
    """How many of the listed pairings (before the health filter) have each status: one query.

    Without a search, from three counts that indexes answer alone: all of them,
    On Track (a range of last-session dates) and Too Early (a range of start
    times); Needs Check-in is the rest. With a search, one pass over the few
    that match.
    """
    status, qs = listing.status, listing.unfiltered
    if listing.searched:
        return qs.aggregate(**{key: Count("pk", filter=cond) for key, cond in status.items()})
    figures = (
        Program.objects.filter(pk=listing.program.pk)
        .values_list(
            _count(qs),
            _count(qs.filter(status[ON_TRACK])),
            _count(qs.filter(status[TOO_EARLY])),
        )
        .first()
    )
    total, on_track, too_early = figures or (0, 0, 0)
    return {CHECK_IN: total - on_track - too_early, ON_TRACK: on_track, TOO_EARLY: too_early}


# What a row of the tab shows: not the people's profiles (their lists and bio).
ROW_FIELDS = (
    "program_id", "mentee", "mentor", "origin", "started_at", "sessions_done", "last_session",
    *(f"{side}__{name}" for side in ("mentee", "mentor") for name in ("first_name", "last_name")),
)  # fmt: skip


class _PagePaginator(Paginator):
    """Finds a page's rows by id first, then joins only those to their people.

    The ids come from the pairing rows alone, in the sort's order, so the
    database walks the sort's index (Pairing.Meta.indexes) up to the page,
    however deep, and reads the people of the 50 rows shown only.

    Sorted by health (which depends on today, so no index holds it), the list
    is the pairings of each status in turn, by id: the count query counts each
    status, and the page takes its rows from the one or two statuses it spans,
    each walked by id (or by its own range of dates, when that is smaller).
    """

    def __init__(self, listing: _Listing, per_page: int):
        super().__init__(listing.rows, per_page)
        self.listing = listing
        self.per_status: dict[str, int] = {}

    @cached_property
    def count(self) -> int:
        listing = self.listing
        if not listing.health and not listing.by_health:
            return super().count
        counts = status_counts(listing)
        if listing.health:
            counts = {key: n if key == listing.health else 0 for key, n in counts.items()}
        self.per_status = {key: counts[key] for key in sorted(counts, reverse=listing.descending)}
        return sum(counts.values())

    def _ids(self, bottom: int, top: int) -> Q | None:
        """The page's rows, as a condition on their ids (None: no row)."""
        if not self.listing.by_health:
            return Q(pk__in=self.object_list.values("pk")[bottom:top])
        wanted, start = Q(), 0
        for key, size in self.per_status.items():
            low, high = max(bottom - start, 0), min(top - start, size)
            if low < high:
                rows = self.object_list.filter(self.listing.status[key]).order_by(
                    "-id" if self.listing.descending else "id"
                )
                wanted |= Q(pk__in=rows.values("pk")[low:high])
            start += size
        return wanted or None

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        ids = self._ids(bottom, top)
        rows = self.object_list.none() if ids is None else self.object_list.filter(ids)
        return self._get_page(
            rows.select_related("mentee", "mentor").only(*ROW_FIELDS), number, self
        )


def active_page(program: Program, *, page_number=None, **filters) -> Page:
    """One page (50 rows): a count query and a rows query, whatever the size."""
    return _PagePaginator(_active(program, **filters), PAGE_SIZE).get_page(page_number)


# --- The Health tab ---------------------------------------------------------------------


@dataclass
class Bar:
    label: str
    value: int
    x: float
    y: float
    height: float


@dataclass
class Chart:
    title: str
    bars: list[Bar]
    peak: int
    width: int = 640
    height: int = 220
    baseline: float = 180.0

    @property
    def points(self) -> str:
        """The polyline through the tops of the bars (for the line chart)."""
        return " ".join(f"{b.x + 14:.1f},{b.y:.1f}" for b in self.bars)


def _chart(title: str, series: list[tuple[str, int]]) -> Chart:
    peak = max((v for _, v in series), default=0)
    plot_height = 150.0
    bars = []
    for i, (label, value) in enumerate(series):
        height = plot_height * value / peak if peak else 0.0
        bars.append(Bar(label, value, 40 + i * 50, 180.0 - height, height))
    return Chart(title, bars, peak)


def _weeks(today: date) -> list[date]:
    """Mondays of the last CHART_WEEKS weeks, oldest first (this week last)."""
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=n) for n in range(CHART_WEEKS - 1, -1, -1)]


@dataclass
class CheckIn:
    """A pairing that needs a check-in, as the Health tab lists it (see `reason_text`)."""

    pk: int
    mentee_name: str
    mentor_name: str
    started_at: datetime
    started_local: date
    last_session: date | None
    check_in_reason: str
    reason: str = ""


def _from_db_datetime(value) -> datetime:
    """A timestamp read with a plain cursor (SQLite hands back text)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)


def _from_db_date(value) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _full_name(first: str, last: str) -> str:
    return f"{first} {last}".strip()  # as Participant.full_name


def _pairing_figures(
    program: Program, rules: Rules, *, today: date, now: datetime, tz: ZoneInfo
) -> tuple[dict, list[CheckIn]]:
    """Counts by health and the first pairings that need a check-in, in one query.

    Each count is one range of an index that holds the pairing's kept figures
    (Needs Check-in is the rest), and the list is the first rows of its two
    kinds, each walked in order through its index (no session since a start
    before the deadline; the last session too long ago), merged, and only
    those joined to their people: nothing here reads every pairing.
    """
    ops = connection.ops
    due = ops.adapt_datetimefield_value(first_session_due_before(program, rules, today))
    stale = ops.adapt_datefield_value(today - timedelta(days=rules.recent_days))
    recent = ops.adapt_datefield_value(today - timedelta(days=30))
    active = "FROM pairing_pairing WHERE program_id = %s AND status = %s"
    rows = f"SELECT id, mentee_id, mentor_id, started_at, last_session AS last {active}"
    sql = f"""
        SELECT f.total, f.on_track, f.too_early, f.with_recent,
            t.id, t.started_at, t.last, me.first_name, me.last_name, mt.first_name, mt.last_name
        FROM (
            SELECT (SELECT COUNT(*) {active}) AS total,
                (SELECT COUNT(*) {active} AND last_session > %s) AS on_track,
                (SELECT COUNT(*) {active} AND last_session IS NULL AND started_at >= %s)
                    AS too_early,
                (SELECT COUNT(*) {active} AND last_session > %s) AS with_recent
        ) f
        LEFT JOIN (
            SELECT a.* FROM ({rows} AND last_session IS NULL AND started_at < %s
                ORDER BY started_at, id LIMIT %s) a
            UNION ALL
            SELECT b.* FROM ({rows} AND last_session <= %s
                ORDER BY last_session, started_at, id LIMIT %s) b
        ) t ON 1 = 1
        LEFT JOIN programs_participant me ON me.id = t.mentee_id
        LEFT JOIN programs_participant mt ON mt.id = t.mentor_id
        ORDER BY t.last ASC NULLS FIRST, t.started_at, t.id
        LIMIT %s"""  # noqa: S608 (constants only)
    scope = [program.pk, Pairing.Status.ACTIVE.value]
    params = [
        *scope, *scope, stale, *scope, due, *scope, recent,
        *scope, due, CHECK_IN_LIST_MAX, *scope, stale, CHECK_IN_LIST_MAX, CHECK_IN_LIST_MAX,
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    total, on_track, too_early, with_recent = (int(v or 0) for v in found[0][:4])
    figures = {
        "active": total,
        "on_track": on_track,
        "check_in": total - on_track - too_early,
        "too_early": too_early,
        "with_recent": with_recent,
    }
    check_in = []
    for row in found:
        pk, started, last = row[4:7]
        if pk is None:
            continue  # no pairing needs a check-in: the figures' row alone
        started = _from_db_datetime(started)
        last = _from_db_date(last)
        pairing = CheckIn(
            pk=pk,
            mentee_name=_full_name(row[7], row[8]),
            mentor_name=_full_name(row[9], row[10]),
            started_at=started,
            started_local=started.astimezone(tz).date(),
            last_session=last,
            check_in_reason=NO_FIRST_SESSION if last is None else NO_RECENT_SESSION,
        )
        pairing.reason = reason_text(pairing, rules, today, tz)
        check_in.append(pairing)
    return figures, check_in


def _session_figures(
    program: Program, *, total: int, today: date, since: date, weeks: list[date]
) -> dict:
    """Held sessions: all of them (`total`, the sum of the pairings' kept counts), in
    the last 30 days, and in each chart week. Only the sessions held since `since`
    are read, by day (the index on program and date)."""
    per_day = (
        MentoringSession.objects.filter(program=program, date__gte=since, date__lte=today)
        .exclude(status=MentoringSession.Status.CANCELLED)
        .values_list("date")
        .annotate(n=Count("pk"))
        .order_by()
    )
    figures = dict.fromkeys(["last_30", *(f"w{i}" for i in range(len(weeks)))], 0)
    figures["total"] = total
    recent = today - timedelta(days=30)
    for day, n in per_day:
        day = _from_db_date(day)
        if day > recent:
            figures["last_30"] += n
        if day >= weeks[0]:
            figures[f"w{(day - weeks[0]).days // 7}"] += n
    return figures


def _week_changes(program: Program, ends: list[datetime]) -> tuple[list[tuple[int, int]], int]:
    """For each instant of `ends` (oldest first): how many active pairings started since,
    and how many pairings ended since that had started before it; and the sessions the
    program's pairings have held. One query: two index range scans over the last weeks'
    starts and ends, and the sums of the pairings' kept counts, active and ended (each
    read from an index alone)."""
    ops = connection.ops
    moments = [ops.adapt_datetimefield_value(end) for end in ends]
    started = ", ".join(
        f"SUM(CASE WHEN started_at >= %s THEN 1 ELSE 0 END) AS s{i}" for i in range(len(ends))
    )
    ended = ", ".join(
        f"SUM(CASE WHEN ended_at >= %s AND started_at < %s THEN 1 ELSE 0 END) AS e{i}"
        for i in range(len(ends))
    )
    sql = f"""
        SELECT *,
            (SELECT SUM(sessions_done) FROM pairing_pairing WHERE program_id = %s AND status = %s),
            (SELECT SUM(sessions_done) FROM pairing_pairing WHERE program_id = %s AND status = %s)
        FROM
            (SELECT {started} FROM pairing_pairing
             WHERE program_id = %s AND status = %s AND started_at >= %s) a,
            (SELECT {ended} FROM pairing_pairing
             WHERE program_id = %s AND status = %s AND ended_at >= %s) b"""  # noqa: S608
    active, ended = Pairing.Status.ACTIVE.value, Pairing.Status.ENDED.value
    params = [
        program.pk, active, program.pk, ended,
        *moments, program.pk, Pairing.Status.ACTIVE.value, moments[0],
        *(m for moment in moments for m in (moment, moment)),
        program.pk, Pairing.Status.ENDED.value, moments[0],
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = [int(v or 0) for v in cursor.fetchone()]
    weeks = len(ends)
    return list(zip(row[:weeks], row[weeks : 2 * weeks], strict=True)), row[-2] + row[-1]


def health_summary(program: Program, *, now: datetime | None = None) -> dict:
    """Everything the Health tab shows, live, in a fixed number of queries."""
    now = now or timezone.now()
    today = local_today(program, now)
    rules = rules_for(program)
    tz = ZoneInfo(program.organization.timezone)
    pairing_row, check_in = _pairing_figures(program, rules, today=today, now=now, tz=tz)
    recent = today - timedelta(days=30)
    weeks = _weeks(today)
    # Active at the end of each week (or now, for this week): started by then, not ended by
    # then. That is those active now, less those started since, plus those ended since that
    # had started by then: only the last weeks' starts and ends are read (their indexes).
    ends = [
        min(datetime.combine(start + timedelta(weeks=1), datetime.min.time(), tz), now)
        for start in weeks
    ]
    over_time, held = _week_changes(program, ends)
    session_row = _session_figures(
        program, total=held, today=today, since=min(weeks[0], recent), weeks=weeks
    )
    over_time = {
        f"a{i}": pairing_row["active"] - started + ended
        for i, (started, ended) in enumerate(over_time)
    }
    pending = MentorRequest.objects.filter(
        pk__in=PendingRequest.objects.filter(program=program).values("request_id")
    ).aggregate(
        total=Count("pk"),
        under_1=Count("pk", filter=Q(created_at__gt=now - timedelta(days=1))),
        d1_3=Count(
            "pk",
            filter=Q(
                created_at__lte=now - timedelta(days=1), created_at__gt=now - timedelta(days=3)
            ),
        ),
        d3_7=Count(
            "pk",
            filter=Q(
                created_at__lte=now - timedelta(days=3), created_at__gt=now - timedelta(days=7)
            ),
        ),
        over_7=Count("pk", filter=Q(created_at__lte=now - timedelta(days=7))),
    )
    # The mentees without an active pairing: the few rows the database keeps per
    # program and standing (pairing.standing_triggers), not a count of every mentee.
    unpaired = (
        StandingCount.objects.filter(
            program=program, state__in=[s for s in MenteeStanding.State.values if s not in _PAIRED]
        ).aggregate(n=Sum("n"))["n"]
        or 0
    )
    # Only the failed and bounced rows are read (the index on program and status).
    emails = OutboundEmail.objects.filter(
        program=program,
        status__in=[OutboundEmail.Status.FAILED, OutboundEmail.Status.BOUNCED],
    ).aggregate(
        failed=Count("pk", filter=Q(status=OutboundEmail.Status.FAILED)),
        bounced=Count("pk", filter=Q(status=OutboundEmail.Status.BOUNCED)),
    )
    labels = [f"{start:%-d %b}" for start in weeks]
    active_total = pairing_row["active"]
    return {
        "today": today,
        "rules": rules,
        "pairings": pairing_row,
        "share_recent": round(100 * pairing_row["with_recent"] / active_total)
        if active_total
        else None,
        "sessions": session_row,
        "pending": pending,
        "unpaired": unpaired,
        "emails": emails,
        "check_in": check_in,
        "check_in_more": max(pairing_row["check_in"] - len(check_in), 0),
        "sessions_chart": _chart(
            "Sessions held per week",
            [(labels[i], session_row[f"w{i}"]) for i in range(len(weeks))],
        ),
        "active_chart": _chart(
            "Active pairings at the end of each week",
            [(labels[i], over_time[f"a{i}"]) for i in range(len(weeks))],
        ),
    }
