"""PostgreSQL's way to upsert an import's rows: COPY into a temporary table,
then one INSERT ... ON CONFLICT from it.

The portable way (batched bulk_create upserts) is in services.py, which
chooses between them with pairing_admin.lib.db.is_postgresql().
"""

import json

from django.db import connection
from django.utils import timezone

from programs.imports.parse import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, TAG_COLUMNS
from programs.models import Participant, Program

# Capacity last: it is worked out per row (services._capacities), the rest read from the row.
_COPY_FIELDS = (*REQUIRED_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c != "capacity"), "capacity")
_COPY_TYPES = {"skills": "jsonb", "interests": "jsonb", "goals": "jsonb", "capacity": "smallint"}
_STAGING = "participant_import_staging"


def participants_copy_upsert(
    *, program: Program, rows: list[dict], capacities: list[int], update_fields: list[str]
) -> None:
    """Insert or update `rows` by (program, email), overwriting only `update_fields`."""
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
