"""The CSV exports on PostgreSQL: one query formats every cell (names, local times, labels,
answers, the formula guard) and COPY (SELECT ...) TO STDOUT WITH (FORMAT csv) writes the
rows, which Python only relays. pairing.export chooses this path (use_copy) or its portable
one; tests hold the two to the same bytes.
"""

import csv
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from django.db import DatabaseError, connection, transaction
from django.db.models import Case, CharField, F, Func, QuerySet, Value, When, Window
from django.db.models.functions import Cast, Concat, RowNumber
from django.utils import timezone

from pairing import request_selectors
from pairing.csv_cells import BOM, CHUNK, PG_DANGER, SUSPECT_JOINED, _Echo, safe_cell
from pairing.export_answers import JOIN, Side, side
from pairing.health import (
    DEFAULT_SORT,
    HEALTH_LABELS,
    Rules,
    health_table,
    local_today,
    parse_sort,
    rules_for,
    search_filter,
)
from pairing.models import MentorRequest, Pairing
from pairing.selectors import NOT_INVITED, SUB_TABS, unpaired_queryset
from pairing_admin.lib.db import is_postgresql
from pairing_admin.lib.search import search_words
from programs.models import Answer, Participant, Program, Question, QuestionOption


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
    if not is_postgresql():
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
    whens = " ".join(
        f"WHEN {_sql_text(value)} THEN {_sql_text(str(label))}" for value, label in choices
    )
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


# --- The answer columns (pairing.export_answers) ---


def _answers_table(sides: Sequence[Side]) -> str:
    """One row per person who answered any question of `sides`: their cell of each
    question, by question id (column q<id>), before the guard; NULL when blank.

    Worked out once per export, set-wise (the program's answer rows grouped by
    person), and hash-joined to the rows. A subquery per row and column reads the
    same few rows through the unique indexes but costs some 0.1 ms each: measured
    on 100,000 active pairings with four answer columns (a loaded 2-core machine),
    44 s that way against 6.5 s this way (2.9 s without the answer columns).
    """
    questions = {q.pk: q for s in sides for q in s.questions if not q.profile_field}
    cells = []
    for qid, q in questions.items():
        this = f"a.question_id = {int(qid)}"
        if q.is_choice:
            cells.append(
                f"string_agg(o.label, {_sql_text(JOIN)} ORDER BY a.id) FILTER (WHERE {this}) AS q{qid}"
            )
        else:
            value = "a.number::text" if q.kind == Question.Kind.NUMBER else "a.text"
            cells.append(f"min({value}) FILTER (WHERE {this} AND a.option_id IS NULL) AS q{qid}")
    answers, options = Answer._meta.db_table, QuestionOption._meta.db_table
    program_id = int(next(iter(questions.values())).program_id)
    # Table names, ints and constants: nothing anyone typed is spliced in.
    return (
        f"SELECT a.participant_id AS pid, {', '.join(cells)} "  # noqa: S608
        f"FROM {answers} a LEFT JOIN {options} o ON o.id = a.option_id "
        f"WHERE a.program_id = {program_id} AND a.question_id IN ({', '.join(map(str, questions))}) "
        "GROUP BY a.participant_id"
    )


def _reads_answers(sides: Sequence[Side]) -> bool:
    return any(s.reads_answers for s in sides)


def _sql_side(person: str, answered: str, side: Side) -> list[str]:
    """The guarded cells of one side: the person's record (table alias `person`) for
    Department and Location, their row of _answers_table (alias `answered`) for the rest."""
    return [
        _sql_safe(f"{person}.{q.profile_field}" if q.profile_field else f"{answered}.q{q.pk}")
        for q in side.questions
    ]


def _copy_sql_with_answers(
    qs: QuerySet, columns: dict, sides: Sequence[tuple[str, Side]]
) -> tuple[str, list]:
    """`_queryset_copy_sql(qs, columns)` followed by the answer columns of each side
    ((prefix of the person's fields, side): ("mentee__", ...)).

    The queryset's rows are numbered in its order (a window over the same ORDER BY),
    joined with _answers_table by each side's person, and put back in that order.
    """
    if not _reads_answers([asked for _, asked in sides]):
        extra = {
            f"x_s{n}_{q.pk}": _SafeText(F(prefix + q.profile_field))
            for n, (prefix, asked) in enumerate(sides)
            for q in asked.questions
        }
        return _queryset_copy_sql(qs, {**columns, **extra})
    order = [
        F(name[1:]).desc() if name.startswith("-") else F(name).asc() for name in qs.query.order_by
    ]
    extra = {"x_row": Window(RowNumber(), order_by=order)}
    for n, (prefix, asked) in enumerate(sides):
        extra[f"x_person{n}"] = F(prefix + "id")
        for field in {q.profile_field for q in asked.questions} - {""}:
            extra[f"x_s{n}_{field}"] = F(prefix + field)
    inner, params = _queryset_copy_sql(qs.order_by(), {**columns, **extra})
    cells = [f"r.{name}" for name in columns]
    joins = []
    for n, (_, asked) in enumerate(sides):
        joins.append(f"LEFT JOIN answered s{n} ON s{n}.pid = r.x_person{n}")
        cells += [
            _sql_safe(f"r.x_s{n}_{q.profile_field}" if q.profile_field else f"s{n}.q{q.pk}")
            for q in asked.questions
        ]
    table = _answers_table([asked for _, asked in sides])
    sql = (
        f"WITH answered AS ({table}) SELECT {', '.join(cells)} "  # noqa: S608
        f"FROM ({inner}) r {' '.join(joins)} ORDER BY r.x_row"
    )
    return sql, params


