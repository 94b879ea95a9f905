"""CSV import of participants: decode, parse, validate, preview, apply.

An upload is checked in two stages. File-level problems (not UTF-8, binary,
empty, too big, wrong header) refuse the upload outright: nothing is stored.
A file whose header is fine is stored as a ParticipantImport; its rows are
validated again on every preview and on confirm, and a file with any row
error cannot be applied. Applying is one transaction of set-based writes, so
10,000 rows cost a handful of queries, not 10,000.
"""

import csv
import io
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import connection, transaction
from django.utils import timezone

from pairing_admin.lib.text import one_line, without_bidi
from programs import hooks
from programs.models import (
    PROFILE_FIELDS,
    ActivityEvent,
    Participant,
    ParticipantImport,
    Program,
)
from programs.services import DomainError, activity_record, lock_participants, split_tags

REQUIRED_COLUMNS = ("email", "role", "first_name")
OPTIONAL_COLUMNS = ("last_name", *PROFILE_FIELDS, "manager_email", "capacity")
# `name` may stand in for first_name (+ last_name), split on the first space.
ACCEPTED_COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, "name")
TAG_COLUMNS = ("skills", "interests", "goals")
TEXT_COLUMNS = ("first_name", "last_name", "title", "department", "location", "bio")
# A quoted CSV cell may hold newlines; only the bio keeps them (names go into
# email headers, the rest is shown on one line).
MULTI_LINE_COLUMNS = frozenset({"bio"})
MAX_CAPACITY = 50
ROLES = frozenset(Participant.Role.values)
PREVIEW_ROWS = 50

_email_validator = EmailValidator()
_field_max = {
    f.name: f.max_length for f in Participant._meta.get_fields() if hasattr(f, "max_length")
}
# A leading minus is a formula when what follows is a number, a bracket, a
# cell reference (-A1) or a function call (-SUM(...)); "- mentoring" is prose.
_MINUS_FORMULA = re.compile(r"-\s*(?:[\d(.]|[A-Za-z]{1,3}\$?\d|[A-Za-z_][\w.]*\()")


class ImportFileError(DomainError):
    """The file as a whole cannot be imported; nothing was stored."""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str


@dataclass
class ParsedImport:
    """The outcome of reading a CSV text; no database access involved."""

    file_errors: list[str] = field(default_factory=list)
    row_errors: list[RowError] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    # Model fields the file provides; on re-import only these are overwritten.
    provided_fields: list[str] = field(default_factory=list)
    # Emails of the rows with a capacity written in; a blank or missing one
    # keeps a known mentor's capacity (see _capacities).
    explicit_capacity: set[str] = field(default_factory=set)

    @property
    def error_count(self) -> int:
        return len(self.file_errors) + len(self.row_errors)

    @property
    def is_valid(self) -> bool:
        return not self.file_errors and not self.row_errors and bool(self.rows)


@dataclass
class ImportPreview:
    parsed: ParsedImport
    new_count: int
    update_count: int

    @property
    def row_count(self) -> int:
        return len(self.parsed.rows)


# --- Reading the file ----------------------------------------------------------


def decode_upload(data: bytes) -> str:
    """The text of an uploaded CSV, or ImportFileError saying why not."""
    check_upload_size(len(data))
    if not data.strip():
        raise ImportFileError("The file is empty. Choose a CSV file with a header row and people.")
    if b"\x00" in data:
        raise ImportFileError(
            "This is not a CSV text file (it contains binary data). If it is a spreadsheet, "
            "save it as “CSV UTF-8 (comma delimited)” and upload that."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"The file is not UTF-8 encoded (unreadable byte at position {exc.start}). "
            "Save it as “CSV UTF-8” in your spreadsheet program and upload it again."
        ) from None
    if not text.strip():
        raise ImportFileError("The file is empty. Choose a CSV file with a header row and people.")
    return text


def check_upload_size(size: int) -> None:
    limit = settings.IMPORT_MAX_BYTES
    if size > limit:
        shown, largest = _size(size), _size(limit)
        if shown == largest:  # "5.0 MB; the largest ... is 5.0 MB" would say nothing
            shown, largest = f"{size:,} bytes", f"{limit:,} bytes ({largest})"
        raise ImportFileError(
            f"The file is {shown}; the largest file we accept is {largest}. "
            "Split it into smaller files and import them one after another."
        )


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{max(1, round(n / 1024))} KB"


