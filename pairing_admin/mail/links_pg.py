"""Personal links on PostgreSQL: many links in one INSERT from arrays (links.links_bulk)."""

from collections.abc import Sequence
from datetime import datetime

from django.db import connection

from pairing_admin.mail.models import AccessLink


def links_insert(
    now: datetime,
    digests: Sequence[str],
    rows: Sequence[tuple[str, int, int, int | None, datetime]],
) -> None:
    """Insert one link per (purpose, program, participant, object, expires at) row."""
    table = AccessLink._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table}
                    (token_hash, purpose, program_id, participant_id, object_id,
                     created_at, expires_at, used_at)
                SELECT t.token_hash, t.purpose, t.program_id, t.participant_id,
                       t.object_id, %s, t.expires_at, NULL
                FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[],
                            %s::bigint[], %s::timestamptz[])
                     AS t(token_hash, purpose, program_id, participant_id, object_id,
                          expires_at)""",  # noqa: S608 - table name only
            [
                now,
                list(digests),
                # Plain strings: psycopg would write an enum member by its name.
                [str(row[0]) for row in rows],
                [row[1] for row in rows],
                [row[2] for row in rows],
                [row[3] for row in rows],
                [row[4] for row in rows],
            ],
        )
