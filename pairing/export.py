"""CSV exports: active pairings (as filtered on screen), unpaired mentees, requests.

Streamed: rows come from a server-side cursor (.iterator) as plain tuples
(values_list) and leave as text in blocks, so memory stays flat at any size.
Excel opens the file as UTF-8 thanks to the byte-order mark, and no cell can
run as a formula there (see `safe_cell`).
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify

from invitations.models import Invitation
from pairing.health import HEALTH_LABELS, active_pairings, local_today
from pairing.models import MentorRequest, Pairing
from programs.models import Participant, Program

CHUNK = 2000
BOM = "\ufeff"
# A spreadsheet treats a cell starting with one of these as a formula.
FORMULA_START = frozenset("=+-@")
# Characters that must not lead a cell at all (Excel and LibreOffice skip or act on them).
CONTROL_START = frozenset("\t\r\0")
# Whitespace a spreadsheet may skip before a formula sign (str.isspace() covers NBSP).
_SUSPECT = FORMULA_START | CONTROL_START


def _line_is_dangerous(line: str) -> bool:
    if not line:
        return False
    if line[0] in CONTROL_START:
        return True
    stripped = line.lstrip()  # str.lstrip removes NBSP (U+00A0) and other Unicode spaces
    return bool(stripped) and stripped[0] in FORMULA_START


def safe_cell(value: object) -> str:
    """The cell as text, with a leading ' when a spreadsheet could read it as a formula.

    Dangerous: a first character of tab, CR or NUL, or a first non-blank
    character of = + - @; in a multi-line cell, any line that starts so.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not text:
        return text
    first = text[0]
    # Fast path for the common cell: starts with a letter or digit and holds one line.
    if first not in _SUSPECT and not first.isspace() and "\n" not in text and "\r" not in text:
        return text
    if first in CONTROL_START or any(_line_is_dangerous(line) for line in text.splitlines()):
        return "'" + text
    return text


class _Echo:
    """A file-like object that hands back what csv.writer writes."""

    def write(self, value: str) -> str:
        return value


def csv_stream(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """BOM and header, then the rows in blocks of text (each cell made safe)."""
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


def csv_response(filename: str, header: Iterable[str], rows: Iterable) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        csv_stream(header, rows), content_type="text/csv; charset=utf-8"
    )
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


def unpaired_queryset(program: Program) -> QuerySet[Participant]:
    """Mentees of the program without an active pairing, by name."""
    pending = MentorRequest.objects.filter(
        mentee=OuterRef("pk"), status=MentorRequest.Status.PENDING
    )
    return (
        Participant.objects.filter(program=program, role=Participant.Role.MENTEE)
        .exclude(
            Exists(Pairing.objects.filter(mentee=OuterRef("pk"), status=Pairing.Status.ACTIVE))
        )
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
        yield (first, last, email, dept, loc, title, local(invited) or "Not Invited by Admin",
               pending or "")  # fmt: skip


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


def request_rows(program: Program, *, status: str = "") -> Iterator[tuple]:
    statuses = dict(MentorRequest.Status.choices)
    local = _localizer(program)
    qs = MentorRequest.objects.filter(program=program)
    if status in statuses:
        qs = qs.filter(status=status)
    qs = qs.order_by("-created_at", "-id").values_list(
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
