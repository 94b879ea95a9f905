"""The program's questions as export columns: one per question each side shown is asked
("Mentee: Goals", "Mentor: Skills"), in the questions' order, after the export's own columns.

A cell holds a choice's option labels joined by "; " in the order the person picked them
(their answer rows' order, as programs.questions reads them), a number, or a text;
Department and Location come from the person's record. Two implementations the tests hold
to the same bytes: `Side.cells` here (the csv-module path, which reads the answers of a
block of rows in one query: `answered`) and export_pg's SQL (the program's answers grouped
by person once, joined to the rows of the COPY statement). Every cell then passes the
exports' formula guard.
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice

from pairing.csv_cells import CHUNK
from programs.models import Participant, Program, Question
from programs.questions import Answers, answers_of, questions_of, value_of

# Between the labels of a multiple choice (a label may hold a comma, never a semicolon:
# programs.questions splits what people send at both).
JOIN = "; "


@dataclass(frozen=True)
class Side:
    """The answer columns of one side of an export (the mentee's or the mentor's)."""

    role: str
    questions: tuple[Question, ...]
    # {question id: {option id: label}} of the choice questions, read once.
    labels: Mapping[int, Mapping[int, str]] = field(default_factory=dict)

    @property
    def header(self) -> list[str]:
        side = Participant.Role(self.role).label
        return [f"{side}: {q.label}" for q in self.questions]

    @property
    def reads_answers(self) -> bool:
        """Whether a cell needs Answer rows (not only the person's record)."""
        return any(not q.profile_field for q in self.questions)

    def cells(self, record: Mapping[str, object], answers: Answers) -> list[str]:
        """The row's cells for one person: `record` holds their department and location."""
        return [
            cell(value_of(q, record, answers), self.labels.get(q.pk, {})) for q in self.questions
        ]


def side(program: Program, role: str, *, record_fields: bool = True) -> Side:
    """The columns for the people of `role`: every question they are asked; without
    Department and Location when the export lists those already (record_fields=False)."""
    questions = questions_of(program, role=role)
    if not record_fields:
        questions = [q for q in questions if not q.profile_field]
    labels = {q.pk: {o.pk: o.label for o in q.option_list} for q in questions if q.is_choice}
    return Side(role, tuple(questions), labels)


def cell(value, labels: Mapping[int, str]) -> str:
    """One answer as its cell (before the formula guard): "" when blank; a choice's
    options by `labels`."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return JOIN.join(labels[o] for o in value if o in labels)
    return str(value)


def answered(
    rows: Iterable[Sequence], id_at: Sequence[int], *sides: Side
) -> Iterator[tuple[Sequence, Mapping[int, Answers]]]:
    """Each row with the answers of the people it names (their ids at `id_at`), read in
    one query per block of CHUNK rows: memory stays flat and the queries do not grow
    with the rows (no query when no side reads answers)."""
    reads = any(s.reads_answers for s in sides)
    found: Mapping[int, Answers] = {}
    rows = iter(rows)
    while block := list(islice(rows, CHUNK)):
        if reads:
            found = answers_of({row[i] for row in block for i in id_at})
        for row in block:
            yield row, found