def _normalize_header(name: str) -> str:
    name = name.strip().lower().replace("-", "_").replace(" ", "_")
    return re.sub(r"_+", "_", name)


def _detect_delimiter(text: str) -> str:
    header = text.lstrip("\r\n").split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _looks_like_formula(value: str) -> bool:
    first = value[:1]
    if not first or first.isalnum():
        return False  # the common case, decided without further work
    if first in ("\t", "\r"):
        return True
    stripped = value.lstrip(" ")
    if not stripped:
        return False
    if stripped[0] in "=+@":
        return True
    return stripped[0] == "-" and _MINUS_FORMULA.match(stripped) is not None


# Read after the file's last line: a record still inside a quoted cell takes
# it into that cell; otherwise it comes out as a record of its own. The text
# holds no NUL (decode_upload refuses it), so the sentinel is unambiguous.
_END = "\x00"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Columns whose cells never run over several lines: a line break in one means
# a quote was left open and the next rows were read into the cell.
ONE_LINE_COLUMNS = frozenset(
    {"email", "role", "name", "first_name", "last_name", "manager_email", "capacity"}
)


def _open_quote_problem(cells: list[str], columns: list[str] | None, start: int) -> str:
    """Why a record shows a quote left open, or ""; `start` is its first line.

    Line breaks inside the cells before one say on which line it began.
    """
    line = start
    for index, cell in enumerate(cells):
        breaks = len(_LINE_BREAK.findall(cell))
        if cell.endswith(_END + "\n") or cell.endswith(_END):
            return (
                f'Line {line}: a quote (") opens a cell that is never closed, so everything '
                "after it would be read into that one cell. Close the quote where the cell "
                "ends (or remove it) and upload the file again; nothing was imported."
            )
        column = columns[index] if columns is not None and index < len(columns) else ""
        if breaks and (columns is None or column in ONE_LINE_COLUMNS):
            name = f"the {column} cell" if column else "a cell of the header"
            return (
                f'Line {line}: {name} opens a quote (") that closes only on line '
                f"{line + breaks}, so the lines between were read into that one cell. "
                "Close the quote where the cell ends (or remove it) and upload the file "
                "again; nothing was imported."
            )
        line += breaks
    return ""


def parse_import(text: str, *, default_mentor_capacity: int) -> ParsedImport:
    """Read and validate every row of a CSV text (already decoded)."""
    result = ParsedImport()
    lines = itertools.chain(io.StringIO(text, newline=""), [_END + "\n"])
    reader = csv.reader(lines, delimiter=_detect_delimiter(text))
    try:
        line = 1
        header = None
        for cells in reader:
            start, line = line, reader.line_num + 1
            if cells == [_END]:
                break
            if any(c.strip() for c in cells):
                header = cells
                break
        if header is None:
            result.file_errors.append("The file is empty.")
            return result
        problem = line - start > 1 and _open_quote_problem(header, None, start)
        if problem:
            result.file_errors.append(problem)
            return result
        columns = _check_header(header, result)
        if result.file_errors:
            return result
        seen_emails: dict[str, int] = {}
        for cells in reader:
            start, line = line, reader.line_num + 1  # physical line where the record starts
            if cells == [_END]:
                break
            # Only a record over several lines can hold a line break or the sentinel.
            problem = line - start > 1 and _open_quote_problem(cells, columns, start)
            if problem:
                # The rest of the file is misread: its rows say nothing.
                result.file_errors.append(problem)
                result.rows, result.lines, result.row_errors = [], [], []
                return result
            if not any(c.strip() for c in cells):
                continue
            row = _parse_row(cells, columns, start, result, seen_emails, default_mentor_capacity)
            if row is not None:
                result.rows.append(row)
                result.lines.append(start)
    except csv.Error as exc:
        result.file_errors.append(f"Line {reader.line_num}: the CSV cannot be read ({exc}).")
        return result
    if not result.rows and not result.row_errors:
        result.file_errors.append(
            "The file has a header row but no participants. Add one row per person below it."
        )
    return result


