"""The preference form's mentor pool on PostgreSQL, in one statement: a digest of every
mentor-with-room's id and row version says whether the pool held in this process is still
current, and the rows travel only when it is not, as one JSON document decoded once.
pairing.preference_selectors chooses this path or its portable one (the ORM, every time).
"""

from collections.abc import Sequence

from django.db import connection
from django.db.models import Count, F, QuerySet
from django.db.models.expressions import RawSQL

from pairing.models import PendingRequest
from pairing.request_selectors import mentors_with_room_for_some
from programs.models import Answer, Participant, Program


def _arrays_sql(per_mentee: Sequence[QuerySet]) -> tuple[str, list]:
    """One ARRAY(...) column of mentor ids per query of `per_mentee`."""
    columns, params = [], []
    for qs in per_mentee:
        sql, more = qs.order_by().values("mentor_id").query.sql_with_params()
        columns.append(f"ARRAY({sql})")
        params.extend(more)
    return ", ".join(columns), params


def _waiting_sql(program: Program) -> tuple[str, list]:
    """Two arrays: the mentors with requests waiting for them, and how many each."""
    sql, params = (
        PendingRequest.objects.filter(program=program)
        .order_by()
        .values("mentor_id")
        .annotate(n=Count("*"))
        .values_list("mentor_id", "n")
        .query.sql_with_params()
    )
    arrays = "SELECT array_agg(g.mentor_id) AS ids, array_agg(g.n) AS counts"
    return f"({arrays} FROM ({sql}) g)", params


def fetch(
    program: Program, known: str, fields: Sequence[str], per_mentee: Sequence[QuerySet] = ()
) -> tuple[str, str | None, list[list[int]], dict[int, int]]:
    """(version, rows, per-mentee arrays, waiting) of the program's mentors with room, in one
    statement.

    The version digests every such mentor's id, row version (PostgreSQL's
    xmin and ctid: any UPDATE writes a new row version, even a bulk
    `.update()` that leaves updated_at alone; within one transaction the new
    version gets a new ctid), its free seats (capacity minus active
    pairings: a pairing changes them without touching the mentor's row) and
    whether its room is open to all (staging or discarding an auto-pair run
    changes that without touching the row). rows, the mentors as one JSON
    text of [*fields, open_to_all, free, answers] arrays in id order (answers: [question,
    option, number, text] of each answer row, or null), is only built and
    sent when the version differs from `known`. Then one array of mentor ids
    per query of `per_mentee`, and {mentor id: requests waiting for them}, in
    the same statement.
    """
    table = connection.ops.quote_name(Participant._meta.db_table)
    answers = connection.ops.quote_name(Answer._meta.db_table)
    qs = (
        mentors_with_room_for_some(program)
        .order_by()
        .annotate(
            row_version=RawSQL(f"{table}.xmin::text || {table}.ctid::text", []),  # noqa: S611
            free=F("capacity") - F("active"),
        )
        .values_list("id", "row_version", "open_to_all", "free")
    )
    sql, params = qs.query.sql_with_params()
    columns = ", ".join(f"p.{connection.ops.quote_name(name)}" for name in fields)
    extra, extra_params = _arrays_sql(per_mentee) if per_mentee else ("", [])
    waiting, waiting_params = _waiting_sql(program)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH m(id, row_version, open_to_all, free) AS MATERIALIZED ({sql}),
                version AS (
                    SELECT md5(coalesce(string_agg(
                        m.id || ':' || m.row_version || ':' || m.free
                        || CASE WHEN m.open_to_all THEN '' ELSE 'h' END,
                        ',' ORDER BY m.id
                    ), '')) AS digest
                    FROM m
                )
                SELECT version.digest, CASE WHEN version.digest = %s THEN NULL ELSE (
                    SELECT coalesce(
                        json_agg(json_build_array(
                            {columns}, m.open_to_all, m.free, (
                                SELECT json_agg(json_build_array(
                                    a.question_id, a.option_id, a.number, a.text
                                ) ORDER BY a.id)
                                FROM {answers} a WHERE a.participant_id = p.id
                            )
                        ) ORDER BY p.id),
                        '[]'
                    )::text
                    FROM {table} p JOIN m ON m.id = p.id
                ) END, w.ids, w.counts{", " + extra if extra else ""}
                FROM version, {waiting} w""",  # noqa: S608 - table and column names only
            [*params, known, *extra_params, *waiting_params],
        )
        row = cursor.fetchone()
    return row[0], row[1], list(row[4:]), dict(zip(row[2] or [], row[3] or [], strict=True))