def _label(field: str, choices) -> Case:
    return Case(
        *(When(**{field: value}, then=Value(str(label))) for value, label in choices),
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


# --- The exports' queries ---


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

    Same pairings, order and cells: the health comes from `health_table` (the
    pairing rows' kept figures), names, local times and labels are
    formatted in SQL, and every text cell gets `safe_cell`'s guard. The guard's
    regular expression runs on a cell only when it matched the row's four text
    cells joined by line breaks (a cheap first test that no dangerous cell escapes).
    """
    now = now or timezone.now()
    rules = rules or rules_for(program)
    today = local_today(program, now)
    table, table_params = health_table(program, rules, today=today)
    where, where_params = [], []
    if health in HEALTH_LABELS:
        where.append("h.health = %s")
        where_params.append(health)
    if search_words(query):
        active = Pairing.objects.filter(program=program).active()
        matching = search_filter(active, query).values("pk")
        ids_sql, ids_params = matching.query.sql_with_params()
        where.append(f"h.id IN ({ids_sql})")
        where_params.extend(ids_params)
    mentee, mentor = _sql_name("me"), _sql_name("mt")
    sides = [side(program, Participant.Role.MENTEE), side(program, Participant.Role.MENTOR)]
    answers = [*_sql_side("me", "ma", sides[0]), *_sql_side("mt", "ta", sides[1])]
    inner_answers = "".join(f", {cell} AS a{n}" for n, cell in enumerate(answers))
    outer_answers = "".join(f", t.a{n}" for n in range(len(answers)))
    answered, joins = "", ""
    if _reads_answers(sides):
        answered = f"WITH answered AS ({_answers_table(sides)})"
        joins = "LEFT JOIN answered ma ON ma.pid = me.id LEFT JOIN answered ta ON ta.pid = mt.id"
    sql = f"""{answered}
        SELECT {_sql_safe("t.mentee", "t.suspect")}, {_sql_safe("t.mentee_email", "t.suspect")},
            {_sql_safe("t.mentor", "t.suspect")}, {_sql_safe("t.mentor_email", "t.suspect")},
            t.started, t.origin, t.sessions, t.last_text, t.health{outer_answers}
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
                h.started_at, h.last, h.health AS health_code, h.id{inner_answers}
            FROM ({table}) h
            JOIN programs_participant me ON me.id = h.mentee_id
            JOIN programs_participant mt ON mt.id = h.mentor_id
            {joins}
            {"WHERE " + " AND ".join(where) if where else ""}
            OFFSET 0
        ) t
        ORDER BY {_active_order(sort)}"""  # noqa: S608 (values are parameters)
    return sql, [program.organization.timezone, *table_params, *where_params]


def unpaired_copy_sql(program: Program) -> tuple[str, list]:
    tz = program.organization.timezone
    columns = {
        f"x_{name}": _SafeText(F(name))
        for name in ("first_name", "last_name", "email", "department", "location", "title")
    }
    columns["x_invited"] = Func(
        _LocalText(F("invited_at"), tz), Value(SUB_TABS[NOT_INVITED]), function="COALESCE",
        output_field=CharField(),
    )  # fmt: skip
    columns["x_pending"] = _SafeText(F("pending_to"))
    # Department and Location are columns already (as in export.unpaired_rows).
    mentees = side(program, Participant.Role.MENTEE, record_fields=False)
    return _copy_sql_with_answers(unpaired_queryset(program), columns, [("", mentees)])


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
    return _copy_sql_with_answers(
        request_selectors.request_list(program, status=status, query=query),
        columns,
        [
            ("mentee__", side(program, Participant.Role.MENTEE)),
            ("mentor__", side(program, Participant.Role.MENTOR)),
        ],
    )
