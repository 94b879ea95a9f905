"""Staging a run's rows on PostgreSQL through COPY ... FROM STDIN (runs._insert is the
portable path): a 50,000-row stage is otherwise dominated by building INSERT statements."""

from collections.abc import Iterable, Sequence

from django.db import connection


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """Send the rows (a generator is consumed as they are sent) into `table`'s `columns`."""
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
