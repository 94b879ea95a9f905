from django.db import connection


def is_postgresql() -> bool:
    """Whether the default database is PostgreSQL (for the paths that use its SQL)."""
    return connection.vendor == "postgresql"
