"""PostgreSQL's way to write an import: COPY into temporary tables, then a few
set-based statements from them.

The people: one INSERT ... ON CONFLICT from their staging table. Their
answers: the new options of open questions inserted once (ON CONFLICT DO
NOTHING on the option's unique label), the old answers to the file's
questions deleted, the new ones inserted joined to the people and the option
ids. No statement per person, whatever the number of rows.

The portable way (batched bulk_create upserts and
programs.questions.answers_replace_many) is in services.py, which chooses
between them with pairing_admin.lib.db.is_postgresql().
"""

from collections.abc import Sequence

from django.db import connection
from django.utils import timezone

from programs.imports.parse import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from programs.models import Answer, Participant, Program, Question, QuestionOption
from programs.questions import bump_questions_version

# Capacity last: it is worked out per row (services._capacities), the rest read from the row.
_COPY_FIELDS = (*REQUIRED_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c != "capacity"), "capacity")
_COPY_TYPES = {"capacity": "smallint"}
_STAGING = "participant_import_staging"
_ANSWERS = "answer_import_staging"
# Where programs.questions puts the options people add: after the program's own,
# in the order they came (ties are broken by id).
_NEW_OPTION_POSITION = 1_000_000


def participants_copy_upsert(
    *,
    program: Program,
    rows: list[dict],
    capacities: list[int],
    update_fields: list[str],
    questions: Sequence[Question] = (),
) -> None:
    """Insert or update `rows` by (program, email), overwriting only `update_fields`;
    then replace everyone's answers to `questions` (the file's question columns) with
    the rows' values under their keys."""
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
                    [values.get(f, "") for f in _COPY_FIELDS[:-1]] + [capacity]  # _COPY_FIELDS[-1]
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
        if questions:
            _answers_replace(cursor, program=program, rows=rows, questions=questions)
        cursor.execute(f"DROP TABLE pg_temp.{_STAGING}")


def _answer_lines(rows: list[dict], questions: Sequence[Question]):
    """(email, question id, option label, number, text): a line per option picked, per
    number, per text, in the file's order."""
    for values in rows:
        email = values["email"]
        for question in questions:
            value = values.get(question.key)
            if value is None or value == "" or value == []:
                continue
            if question.is_choice:
                for label in value:
                    yield email, question.pk, label, None, None
            elif question.kind == Question.Kind.NUMBER:
                yield email, question.pk, None, value, None
            else:
                yield email, question.pk, None, None, value


def _answers_replace(cursor, *, program: Program, rows: list[dict], questions) -> None:
    """Everyone's answers to `questions` replaced by the rows' (the people are in the
    staging table and in the program's by now)."""
    qn = connection.ops.quote_name
    people, answers, options = (qn(m._meta.db_table) for m in (Participant, Answer, QuestionOption))
    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{_ANSWERS}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {_ANSWERS} (seq integer, email text, question_id bigint, "
        "label text, number integer, text text) ON COMMIT DROP"
    )
    with cursor.copy(
        f"COPY {_ANSWERS} (seq, email, question_id, label, number, text) FROM STDIN"
    ) as copy:
        for seq, line in enumerate(_answer_lines(rows, questions)):
            copy.write_row((seq, *line))
    # Identifiers come from the models' metadata, values are parameters.
    open_ids = [q.pk for q in questions if q.is_choice and q.open_options]
    if open_ids:
        # An option written twice in different case is created once, spelt as it
        # came first; one that exists already (in any case) is left as it is.
        cursor.execute(
            f"INSERT INTO {options} (question_id, label, position) "  # noqa: S608
            "SELECT question_id, label, %s FROM ("
            "  SELECT DISTINCT ON (question_id, LOWER(label)) question_id, label, seq"
            f"  FROM {_ANSWERS} WHERE label IS NOT NULL AND question_id = ANY(%s)"
            "  ORDER BY question_id, LOWER(label), seq"
            ") AS first_spelling ORDER BY seq "
            "ON CONFLICT DO NOTHING",
            [_NEW_OPTION_POSITION, open_ids],
        )
        if cursor.rowcount:
            bump_questions_version(program)
    # "+ 0" keeps the planner off the question index: with statistics from before
    # the last import it ANDed that index (every answer to the question) with the
    # person's, once per person, and a 3,000-row re-import took 3 s instead of 0.04.
    cursor.execute(
        f"DELETE FROM {answers} AS a USING {people} AS p, {_STAGING} AS s "  # noqa: S608
        "WHERE a.participant_id = p.id AND p.program_id = %s AND p.email = s.email "
        "AND a.question_id + 0 = ANY(%s)",
        [program.pk, [q.pk for q in questions]],
    )
    cursor.execute(
        f"INSERT INTO {answers} "  # noqa: S608
        "(program_id, participant_id, question_id, option_id, number, text) "
        "SELECT %s, p.id, s.question_id, o.id, s.number, s.text "
        f"FROM {_ANSWERS} AS s JOIN {people} AS p ON p.program_id = %s AND p.email = s.email "
        f"LEFT JOIN {options} AS o ON s.label IS NOT NULL "
        "AND o.question_id = s.question_id AND LOWER(o.label) = LOWER(s.label) "
        "WHERE s.label IS NULL OR o.id IS NOT NULL ORDER BY s.seq",
        [program.pk, program.pk],
    )
    cursor.execute(f"DROP TABLE pg_temp.{_ANSWERS}")
