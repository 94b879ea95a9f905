from collections.abc import Callable, Iterable

from django.core.exceptions import ImproperlyConfigured
from django.db import connection


def is_postgresql() -> bool:
    """Whether the default database is PostgreSQL (for the paths that use its SQL)."""
    return connection.vendor == "postgresql"


def create_triggers(cursor, *, postgresql: str, create_sqlite: Callable) -> None:
    """Create a set of triggers the database keeps a table with: PostgreSQL's SQL, or
    SQLite's through `create_sqlite(cursor)` (the demo); any other database is refused."""
    vendor = cursor.db.vendor
    if vendor == "postgresql":
        cursor.execute(postgresql)
    elif vendor == "sqlite":
        create_sqlite(cursor)
    else:
        raise ImproperlyConfigured(f"The pairing admin runs on PostgreSQL or SQLite, not {vendor}.")


def analyze(tables: Iterable[str]) -> None:
    """Fresh planner statistics for tables a bulk write just filled (PostgreSQL only).

    Autovacuum analyzes a table about a minute after it grows; until then the
    planner may think a table of 50,000 rows holds one and choose a nested loop
    that takes minutes (the first Invite all after a large import did). Run
    after the bulk write has committed; ANALYZE samples, so it costs a fraction
    of a second whatever the size.
    """
    if not is_postgresql():
        return
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