def _check_header(header: list[str], result: ParsedImport) -> list[str]:
    columns = [_normalize_header(h) for h in header]
    accepted = ", ".join(ACCEPTED_COLUMNS)
    named = [c for c in columns if c]
    duplicates = sorted({c for c in named if named.count(c) > 1})
    if duplicates:
        result.file_errors.append(f"These columns appear more than once: {', '.join(duplicates)}.")
    unknown = [c for c in named if c not in ACCEPTED_COLUMNS]
    if unknown:
        result.file_errors.append(
            f"Unknown column{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
            f"Accepted columns are: {accepted}."
        )
    present = set(named)
    if "name" in present and present & {"first_name", "last_name"}:
        result.file_errors.append(
            "Use either a name column or first_name and last_name columns, not both."
        )
    required = ["email", "role"] + ([] if "name" in present else ["first_name"])
    missing = [c for c in required if c not in present]
    if missing:
        result.file_errors.append(
            f"Missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. "
            f"Accepted columns are: {accepted}."
        )
    if not result.file_errors:
        provided = present - {"email", "name"}
        if "name" in present:
            provided |= {"first_name", "last_name"}
        result.provided_fields = [
            f for f in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if f in provided
        ]
    return columns


def _parse_row(
    cells: list[str],
    columns: list[str],
    line: int,
    result: ParsedImport,
    seen_emails: dict[str, int],
    default_mentor_capacity: int,
) -> dict[str, Any] | None:
    errors: list[RowError] = []

    def error(column: str, reason: str) -> None:
        errors.append(RowError(line, column, reason))

    extra = [c for c in cells[len(columns) :] if c.strip()]
    if extra:
        error("", f"This row has {len(cells)} cells but the header has {len(columns)} columns.")
    # Spreadsheets drop trailing empty cells; a short row means blanks.
    cells = cells + [""] * (len(columns) - len(cells))
    raw: dict[str, str] = {}
    for column, value in zip(columns, cells, strict=False):
        if not column:
            continue
        # Bidirectional controls go first (the bio keeps its directional
        # marks), so none can hide a formula sign behind it.
        value = without_bidi(value, keep_marks=column in MULTI_LINE_COLUMNS)
        if column != "capacity" and _looks_like_formula(value):
            error(column, "looks like a spreadsheet formula")
            continue
        raw[column] = value.strip()

    row: dict[str, Any] = {}
    email = raw.get("email", "").lower()
    if "email" not in raw:
        pass  # already reported as a formula
    elif not email:
        error("email", "is missing")
    elif not _valid_email(email, "email"):
        error("email", f"“{email}” is not a valid email address")
    elif email in seen_emails:
        error("email", f"“{email}” is a duplicate of line {seen_emails[email]}")
    else:
        seen_emails[email] = line
    row["email"] = email

    role = raw.get("role", "").lower()
    if "role" in raw and role not in ROLES:
        shown = f"“{raw['role']}”" if role else "is missing; it"
        error("role", f"{shown} must be mentee or mentor")
    row["role"] = role

    if "name" in raw:
        first, _, last = one_line(raw["name"]).partition(" ")
        row["first_name"], row["last_name"] = first, " ".join(last.split())
        if not first:
            error("name", "is missing")
        for part, value in (("first_name", first), ("last_name", row["last_name"])):
            if len(value) > _field_max[part]:
                error(
                    "name",
                    f"the {part.replace('_', ' ')} is longer than {_field_max[part]} characters",
                )
    for column in TEXT_COLUMNS:
        if column not in raw:
            continue
        value = raw[column] if column in MULTI_LINE_COLUMNS else one_line(raw[column])
        if column == "first_name" and not value:
            error(column, "is missing")
        if len(value) > _field_max[column]:
            error(column, f"is longer than {_field_max[column]} characters")
        row[column] = value
    for column in TAG_COLUMNS:
        if column in raw:
            row[column] = split_tags(raw[column])

    manager = raw.get("manager_email", "").lower()
    if manager and not _valid_email(manager, "manager_email"):
        error("manager_email", f"“{manager}” is not a valid email address")
    if "manager_email" in raw:
        row["manager_email"] = manager

    capacity = raw.get("capacity", "")
    if capacity:
        if not re.fullmatch(r"\d{1,3}", capacity) or int(capacity) > MAX_CAPACITY:
            error("capacity", f"“{capacity}” must be a whole number from 0 to {MAX_CAPACITY}")
        else:
            row["capacity"] = int(capacity)
            result.explicit_capacity.add(email)
    elif "capacity" in columns:
        row["capacity"] = default_mentor_capacity if role == Participant.Role.MENTOR else 0

    if errors:
        result.row_errors.extend(errors)
        return None
    return row


