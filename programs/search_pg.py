"""PostgreSQL's trigram index for the search boxes over participants.

A search word may sit anywhere in a name, an email or a department
(`icontains`, which Django writes as `UPPER(col::text) LIKE UPPER('%word%')`),
so no B-tree helps and each search read every participant of the program. A
GIN index of trigrams (pg_trgm) on those same expressions finds the rows
holding a word of three letters or more without reading the others; a
condition on any one column uses it, so the OR of a word over the columns
is a BitmapOr. SQLite (the demo) has neither and reads its few rows.

pg_trgm ships with PostgreSQL and is a trusted extension: the database's
owner may create it.
"""

from pairing_admin.lib.db import is_postgresql

# The columns the admin lists search (programs.selectors.PARTICIPANT_SEARCH_FIELDS).
COLUMNS = ("first_name", "last_name", "email", "department", "location", "title")
INDEX = "participant_search_trgm"

CREATE = (
    f"CREATE INDEX {INDEX} ON programs_participant USING gin ("
    + ", ".join(f"(UPPER({c}::text)) gin_trgm_ops" for c in COLUMNS)
    + ")"
)


def install(apps, schema_editor) -> None:
    if not is_postgresql():
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cursor.execute(CREATE)


def remove(apps, schema_editor) -> None:
    if not is_postgresql():
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {INDEX}")
