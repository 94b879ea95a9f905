"""What the upload page tells an admin about the columns: the template CSV to
download and the help listing each question, both made from the program's
questions so they say what the import reads (parse.py)."""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from programs.imports.parse import RECORD_COLUMNS, QuestionColumns, looks_like_formula
from programs.models import Participant, Program, Question
from programs.questions import LONG_TEXT_MAX, SHORT_TEXT_MAX

Kind = Question.Kind
Role = Participant.Role
# A spreadsheet reading a UTF-8 file without it guesses the encoding wrong.
BOM = "\ufeff"
# A department's or location's length (the record's columns).
PROFILE_TEXT_MAX = Participant._meta.get_field("department").max_length
# How many options the help lists before "and N more".
HELP_OPTIONS = 12

# The record's cells of each example row; capacity is the program's default for a mentor.
_PEOPLE = {
    Role.MENTEE: {
        "email": "grace@example.org",
        "first_name": "Grace",
        "last_name": "Hopper",
        "title": "Analyst",
        "department": "Research",
        "location": "London",
        "bio": "Two years in research; keen to lead a project.",
        "manager_email": "manager@example.org",
    },
    Role.MENTOR: {
        "email": "ada@example.org",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "title": "Engineering lead",
        "department": "Engineering",
        "location": "Paris",
        "bio": "Fifteen years of building teams and software.",
        "manager_email": "director@example.org",
    },
}
_TEXTS = {Kind.SHORT_TEXT: "A short answer", Kind.LONG_TEXT: "A few sentences of your own."}


def template_columns(questions: Sequence[Question]) -> list[str]:
    """Every column the import reads, in order: the record's, then a question's each."""
    return [*RECORD_COLUMNS, *QuestionColumns.of(questions).answers]


def template_csv(program: Program, questions: Sequence[Question]) -> str:
    """A header and one example row per role, which the import takes as it is.

    No cell starts with = + - or @ (the import would refuse it as a formula): an
    option that does is never the example, and a number is never negative.
    """
    columns = template_columns(questions)
    answers = QuestionColumns.of(questions).answers
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for role in (Role.MENTEE, Role.MENTOR):
        cells = {
            **_PEOPLE[role],
            "role": role.value,
            "capacity": str(program.default_mentor_capacity) if role == Role.MENTOR else "",
        }
        cells |= {key: _example(q) if q.asks(role) else "" for key, q in answers.items()}
        writer.writerow([cells.get(c, "") for c in columns])
    return BOM + out.getvalue()


def _example(question: Question) -> str:
    if question.is_choice:
        labels = [o.label for o in question.option_list if _fits_a_cell(o.label)]
        if not labels:
            return "Example" if question.open_options and question.required else ""
        many = 1 if question.kind == Kind.SINGLE else min(2, question.max_choices or 2)
        return "; ".join(labels[:many])
    if question.kind == Kind.NUMBER:
        number = _example_number(question.min_value, question.max_value)
        return "" if number is None else str(number)
    return _TEXTS.get(question.kind, "")


def _fits_a_cell(label: str) -> bool:
    """Whether an option can be the example: not taken for a formula, not split in two
    (a cell's choices are separated by ; , or |)."""
    return not looks_like_formula(label) and not any(c in label for c in ",;|")


def _example_number(low: int | None, high: int | None) -> int | None:
    """A number in the range, not negative; None when the range has none."""
    number = 1 if low is None else low
    if high is not None:
        number = min(number, high)
    if number < 0:
        return 0 if high is None or high >= 0 else None
    return number


@dataclass(frozen=True)
class ColumnHelp:
    """One question as the upload page lists it."""

    column: str
    label: str
    whom: str
    kind: str
    accepts: str
    required: bool


def column_help(questions: Sequence[Question]) -> list[ColumnHelp]:
    """Each question the import reads, in the program's order: its column, whom it is
    for, its kind and what a cell may hold."""
    asked = QuestionColumns.of(questions)
    columns = {q.key: key for key, q in asked.answers.items()}
    columns |= {q.key: field for field, q in asked.record.items()}
    return [
        ColumnHelp(
            column=columns[q.key],
            label=q.label,
            whom=Question.Audience(q.audience).label,
            kind=Kind(q.kind).label,
            accepts=_accepts(q),
            required=q.required,
        )
        for q in questions
        if q.key in columns
    ]


def _accepts(question: Question) -> str:
    if question.is_choice:
        labels = [o.label for o in question.option_list]
        shown = ", ".join(labels[:HELP_OPTIONS])
        if len(labels) > HELP_OPTIONS:
            shown += f" and {len(labels) - HELP_OPTIONS} more"
        parts = [f"One of: {shown}" if question.kind == Kind.SINGLE else f"Any of: {shown}"]
        if not labels:
            parts = ["No options yet"]
        if question.kind == Kind.MULTIPLE and question.max_choices:
            parts.append(f"at most {question.max_choices}")
        if question.open_options:
            parts.append("new options are added")
        return "; ".join(parts) + "."
    if question.kind == Kind.NUMBER:
        low, high = question.min_value, question.max_value
        if low is not None and high is not None:
            return f"A whole number from {low} to {high}."
        if low is not None:
            return f"A whole number of {low} or more."
        if high is not None:
            return f"A whole number of {high} or less."
        return "A whole number."
    if question.profile_field:
        return f"Text, up to {PROFILE_TEXT_MAX} characters."
    if question.kind == Kind.LONG_TEXT:
        return f"Text, up to {LONG_TEXT_MAX:,} characters; may run over several lines."
    return f"Text, up to {SHORT_TEXT_MAX} characters."