def _valid_email(value: str, column: str) -> bool:
    if len(value) > _field_max[column]:
        return False
    try:
        _email_validator(value)
    except ValidationError:
        return False
    return True


# --- Services: store, preview, apply, discard ------------------------------------


@transaction.atomic
def import_create(*, program: Program, user, filename: str, data: bytes) -> ParticipantImport:
    """Store an uploaded file for preview; ImportFileError if the file is unusable."""
    text = decode_upload(data)
    parsed = parse_import(text, default_mentor_capacity=program.default_mentor_capacity)
    if parsed.file_errors:
        raise ImportFileError(" ".join(parsed.file_errors))
    return ParticipantImport.objects.create(
        program=program,
        uploaded_by=user if user and user.is_authenticated else None,
        filename=(filename or "upload.csv")[-255:],
        content=text,
    )


def import_preview(*, participant_import: ParticipantImport) -> ImportPreview:
    """What confirming would do; reads only (a GET shows it)."""
    program = participant_import.program
    parsed = parse_import(
        participant_import.content, default_mentor_capacity=program.default_mentor_capacity
    )
    known = _known(program, parsed)
    parsed.row_errors += _conflicts(program, parsed, known)
    updates = sum(1 for row in parsed.rows if row["email"] in known)
    return ImportPreview(parsed=parsed, new_count=len(parsed.rows) - updates, update_count=updates)


# A person already in the program, as the import compares them: a row of
# values_list(*_KNOWN, named=True) (cheap to make by the ten thousand).
_KNOWN = ("pk", "email", "role", "capacity", "first_name", "last_name")
_Known = Any


def _known(program: Program, parsed: ParsedImport, *, pks=None) -> dict[str, _Known]:
    """{email: person} for the program's people (or only those with `pks`)."""
    if not parsed.rows:
        return {}
    people = Participant.objects.filter(program=program)
    if pks is not None:
        people = people.filter(pk__in=pks)
    return {person.email: person for person in people.values_list(*_KNOWN, named=True)}


def _name(person: _Known) -> str:
    return f"{person.first_name} {person.last_name}".strip()


def _capacities(parsed: ParsedImport, known: dict[str, _Known], program: Program) -> list[int]:
    """Each row's capacity after the import.

    A capacity written in the file wins. Otherwise a person who keeps their
    role keeps their capacity (a blank cell must not reset a mentor to the
    program's default), and a new mentor, or a mentee becoming one, gets the
    program's default; mentees have 0.
    """
    out = []
    for row in parsed.rows:
        person = known.get(row["email"])
        if row["email"] in parsed.explicit_capacity:
            out.append(row["capacity"])
        elif person is not None and person.role == row["role"]:
            out.append(person.capacity)
        elif row["role"] == Participant.Role.MENTOR:
            out.append(program.default_mentor_capacity)
        else:
            out.append(0)
    return out


def _changes(parsed: ParsedImport, known: dict[str, _Known], program: Program):
    """(line, change) for the rows that change a known person's role or capacity in
    a way a registered check (programs.hooks: pairing's ties) may forbid."""
    for line, row, capacity in zip(
        parsed.lines, parsed.rows, _capacities(parsed, known, program), strict=True
    ):
        person = known.get(row["email"])
        if person is None:
            continue
        change = hooks.ProfileChange(
            participant_id=person.pk,
            name=_name(person),
            old_role=person.role,
            old_capacity=person.capacity,
            role=row["role"],
            capacity=capacity,
        )
        if hooks.change_touched(change):
            yield line, change


