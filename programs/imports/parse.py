"""Reading a CSV import: decode the upload, check the header, validate each row.

No database access: the rules for formulas, open quotes and each column live
here, and the services run them again on every preview and on confirm.

The columns are the person's record (email, role, names, title, department,
location, bio, manager, capacity) and one per question the program asks,
named by its key; the department and location questions are the record's
columns. A cell answering a question is checked by programs.questions.
clean_answer, the rule the registration form follows.
"""

import csv
import io
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.text import one_line, without_bidi
from programs.models import PROFILE_FIELDS, Participant, Question
from programs.questions import Picks, clean_answer, default_questions

REQUIRED_COLUMNS = ("email", "role", "first_name")
OPTIONAL_COLUMNS = ("last_name", *PROFILE_FIELDS, "manager_email", "capacity")
# The person's record: the model fields a file may set.
RECORD_COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
# `name` may stand in for first_name (+ last_name), split on the first space.
ACCEPTED_COLUMNS = (*RECORD_COLUMNS, "name")
TEXT_COLUMNS = ("first_name", "last_name", "title", "department", "location", "bio")
# A quoted CSV cell may hold newlines; only the bio keeps them (names go into
# email headers, the rest is shown on one line).
MULTI_LINE_COLUMNS = frozenset({"bio"})
MAX_CAPACITY = 50
ROLES = frozenset(Participant.Role.values)

_email_validator = EmailValidator()
_field_max = {
    f.name: f.max_length for f in Participant._meta.get_fields() if hasattr(f, "max_length")
}
# A leading minus is a formula when what follows is a number, a bracket, a
# cell reference (-A1) or a function call (-SUM(...)); "- mentoring" is prose.
_MINUS_FORMULA = re.compile(r"-\s*(?:[\d(.]|[A-Za-z]{1,3}\$?\d|[A-Za-z_][\w.]*\()")


# Whom a question is for, as a row error says it.
_WHOM = {Question.Audience.MENTEES: "mentees", Question.Audience.MENTORS: "mentors"}


@dataclass(frozen=True)
class QuestionColumns:
    """A program's questions as the import reads them: a column per question key.

    Department and Location are answered on the record, so their questions are
    the record's columns (under the question's own key too, should it differ). A
    question whose key is a record column and asks for something else cannot be
    told apart from that column: the record's column wins.
    """

    answers: dict[str, Question]  # column: a question answered by Answer rows
    record: dict[str, Question]  # record column (department, location): its question
    aliases: dict[str, str]  # a profile question's own key: its record column

    @classmethod
    def of(cls, questions: Sequence[Question]) -> "QuestionColumns":
        answers, record, aliases = {}, {}, {}
        for q in questions:
            if q.profile_field:
                record[q.profile_field] = q
                if q.key != q.profile_field and q.key not in ACCEPTED_COLUMNS:
                    aliases[q.key] = q.profile_field
            elif q.key not in ACCEPTED_COLUMNS:
                answers[q.key] = q
        return cls(answers, record, aliases)

    @property
    def accepted(self) -> tuple[str, ...]:
        return (*ACCEPTED_COLUMNS, *self.answers, *self.aliases)

    def kind_of(self, column: str) -> str:
        question = self.answers.get(column)
        return question.kind if question else ""


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
    # The keys of the questions whose columns the file has, in the program's order:
    # each row's answers to these (a row's value under the key) replace the old ones.
    answer_keys: list[str] = field(default_factory=list)
    # Emails of the rows with a capacity written in; a blank or missing one
    # keeps a known mentor's capacity (see services._capacities).
    explicit_capacity: set[str] = field(default_factory=set)

    @property
    def error_count(self) -> int:
        return len(self.file_errors) + len(self.row_errors)

    @property
    def is_valid(self) -> bool:
        return not self.file_errors and not self.row_errors and bool(self.rows)


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


def looks_like_formula(value: str) -> bool:
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


def parse_import(
    text: str, *, default_mentor_capacity: int, questions: Sequence[Question] | None = None
) -> ParsedImport:
    """Read and validate every row of a CSV text (already decoded) against the program's
    `questions` (programs.questions.questions_of; a new program's when None).

    A row holds the record's fields and, under each question's key whose column the
    file has, the answer: a list of option labels (as the program spells those it
    has, then the new ones an open question takes), an int, a str, or None.
    """
    asked = QuestionColumns.of(default_questions() if questions is None else questions)
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
        columns = _check_header(header, result, asked)
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
            row = _parse_row(
                cells, columns, start, result, seen_emails, default_mentor_capacity, asked
            )
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


def _check_header(header: list[str], result: ParsedImport, asked: QuestionColumns) -> list[str]:
    columns = [_normalize_header(h) for h in header]
    columns = [asked.aliases.get(c, c) for c in columns]
    accepted = ", ".join(asked.accepted)
    named = [c for c in columns if c]
    duplicates = sorted({c for c in named if named.count(c) > 1})
    if duplicates:
        result.file_errors.append(f"These columns appear more than once: {', '.join(duplicates)}.")
    unknown = [c for c in named if c not in asked.accepted]
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
        result.provided_fields = [f for f in RECORD_COLUMNS if f in provided]
        result.answer_keys = [key for key in asked.answers if key in present]
    return columns


def _parse_row(
    cells: list[str],
    columns: list[str],
    line: int,
    result: ParsedImport,
    seen_emails: dict[str, int],
    default_mentor_capacity: int,
    asked: QuestionColumns,
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
        # Bidirectional controls go first (the bio and long answers keep their
        # directional marks), so none can hide a formula sign behind it.
        kind = asked.kind_of(column)
        multi_line = column in MULTI_LINE_COLUMNS or kind == Question.Kind.LONG_TEXT
        value = without_bidi(value, keep_marks=multi_line)
        # A capacity or a number answer is read as a whole number or refused, so
        # "-2" is a number there, never a formula.
        if column != "capacity" and kind != Question.Kind.NUMBER and looks_like_formula(value):
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
    asked_role = role if role in ROLES else None  # an unknown role is reported above
    for column, question in asked.record.items():
        blank = column in raw and not row.get(column)
        if blank and question.required and asked_role and question.asks(asked_role):
            error(column, _blank(question))
    for column, question in asked.answers.items():
        if column in raw:
            row[column] = _answer(question, raw[column], asked_role, error)

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


def _answer(question: Question, cell: str, role: str | None, error) -> Any:
    """A cell's answer to `question` as a row holds it, or None (blank, or refused with
    an error naming the question)."""
    if role and not question.asks(role):
        if cell:
            error(
                question.key,
                f"“{question.label}” is asked of {_WHOM[question.audience]} only, and this "
                f"row is a {role}. Leave the cell blank.",
            )
        return None
    try:
        value = clean_answer(question, cell)
    except DomainError as exc:
        error(question.key, str(exc))
        return None
    if value is None:
        if role and question.required:
            error(question.key, _blank(question))
        return None
    if isinstance(value, Picks):
        labels = {o.pk: o.label for o in question.option_list}  # read by clean_answer
        return [*(labels[pk] for pk in value.option_ids), *value.new_labels]
    return value


def _blank(question: Question) -> str:
    return f"“{question.label}” is required, and this cell is blank."


def _valid_email(value: str, column: str) -> bool:
    if len(value) > _field_max[column]:
        return False
    try:
        _email_validator(value)
    except ValidationError:
        return False
    return True
