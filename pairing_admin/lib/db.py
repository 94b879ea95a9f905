from collections.abc import Callable

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