def _conflicts(program: Program, parsed: ParsedImport, known: dict[str, _Known]) -> list[RowError]:
    """A row error for each change a registered check forbids (pairing: the
    person's pairings, requests or staged auto-pair proposals)."""
    changes = list(_changes(parsed, known, program))
    if not changes:
        return []
    found = hooks.change_problems(program=program, changes=[change for _, change in changes])
    return [
        RowError(line, *found[change.participant_id])
        for line, change in changes
        if change.participant_id in found
    ]


def import_apply(*, participant_import: ParticipantImport, user=None) -> ParticipantImport:
    """Apply a previewed file, all or nothing, at most once (and say so in the activity log)."""
    program = participant_import.program
    _ensure_waiting(participant_import)
    # Validate before taking any lock; the stored text cannot change, but the
    # program's default capacity may have since the preview.
    parsed = parse_import(
        participant_import.content, default_mentor_capacity=program.default_mentor_capacity
    )
    if not parsed.is_valid:
        raise DomainError(
            "This file has errors, so nothing was imported. Fix them and upload it again."
        )
    with transaction.atomic():
        known = _known(program, parsed)
        # The people whose role or capacity the file changes: locked (as an
        # approval locks its mentor), then read again and checked against
        # their pairings, so none can be paired meanwhile.
        changing = [change.participant_id for _, change in _changes(parsed, known, program)]
        if changing:
            lock_participants(changing)
            known |= _known(program, parsed, pks=changing)
            conflicts = _conflicts(program, parsed, known)
            if conflicts:
                first = conflicts[0]
                more = len(conflicts) - 1
                raise DomainError(
                    f"Nothing was imported. Line {first.line}: {first.reason}"
                    + (f" ({more} more row{'s' if more > 1 else ''} like it.)" if more else "")
                )
        # The conditional update is the once-only guard: a second confirm
        # (double click, two tabs) finds the status already changed.
        claimed = ParticipantImport.objects.filter(
            pk=participant_import.pk, status=ParticipantImport.Status.PREVIEW
        ).update(status=ParticipantImport.Status.APPLIED, applied_at=timezone.now())
        if not claimed:
            participant_import.refresh_from_db(fields=["status"])
            _ensure_waiting(participant_import)
        created, updated = participants_upsert(program=program, parsed=parsed, known=known)
        _announce(program, parsed, known)
        ParticipantImport.objects.filter(pk=participant_import.pk).update(
            created_count=created, updated_count=updated
        )
        activity_record(
            program=program,
            actor=user,
            verb=ActivityEvent.Verb.PARTICIPANTS_IMPORTED,
            detail=f"{participant_import.filename}: {created} new, {updated} updated",
        )
    participant_import.refresh_from_db()
    return participant_import


def _announce(program: Program, parsed: ParsedImport, known: dict[str, _Known]) -> None:
    """Tell programs.hooks who the import added (all in one call) and whose room to
    mentor it changed: new mentors, roles to or from mentor, mentors' capacities."""
    mentor = Participant.Role.MENTOR
    new = [row["email"] for row in parsed.rows if row["email"] not in known]
    added: list[tuple[int, str]] = []
    for start in range(0, len(new), 10_000):  # SQLite caps the parameters of a statement
        people = Participant.objects.filter(program=program, email__in=new[start : start + 10_000])
        added += people.values_list("pk", "role")
    changed = [pk for pk, role in added if role == mentor]
    for row, capacity in zip(parsed.rows, _capacities(parsed, known, program), strict=True):
        was = known.get(row["email"])
        now = (row["role"], capacity)
        if was and mentor in (was.role, row["role"]) and (was.role, was.capacity) != now:
            changed.append(was.pk)
    hooks.participants_added(program=program, participant_ids=[pk for pk, _ in added])
    hooks.mentors_changed(program=program, mentor_ids=changed)


def _ensure_waiting(participant_import: ParticipantImport) -> None:
    if participant_import.status == ParticipantImport.Status.APPLIED:
        raise DomainError("This file was already imported.")
    if participant_import.status == ParticipantImport.Status.DISCARDED:
        raise DomainError("This file was discarded; upload it again to import it.")


