"""CSV exports: active pairings (as filtered on screen), unpaired mentees, requests, the waitlist.

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


def active_export(program: Program, **filters) -> Iterator[str | bytes]:
    """The Active Pairings CSV: COPY on PostgreSQL, Python's csv module elsewhere."""
    if export_pg.use_copy(program):
        return export_pg.copy_stream(ACTIVE_HEADER, *export_pg.active_copy_sql(program, **filters))
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
# The Unpaired tab's label for a mentee not invited.
NOT_INVITED = SUB_TABS[selectors.NOT_INVITED]


def unpaired_rows(program: Program) -> Iterator[tuple]:
    local = _localizer(program)
    qs = selectors.unpaired_queryset(program).values_list(
        "first_name", "last_name", "email", "department", "location", "title", "invited_at",
        "pending_to",
    )  # fmt: skip
    for first, last, email, dept, loc, title, invited, pending in qs.iterator(chunk_size=CHUNK):
        yield (first, last, email, dept, loc, title, local(invited) or NOT_INVITED,
               pending or "")  # fmt: skip


def unpaired_export(program: Program) -> Iterator[str | bytes]:
    if export_pg.use_copy(program):
        return export_pg.copy_stream(UNPAIRED_HEADER, *export_pg.unpaired_copy_sql(program))
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


def request_export(program: Program, *, status: str = "", query: str = "") -> Iterator[str | bytes]:
    if export_pg.use_copy(program):
        return export_pg.copy_stream(
            REQUEST_HEADER, *export_pg.request_copy_sql(program, status=status, query=query)
        )
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
