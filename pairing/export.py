"""CSV exports: active pairings (as filtered on screen), unpaired mentees, requests, the waitlist.

Each ends with a column per question of the program for each side it shows (mentee,
mentor): pairing.export_answers.

Streamed in blocks, so memory stays flat at any size. On PostgreSQL COPY writes the rows
(pairing.export_pg); elsewhere rows come from a server-side cursor as plain tuples and the
csv module writes them, each cell through pairing.csv_cells.safe_cell. Tests hold the two
paths to the same bytes.
"""

from collections.abc import Iterable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify

from pairing import export_pg, request_selectors, selectors
from pairing.csv_cells import CHUNK, csv_stream
from pairing.export_answers import Side, answered, side
from pairing.health import HEALTH_LABELS, active_pairings, local_today
from pairing.models import MentorRequest, Pairing
from pairing.selectors import SUB_TABS
from pairing.waitlist import entries
from programs.models import Participant, Program


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


MENTEE, MENTOR = Participant.Role.MENTEE, Participant.Role.MENTOR


def _sides(program: Program, *roles: str, record_fields: bool = True) -> list[Side]:
    return [side(program, role, record_fields=record_fields) for role in roles]


def _header(own: list[str], sides: list[Side]) -> list[str]:
    return [*own, *(title for s in sides for title in s.header)]


def _localizer(program: Program):
    tz = ZoneInfo(program.organization.timezone)

    def local(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""

    return local


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


def active_header(program: Program) -> list[str]:
    return _header(ACTIVE_HEADER, _sides(program, MENTEE, MENTOR))


def active_rows(program: Program, **filters) -> Iterator[tuple]:
    """Rows of the active pairings as the tab shows them (same search, filter and sort),
    each with the mentee's and the mentor's answers."""
    origins = dict(Pairing.Origin.choices)
    local = _localizer(program)
    mentees, mentors = _sides(program, MENTEE, MENTOR)
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
        "mentee_id",
        "mentee__department",
        "mentee__location",
        "mentor_id",
        "mentor__department",
        "mentor__location",
    )
    for row, found in answered(qs.iterator(chunk_size=CHUNK), (11, 14), mentees, mentors):
        mf, ml, me, tf, tl, te, started, origin, done, last, health = row[:11]
        mentee_id, mentee_dept, mentee_loc, mentor_id, mentor_dept, mentor_loc = row[11:]
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
            *mentees.cells(
                {"department": mentee_dept, "location": mentee_loc}, found.get(mentee_id, {})
            ),
            *mentors.cells(
                {"department": mentor_dept, "location": mentor_loc}, found.get(mentor_id, {})
            ),
        )


def active_export(program: Program, **filters) -> Iterator[str | bytes]:
    """The Active Pairings CSV: COPY on PostgreSQL, Python's csv module elsewhere."""
    header = active_header(program)
    if export_pg.use_copy(program):
        return export_pg.copy_stream(header, *export_pg.active_copy_sql(program, **filters))
    return csv_stream(header, active_rows(program, **filters))


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
# The Unpaired tab's label for a mentee not invited.
NOT_INVITED = SUB_TABS[selectors.NOT_INVITED]


def _unpaired_sides(program: Program) -> list[Side]:
    # Department and Location are columns of this export already.
    return _sides(program, MENTEE, record_fields=False)


def unpaired_header(program: Program) -> list[str]:
    return _header(UNPAIRED_HEADER, _unpaired_sides(program))


def unpaired_rows(program: Program) -> Iterator[tuple]:
    local = _localizer(program)
    (mentees,) = _unpaired_sides(program)
    qs = selectors.unpaired_queryset(program).values_list(
        "first_name", "last_name", "email", "department", "location", "title", "invited_at",
        "pending_to", "id",
    )  # fmt: skip
    for row, found in answered(qs.iterator(chunk_size=CHUNK), (8,), mentees):
        first, last, email, dept, loc, title, invited, pending, pk = row
        yield (first, last, email, dept, loc, title, local(invited) or NOT_INVITED,
               pending or "", *mentees.cells({}, found.get(pk, {})))  # fmt: skip