def participants_upsert(
    *, program: Program, parsed: ParsedImport, known: dict[str, _Known] | None = None
) -> tuple[int, int]:
    """Insert or update every row by (program, email); returns (created, updated).

    Must run inside a transaction. A fixed number of queries whatever the
    number of rows: on PostgreSQL a COPY into a temporary table and one
    INSERT ... ON CONFLICT from it; elsewhere batched bulk_create upserts.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("participants_upsert must run inside transaction.atomic()")
    if known is None:
        known = _known(program, parsed)
    rows = parsed.rows
    capacities = _capacities(parsed, known, program)
    # Only the columns the file provides overwrite people already there, and
    # the capacity (worked out per row: kept unless written in or the role changes).
    update_fields = [*parsed.provided_fields, "updated_at"]
    if "capacity" not in update_fields:
        update_fields.append("capacity")
    if connection.vendor == "postgresql":
        _upsert_with_copy(program, rows, capacities, update_fields)
    else:
        Participant.objects.bulk_create(
            [
                Participant(
                    program=program,
                    source=Participant.Source.IMPORT,
                    **{**row, "capacity": capacity},
                )
                for row, capacity in zip(rows, capacities, strict=True)
            ],
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["program", "email"],
            update_fields=update_fields,
        )
    updated = sum(1 for row in rows if row["email"] in known)
    return len(rows) - updated, updated


# Capacity last: it is worked out per row (_capacities), the rest read from the row.
_COPY_FIELDS = (*REQUIRED_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c != "capacity"), "capacity")
_COPY_TYPES = {"skills": "jsonb", "interests": "jsonb", "goals": "jsonb", "capacity": "smallint"}
_STAGING = "participant_import_staging"


def _upsert_with_copy(
    program: Program, rows: list[dict], capacities: list[int], update_fields: list[str]
) -> None:
    # bulk_create spends most of its time turning 10,000 model instances into
    # SQL parameters in Python; COPY streams plain tuples, which keeps a
    # 10,000-row import well under two seconds.
    qn = connection.ops.quote_name
    meta = Participant._meta
    column = {name: meta.get_field(name).column for name in (*_COPY_FIELDS, "program", "source")}
    column |= {"created_at": "created_at", "updated_at": "updated_at"}
    staging_columns = ", ".join(
        f"{qn(column[f])} {_COPY_TYPES.get(f, 'text')}" for f in _COPY_FIELDS
    )
    copy_columns = ", ".join(qn(column[f]) for f in _COPY_FIELDS)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{_STAGING}")
        cursor.execute(f"CREATE TEMPORARY TABLE {_STAGING} ({staging_columns}) ON COMMIT DROP")
        with cursor.copy(f"COPY {_STAGING} ({copy_columns}) FROM STDIN") as copy:
            for values, capacity in zip(rows, capacities, strict=True):
                copy.write_row(
                    [
                        json.dumps(values.get(f, [])) if f in TAG_COLUMNS else values.get(f, "")
                        for f in _COPY_FIELDS[:-1]
                    ]
                    + [capacity]  # _COPY_FIELDS[-1]
                )
        targets = [*(column[f] for f in _COPY_FIELDS), column["program"], "source"]
        targets += ["created_at", "updated_at"]
        updates = ", ".join(f"{qn(column[f])} = EXCLUDED.{qn(column[f])}" for f in update_fields)
        # Identifiers come from the model's metadata, values are parameters.
        cursor.execute(
            f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(t) for t in targets)}) "  # noqa: S608
            f"SELECT {copy_columns}, %s, %s, %s, %s FROM {_STAGING} "
            f"ON CONFLICT ({qn(column['program'])}, {qn(column['email'])}) "
            f"DO UPDATE SET {updates}",
            [program.pk, Participant.Source.IMPORT.value, now, now],
        )
        cursor.execute(f"DROP TABLE pg_temp.{_STAGING}")


def import_discard(*, participant_import: ParticipantImport) -> bool:
    """Drop a file waiting for confirmation; False if it was no longer waiting."""
    return bool(
        ParticipantImport.objects.filter(
            pk=participant_import.pk, status=ParticipantImport.Status.PREVIEW
        ).update(status=ParticipantImport.Status.DISCARDED, content="")
    )
