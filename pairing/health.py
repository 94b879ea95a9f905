"""Monitor Health: the health of each active pairing, and the program's figures.

A pairing's health is computed in SQL (annotations), from its held sessions
and the program's rules, so a list of any length costs the same few queries
and every figure is live: nothing is cached, everything is read on request.

Rules (each number is the program's own, see HealthRules):
- Too Early to Tell: started less than `early_days` ago and no session yet.
- Needs Check-in: no session `first_session_days` after the start, or a
  session once but none in the last `recent_days`.
- On Track: everything else.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from invitations.models import OutboundEmail
from pairing.models import HealthRules, MentoringSession, MentorRequest, Pairing
from programs.models import Participant, Program

PAGE_SIZE = 50
CHECK_IN_LIST_MAX = 100
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
    early_days: int = 14
    first_session_days: int = 14
    recent_days: int = 30

    def describe(self) -> list[tuple[str, str]]:
        """The published rules, in words, for the Health tab."""
        return [
            (
                HEALTH_LABELS[TOO_EARLY],
                f"Started less than {self.early_days} days ago and no session logged yet.",
            ),
            (
                HEALTH_LABELS[CHECK_IN],
                f"No session logged {self.first_session_days} days after the start, "
                f"or no session in the last {self.recent_days} days.",
            ),
            (HEALTH_LABELS[ON_TRACK], "Everything else: sessions are being logged."),
        ]


def rules_for(program: Program) -> Rules:
    row = HealthRules.objects.filter(program=program).first()
    if row is None:
        return Rules()
    return Rules(row.early_days, row.first_session_days, row.recent_days)


def local_today(program: Program, now: datetime | None = None) -> date:
    now = now or timezone.now()
    return now.astimezone(ZoneInfo(program.organization.timezone)).date()


def held_sessions(today: date) -> Q:
    """Sessions that count as held, seen from a Pairing query."""
    return ~Q(sessions__status=MentoringSession.Status.CANCELLED) & Q(sessions__date__lte=today)


def with_health(
    qs: QuerySet[Pairing], rules: Rules, *, today: date, now: datetime
) -> QuerySet[Pairing]:
    """Annotate sessions_done, last_session, health and check_in_reason (one GROUP BY)."""
    held = held_sessions(today)
    qs = qs.annotate(
        sessions_done=Count("sessions", filter=held),
        last_session=Max("sessions__date", filter=held),
    )
    early = now - timedelta(days=rules.early_days)
    first_due = now - timedelta(days=rules.first_session_days)
    stale = today - timedelta(days=rules.recent_days)
    return qs.annotate(
        health=Case(
            When(Q(sessions_done=0, started_at__gt=early), then=Value(TOO_EARLY)),
            When(Q(sessions_done=0, started_at__lte=first_due), then=Value(CHECK_IN)),
            When(Q(sessions_done__gt=0, last_session__lte=stale), then=Value(CHECK_IN)),
            default=Value(ON_TRACK),
            output_field=CharField(),
        ),
        check_in_reason=Case(
            When(Q(sessions_done=0, started_at__lte=first_due), then=Value(NO_FIRST_SESSION)),
            When(Q(sessions_done__gt=0, last_session__lte=stale), then=Value(NO_RECENT_SESSION)),
            default=Value(""),
            output_field=CharField(),
        ),
    )


def reason_text(pairing: Pairing, rules: Rules, today: date) -> str:
    """Why an annotated pairing needs a check-in, in words ("" if it does not)."""
    if pairing.check_in_reason == NO_FIRST_SESSION:
        started = pairing.started_at.date()
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


# --- Active Pairings ------------------------------------------------------------------

SORTS = {
    "mentee": ("mentee__last_name", "mentee__first_name", "id"),
    "mentor": ("mentor__last_name", "mentor__first_name", "id"),
    "started": ("started_at", "id"),
    "sessions": ("sessions_done", "id"),
    "last_session": (F("last_session").asc(nulls_first=True), "id"),
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
        else:  # an expression (nulls placement) for last_session
            expr = part.expression
            order.append(expr.desc(nulls_last=True) if descending else part)
    return order


def active_pairings(
    program: Program,
    *,
    query: str = "",
    health: str = "",
    sort: str = DEFAULT_SORT,
    rules: Rules | None = None,
    now: datetime | None = None,
) -> QuerySet[Pairing]:
    """The program's active pairings, annotated, searched, filtered and sorted."""
    now = now or timezone.now()
    rules = rules or rules_for(program)
    qs = Pairing.objects.filter(program=program, status=Pairing.Status.ACTIVE)
    for word in query.split()[:5]:
        qs = qs.filter(
            Q(mentee__first_name__icontains=word)
            | Q(mentee__last_name__icontains=word)
            | Q(mentee__email__icontains=word)
            | Q(mentor__first_name__icontains=word)
            | Q(mentor__last_name__icontains=word)
            | Q(mentor__email__icontains=word)
        )
    qs = with_health(qs, rules, today=local_today(program, now), now=now)
    if health in HEALTH_LABELS:
        qs = qs.filter(health=health)
    key, descending = parse_sort(sort)
    return qs.order_by(*_order(key, descending))


