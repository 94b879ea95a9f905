"""CSV exports: active pairings (as filtered on screen), unpaired mentees, requests.

Streamed in blocks, so memory stays flat at any size. Two paths, tested to
write the same bytes:
- PostgreSQL: one query formats every cell (names, local times, labels, the
  formula guard) and COPY (SELECT ...) TO STDOUT WITH (FORMAT csv) writes the
  rows; Python only relays them (several times faster than building rows here).
- Elsewhere (SQLite): rows come from a server-side cursor (.iterator) as plain
  tuples and the csv module writes them, each cell through `safe_cell`.
Excel opens the file as UTF-8 thanks to the byte-order mark, and no cell can
run as a formula there (see `safe_cell`).
"""

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import DatabaseError, connection, transaction
from django.db.models import (
    Case,
    CharField,
    F,
    Func,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify

from invitations.models import Invitation
from pairing import request_selectors
from pairing.health import (
    DEFAULT_SORT,
    HEALTH_LABELS,
    Rules,
    active_pairings,
    health_table,
    local_today,
    parse_sort,
    rules_for,
    search_filter,
)
from pairing.models import MentorRequest, Pairing, PendingRequest
from pairing.unpaired import unpaired_mentees
from pairing.waitlist import entries
from pairing_admin.lib.search import search_words
from programs.models import Participant, Program

CHUNK = 2000
BOM = "\ufeff"
# Where a line of a cell begins: str.splitlines() ends a line at each of these.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
# What a spreadsheet may skip before a formula sign: every character str.isspace()
# calls a space (NBSP and the other Unicode spaces included).
SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# A spreadsheet treats a cell starting with one of these as a formula.
FORMULA_START = "=+-@"


def _danger_pattern(nul: bool) -> str:
    """The rule of `safe_cell` as a regular expression (Python's and PostgreSQL's alike).

    Dangerous: a cell starting with CR; a line (the cell's first, or any after a
    line break) starting with tab or NUL, or whose first non-space character is
    a formula sign. PostgreSQL text cannot hold NUL, so its pattern leaves it out.
    """
    control = "\t\0" if nul else "\t"
    return f"^\r|(?:^|[{LINE_BREAKS}])(?:[{control}]|[{SPACES}]*[-=+@])"


DANGER = re.compile(_danger_pattern(nul=True))
PG_DANGER = _danger_pattern(nul=False)
# The same test over several cells joined by LF: a cell starting with CR is
# dangerous, and after the joining LF it is no longer at the start.
SUSPECT_JOINED = PG_DANGER + "|\n\r"
_BREAK = re.compile(f"[{LINE_BREAKS}]")


def safe_cell(value: object) -> str:
    """The cell as text, with a leading ' when a spreadsheet could read it as a formula.

    Dangerous: a first character of tab, CR or NUL, or a first non-blank
    character of = + - @; in a multi-line cell, any line that starts so
    (lines end where str.splitlines() ends them). PostgreSQL exports apply the
    same rule in SQL (`PG_DANGER`); tests hold the two to the same output.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not text:
        return text
    # Fast path for the common cell: starts with a letter or digit and holds one line.
    if text[0].isalnum() and _BREAK.search(text) is None:
        return text
    return "'" + text if DANGER.search(text) else text


class _Echo:
    """A file-like object that hands back what csv.writer writes."""

    def write(self, value: str) -> str:
        return value


def csv_stream(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """BOM and header, then the rows in blocks of text (each cell made safe).

    The portable path (SQLite, and the reference the PostgreSQL path is tested
    against).
    """
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([safe_cell(h) for h in header])
    block: list[str] = []
    for row in rows:
        block.append(writer.writerow([safe_cell(cell) for cell in row]))
        if len(block) >= 500:
            yield "".join(block)
            block = []
    if block:
        yield "".join(block)


def copy_stream(header: Iterable[str], sql: str, params: list) -> Iterator[bytes]:
    """BOM and header, then the rows as PostgreSQL's COPY ... TO STDOUT (CSV) writes them.

    The query already made every cell safe and turned empty text into NULL (COPY
    writes "" for an empty string, csv.writer nothing). COPY sends one row per
    message and ends rows with LF; rows leave here with CRLF, as csv.writer
    ends them, in blocks. Closing the generator early cancels the COPY.
    """
    writer = csv.writer(_Echo())
    yield (BOM + writer.writerow([safe_cell(h) for h in header])).encode()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy,
    ):
        block: list = []
        cut = None
        for row in copy:
            if cut is None:  # LF, or CRLF from a server on Windows
                cut = -2 if bytes(row[-2:]) == b"\r\n" else -1
            block.append(row[:cut])
            if len(block) >= CHUNK:
                yield b"\r\n".join(block) + b"\r\n"
                block = []
        if block:
            yield b"\r\n".join(block) + b"\r\n"


_ZONES_KNOWN_TO_DATABASE: dict[str, bool] = {}


def use_copy(program: Program) -> bool:
    """COPY on PostgreSQL, when the database knows the organization's time zone.

    PostgreSQL's zone data and Python's may differ (one updated before the
    other); an unknown zone would end the COPY with an error after the header
    was sent, so such a program takes the csv-module path instead.
    """
    if connection.vendor != "postgresql":
        return False
    zone = program.organization.timezone
    if zone not in _ZONES_KNOWN_TO_DATABASE:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT now() AT TIME ZONE %s", [zone])
            _ZONES_KNOWN_TO_DATABASE[zone] = True
        except DatabaseError:
            _ZONES_KNOWN_TO_DATABASE[zone] = False
    return _ZONES_KNOWN_TO_DATABASE[zone]


def csv_response(filename: str, body: Iterable[str | bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def filename_for(program: Program, what: str, now: datetime | None = None) -> str:
    day = local_today(program, now or timezone.now())
    slug = slugify(program.name)[:60] or f"program-{program.pk}"
    return f"{slug}-{what}-{day:%Y-%m-%d}.csv"


def _name(first: str, last: str) -> str:
    # Not stripped: the cell is exported as the person typed it (safe_cell judges it).
    return f"{first} {last}" if last else first


def _localizer(program: Program):
    tz = ZoneInfo(program.organization.timezone)

    def local(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""

    return local


# --- The same cells in PostgreSQL's SQL (for COPY) ------------------------------------


def _sql_name(alias: str) -> str:
    """`_name` in SQL."""
    return (
        f"CASE WHEN {alias}.last_name <> '' THEN {alias}.first_name || ' ' || {alias}.last_name "
        f"ELSE {alias}.first_name END"
    )


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_label(expr: str, choices: Iterable[tuple[str, str]]) -> str:
    """A stored value as its label (constants from the code, so inlined)."""
    whens = " ".join(f"WHEN {_sql_text(value)} THEN {_sql_text(label)}" for value, label in choices)
    return f"CASE {expr} {whens} ELSE {expr} END"


def _sql_safe(expr: str, suspect: str = "") -> str:
    """`safe_cell` in SQL, NULL for an empty cell; `suspect` (a boolean column) may skip the test."""
    test = f"{expr} ~ {_sql_text(PG_DANGER)}"
    if suspect:
        test = f"{suspect} AND {test}"
    return f"NULLIF(CASE WHEN {test} THEN '''' || {expr} ELSE {expr} END, '')"


class _SafeText(Func):
    """`safe_cell` as an ORM expression (PostgreSQL): NULL for an empty cell."""

    output_field = CharField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return _sql_safe(f"({sql})"), [*params, *params, *params]


class _LocalText(Func):
    """A timestamp as local "YYYY-MM-DD HH:MM" text in the program's time zone (PostgreSQL)."""

    output_field = CharField()

    def __init__(self, expression, tz: str):
        super().__init__(expression)
        self.tz = tz

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"to_char(({sql}) AT TIME ZONE %s, 'YYYY-MM-DD HH24:MI')", [*params, self.tz]


def _label(field: str, choices) -> Case:
    return Case(
        *(When(**{field: value}, then=Value(label)) for value, label in choices),
        default=F(field),
        output_field=CharField(),
    )


def _full_name(prefix: str = "") -> Case:
    first, last = F(f"{prefix}first_name"), F(f"{prefix}last_name")
    return Case(
        When(**{f"{prefix}last_name": ""}, then=first),
        default=Concat(first, Value(" "), last, output_field=CharField()),
        output_field=CharField(),
    )


def _queryset_copy_sql(qs: QuerySet, columns: dict) -> tuple[str, list]:
    """The SQL of `qs` selecting exactly `columns` (name -> expression), in that order."""
    sql, params = qs.annotate(**columns).values_list(*columns).query.sql_with_params()
    return sql, list(params)


# --- Active pairings ----------------------------------------------------------------

ACTIVE_HEADER = [
    "Mentee",
    "Mentee email",
    "Mentor",
    "Mentor email",
    "Started",
    "How paired",
    "Sessions completed",
    "Last session",
    "Health",
]


def active_rows(program: Program, **filters) -> Iterator[tuple]:
    """Rows of the active pairings as the tab shows them (same search, filter and sort)."""
    origins = dict(Pairing.Origin.choices)
    local = _localizer(program)
    qs = active_pairings(program, **filters).values_list(
        "mentee__first_name",
        "mentee__last_name",
        "mentee__email",
        "mentor__first_name",
        "mentor__last_name",
        "mentor__email",
        "started_at",
        "origin",
        "sessions_done",
        "last_session",
        "health",
    )
    for mf, ml, me, tf, tl, te, started, origin, done, last, health in qs.iterator(
        chunk_size=CHUNK
    ):
        yield (
            _name(mf, ml),
            me,
            _name(tf, tl),
            te,
            local(started),
            origins.get(origin, origin),
            done,
            last.isoformat() if last else "",
            HEALTH_LABELS[health],
        )


# ORDER BY of the COPY query for each sort of the tab (see health.SORTS), then the tiebreak.
_ACTIVE_ORDER = {
    "mentee": ["t.mentee_last", "t.mentee_first"],
    "mentor": ["t.mentor_last", "t.mentor_first"],
    "started": ["t.started_at"],
    "sessions": ["t.sessions"],
    "health": ["t.health_code"],
}


def _active_order(sort: str) -> str:
    key, descending = parse_sort(sort)
    if key == "last_session":
        if descending:
            return "t.last DESC NULLS LAST, t.id DESC"
        return "t.last ASC NULLS FIRST, t.id ASC"
    direction = " DESC" if descending else " ASC"
    return ", ".join(column + direction for column in [*_ACTIVE_ORDER[key], "t.id"])


def active_copy_sql(
    program: Program,
    *,
    query: str = "",
    health: str = "",
    sort: str = DEFAULT_SORT,
    rules: Rules | None = None,
    now: datetime | None = None,
) -> tuple[str, list]:
    """`active_rows` as one PostgreSQL query whose rows COPY writes as they are.

    Same pairings, order and cells: the health comes from `health_table` (held
    sessions grouped once, then joined), names, local times and labels are
    formatted in SQL, and every text cell gets `safe_cell`'s guard. The guard's
    regular expression runs on a cell only when it matched the row's four text
    cells joined by line breaks (a cheap first test that no dangerous cell escapes).
    """
    now = now or timezone.now()
    rules = rules or rules_for(program)
    table, table_params = health_table(program, rules, today=local_today(program, now))
    where, where_params = [], []
    if health in HEALTH_LABELS:
        where.append("h.health = %s")
        where_params.append(health)
    if search_words(query):
        matching = search_filter(
            Pairing.objects.filter(program=program, status=Pairing.Status.ACTIVE), query
        ).values("pk")
        ids_sql, ids_params = matching.query.sql_with_params()
        where.append(f"h.id IN ({ids_sql})")
        where_params.extend(ids_params)
    mentee, mentor = _sql_name("me"), _sql_name("mt")
    sql = f"""
        SELECT {_sql_safe("t.mentee", "t.suspect")}, {_sql_safe("t.mentee_email", "t.suspect")},
            {_sql_safe("t.mentor", "t.suspect")}, {_sql_safe("t.mentor_email", "t.suspect")},
            t.started, t.origin, t.sessions, t.last_text, t.health
        FROM (
            SELECT {mentee} AS mentee, me.email AS mentee_email,
                {mentor} AS mentor, mt.email AS mentor_email,
                to_char(h.started_at AT TIME ZONE %s, 'YYYY-MM-DD HH24:MI') AS started,
                {_sql_label("h.origin", Pairing.Origin.choices)} AS origin,
                COALESCE(h.n, 0) AS sessions,
                to_char(h.last, 'YYYY-MM-DD') AS last_text,
                {_sql_label("h.health", HEALTH_LABELS.items())} AS health,
                ({mentee} || E'\\n' || me.email || E'\\n' || {mentor} || E'\\n' || mt.email)
                    ~ {_sql_text(SUSPECT_JOINED)} AS suspect,
                me.last_name AS mentee_last, me.first_name AS mentee_first,
                mt.last_name AS mentor_last, mt.first_name AS mentor_first,
                h.started_at, h.last, h.health AS health_code, h.id
            FROM ({table}) h
            JOIN programs_participant me ON me.id = h.mentee_id
            JOIN programs_participant mt ON mt.id = h.mentor_id
            {"WHERE " + " AND ".join(where) if where else ""}
            OFFSET 0
        ) t
        ORDER BY {_active_order(sort)}"""  # noqa: S608 (values are parameters)
    return sql, [program.organization.timezone, *table_params, *where_params]


def active_export(program: Program, **filters) -> Iterator[str | bytes]:
    """The Active Pairings CSV: COPY on PostgreSQL, Python's csv module elsewhere."""
    if use_copy(program):
        return copy_stream(ACTIVE_HEADER, *active_copy_sql(program, **filters))
    return csv_stream(ACTIVE_HEADER, active_rows(program, **filters))


# --- Unpaired mentees -------------------------------------------------------------------

UNPAIRED_HEADER = [
    "First name",
    "Last name",
    "Email",
    "Department",
    "Location",
    "Title",
    "Invited",
    "Pending request to",
]
NOT_INVITED = "Not Invited by Admin"


def unpaired_queryset(program: Program) -> QuerySet[Participant]:
    """Mentees of the program without an active pairing, by name."""
    pending = PendingRequest.objects.filter(mentee=OuterRef("pk"))
    return (
        unpaired_mentees(program)
        .annotate(
            invited_at=Subquery(
                Invitation.objects.filter(mentee=OuterRef("pk")).values("invited_at")[:1]
            ),
            pending_to=Subquery(pending.values("mentor__email")[:1]),
        )
        .order_by("last_name", "first_name", "id")
    )


def unpaired_rows(program: Program) -> Iterator[tuple]:
    local = _localizer(program)
    qs = unpaired_queryset(program).values_list(
        "first_name", "last_name", "email", "department", "location", "title", "invited_at",
        "pending_to",
    )  # fmt: skip
    for first, last, email, dept, loc, title, invited, pending in qs.iterator(chunk_size=CHUNK):
        yield (first, last, email, dept, loc, title, local(invited) or NOT_INVITED,
               pending or "")  # fmt: skip


def unpaired_copy_sql(program: Program) -> tuple[str, list]:
    tz = program.organization.timezone
    columns = {
        f"x_{name}": _SafeText(F(name))
        for name in ("first_name", "last_name", "email", "department", "location", "title")
    }
    columns["x_invited"] = Func(
        _LocalText(F("invited_at"), tz), Value(NOT_INVITED), function="COALESCE",
        output_field=CharField(),
    )  # fmt: skip
    columns["x_pending"] = _SafeText(F("pending_to"))
    return _queryset_copy_sql(unpaired_queryset(program), columns)


def unpaired_export(program: Program) -> Iterator[str | bytes]:
    if use_copy(program):
        return copy_stream(UNPAIRED_HEADER, *unpaired_copy_sql(program))
    return csv_stream(UNPAIRED_HEADER, unpaired_rows(program))


# --- Requests -------------------------------------------------------------------------

REQUEST_HEADER = [
    "Requested",
    "Mentee",
    "Mentee email",
    "Mentor",
    "Mentor email",
    "Choice",
    "Status",
    "Respond by",
    "Decided",
    "Mentee's note",
    "Mentor's message",
]


def _requests(program: Program, status: str, query: str = "") -> QuerySet[MentorRequest]:
    """The requests the list shows for the same filters (status, search), newest first."""
    return request_selectors.request_list(program, status=status, query=query).select_related(None)


def request_rows(program: Program, *, status: str = "", query: str = "") -> Iterator[tuple]:
    statuses = dict(MentorRequest.Status.choices)
    local = _localizer(program)
    qs = _requests(program, status, query).values_list(
        "created_at", "mentee__first_name", "mentee__last_name", "mentee__email",
        "mentor__first_name", "mentor__last_name", "mentor__email", "rank", "status",
        "expires_at", "decided_at", "note", "decline_message",
    )  # fmt: skip
    for row in qs.iterator(chunk_size=CHUNK):
        created, mf, ml, me, tf, tl, te, rank, st, expires, decided, note, message = row
        yield (
            local(created), _name(mf, ml), me, _name(tf, tl), te, rank,
            statuses.get(st, st), local(expires), local(decided), note, message,
        )  # fmt: skip


def request_copy_sql(program: Program, *, status: str = "", query: str = "") -> tuple[str, list]:
    tz = program.organization.timezone
    columns = {
        "x_created": _LocalText(F("created_at"), tz),
        "x_mentee": _SafeText(_full_name("mentee__")),
        "x_mentee_email": _SafeText(F("mentee__email")),
        "x_mentor": _SafeText(_full_name("mentor__")),
        "x_mentor_email": _SafeText(F("mentor__email")),
        "x_rank": Cast("rank", CharField()),
        "x_status": _label("status", MentorRequest.Status.choices),
        "x_expires": _LocalText(F("expires_at"), tz),
        "x_decided": _LocalText(F("decided_at"), tz),
        "x_note": _SafeText(F("note")),
        "x_message": _SafeText(F("decline_message")),
    }
    return _queryset_copy_sql(_requests(program, status, query), columns)


def request_export(program: Program, *, status: str = "", query: str = "") -> Iterator[str | bytes]:
    if use_copy(program):
        return copy_stream(REQUEST_HEADER, *request_copy_sql(program, status=status, query=query))
    return csv_stream(REQUEST_HEADER, request_rows(program, status=status, query=query))


# --- Waitlist -------------------------------------------------------------------------

WAITLIST_HEADER = [
    "Position",
    "First name",
    "Last name",
    "Email",
    "Waiting since",
    "First in line",
    "Named mentors",
]


def waitlist_rows(program: Program) -> Iterator[tuple]:
    """The waitlist in offer order; named mentors by name, "; " between them (empty: any)."""
    local = _localizer(program)
    named = Participant.objects.only("first_name", "last_name").order_by(
        "last_name", "first_name", "id"
    )
    qs = (
        entries(program)
        .select_related("mentee")
        .only("priority", "joined_at", "mentee__first_name", "mentee__last_name", "mentee__email")
        .prefetch_related(Prefetch("wanted_mentors", queryset=named))
    )
    for position, entry in enumerate(qs.iterator(chunk_size=CHUNK), start=1):
        mentee = entry.mentee
        mentors = "; ".join(_name(m.first_name, m.last_name) for m in entry.wanted_mentors.all())
        yield (
            position, mentee.first_name, mentee.last_name, mentee.email,
            local(entry.joined_at), "yes" if entry.priority else "no", mentors,
        )  # fmt: skip


def waitlist_export(program: Program) -> Iterator[str]:
    """The Waitlist CSV, through the csv module on every database: a waitlist holds at
    most the program's mentees, and each block of rows reads its named mentors in one
    more query (the prefetch), so a COPY path would gain little here."""
    return csv_stream(WAITLIST_HEADER, waitlist_rows(program))