def unpaired_export(program: Program) -> Iterator[str | bytes]:
    header = unpaired_header(program)
    if export_pg.use_copy(program):
        return export_pg.copy_stream(header, *export_pg.unpaired_copy_sql(program))
    return csv_stream(header, unpaired_rows(program))


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


def request_header(program: Program) -> list[str]:
    return _header(REQUEST_HEADER, _sides(program, MENTEE, MENTOR))


def request_rows(program: Program, *, status: str = "", query: str = "") -> Iterator[tuple]:
    statuses = dict(MentorRequest.Status.choices)
    local = _localizer(program)
    mentees, mentors = _sides(program, MENTEE, MENTOR)
    qs = _requests(program, status, query).values_list(
        "created_at", "mentee__first_name", "mentee__last_name", "mentee__email",
        "mentor__first_name", "mentor__last_name", "mentor__email", "rank", "status",
        "expires_at", "decided_at", "note", "decline_message",
        "mentee_id", "mentee__department", "mentee__location",
        "mentor_id", "mentor__department", "mentor__location",
    )  # fmt: skip
    for row, found in answered(qs.iterator(chunk_size=CHUNK), (13, 16), mentees, mentors):
        created, mf, ml, me, tf, tl, te, rank, st, expires, decided, note, message = row[:13]
        mentee_id, mentee_dept, mentee_loc, mentor_id, mentor_dept, mentor_loc = row[13:]
        yield (
            local(created), _name(mf, ml), me, _name(tf, tl), te, rank,
            statuses.get(st, st), local(expires), local(decided), note, message,
            *mentees.cells({"department": mentee_dept, "location": mentee_loc},
                           found.get(mentee_id, {})),
            *mentors.cells({"department": mentor_dept, "location": mentor_loc},
                           found.get(mentor_id, {})),
        )  # fmt: skip


def request_export(program: Program, *, status: str = "", query: str = "") -> Iterator[str | bytes]:
    header = request_header(program)
    if export_pg.use_copy(program):
        return export_pg.copy_stream(
            header, *export_pg.request_copy_sql(program, status=status, query=query)
        )
    return csv_stream(header, request_rows(program, status=status, query=query))


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


def waitlist_header(program: Program) -> list[str]:
    return _header(WAITLIST_HEADER, _sides(program, MENTEE))


def waitlist_rows(program: Program) -> Iterator[tuple]:
    """The waitlist in offer order; named mentors by name, "; " between them (empty: any);
    then the mentee's answers."""
    local = _localizer(program)
    (mentees,) = _sides(program, MENTEE)
    named = Participant.objects.only("first_name", "last_name").order_by(
        "last_name", "first_name", "id"
    )
    qs = (
        entries(program)
        .select_related("mentee")
        .only(
            "priority", "joined_at", "mentee__first_name", "mentee__last_name", "mentee__email",
            "mentee__department", "mentee__location",
        )
        .prefetch_related(Prefetch("wanted_mentors", queryset=named))
    )  # fmt: skip
    entries_in_order = enumerate(qs.iterator(chunk_size=CHUNK), start=1)
    for (position, entry, mentee_id), found in answered(
        ((n, e, e.mentee_id) for n, e in entries_in_order), (2,), mentees
    ):
        mentee = entry.mentee
        mentors = "; ".join(_name(m.first_name, m.last_name) for m in entry.wanted_mentors.all())
        yield (
            position, mentee.first_name, mentee.last_name, mentee.email,
            local(entry.joined_at), "yes" if entry.priority else "no", mentors,
            *mentees.cells(
                {"department": mentee.department, "location": mentee.location},
                found.get(mentee_id, {}),
            ),
        )  # fmt: skip


def waitlist_export(program: Program) -> Iterator[str]:
    """The Waitlist CSV, through the csv module on every database: a waitlist holds at
    most the program's mentees, and each block of rows reads its named mentors in one
    more query (the prefetch) and its mentees' answers in another, so a COPY path would
    gain little here."""
    return csv_stream(waitlist_header(program), waitlist_rows(program))