def active_page(program: Program, *, page_number=None, **filters) -> Page:
    """One page (50 rows): a count query and a rows query, whatever the size."""
    qs = active_pairings(program, **filters).select_related("mentee", "mentor")
    return Paginator(qs, PAGE_SIZE).get_page(page_number)


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


def health_summary(program: Program, *, now: datetime | None = None) -> dict:
    """Everything the Health tab shows, live, in a fixed number of queries."""
    now = now or timezone.now()
    today = local_today(program, now)
    rules = rules_for(program)
    tz = ZoneInfo(program.organization.timezone)
    active = Pairing.objects.filter(program=program, status=Pairing.Status.ACTIVE)
    annotated = with_health(active, rules, today=today, now=now)
    recent = today - timedelta(days=30)
    pairing_row = annotated.aggregate(
        active=Count("pk"),
        on_track=Count("pk", filter=Q(health=ON_TRACK)),
        check_in=Count("pk", filter=Q(health=CHECK_IN)),
        too_early=Count("pk", filter=Q(health=TOO_EARLY)),
        with_recent=Count("pk", filter=Q(last_session__gt=recent)),
    )
    sessions = MentoringSession.objects.filter(program=program, date__lte=today).exclude(
        status=MentoringSession.Status.CANCELLED
    )
    weeks = _weeks(today)
    session_row = sessions.aggregate(
        total=Count("pk"),
        last_30=Count("pk", filter=Q(date__gt=recent)),
        **{
            f"w{i}": Count("pk", filter=Q(date__gte=start, date__lt=start + timedelta(weeks=1)))
            for i, start in enumerate(weeks)
        },
    )
    # Active at the end of each week (or now, for this week): started by then, not ended by then.
    ends = [
        min(datetime.combine(start + timedelta(weeks=1), datetime.min.time(), tz), now)
        for start in weeks
    ]
    over_time = Pairing.objects.filter(program=program).aggregate(
        **{
            f"a{i}": Count(
                "pk",
                filter=Q(started_at__lt=end) & (Q(ended_at__isnull=True) | Q(ended_at__gte=end)),
            )
            for i, end in enumerate(ends)
        }
    )
    pending = MentorRequest.objects.filter(
        program=program, status=MentorRequest.Status.PENDING
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
    unpaired = (
        Participant.objects.filter(program=program, role=Participant.Role.MENTEE)
        .exclude(
            Exists(Pairing.objects.filter(mentee=OuterRef("pk"), status=Pairing.Status.ACTIVE))
        )
        .count()
    )
    emails = OutboundEmail.objects.filter(program=program).aggregate(
        failed=Count("pk", filter=Q(status=OutboundEmail.Status.FAILED)),
        bounced=Count("pk", filter=Q(status=OutboundEmail.Status.BOUNCED)),
    )
    # Pick the ids first (a narrow GROUP BY over pairing ids only), then read those rows
    # with their people: grouping by every column of three tables costs far more.
    order = (F("last_session").asc(nulls_first=True), "started_at", "id")
    ids = list(
        annotated.filter(health=CHECK_IN)
        .order_by(*order)
        .values_list("pk", flat=True)[:CHECK_IN_LIST_MAX]
    )
    check_in = list(
        with_health(Pairing.objects.filter(pk__in=ids), rules, today=today, now=now)
        .select_related("mentee", "mentor")
        .order_by(*order)
    )
    for pairing in check_in:
        pairing.reason = reason_text(pairing, rules, today)
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
