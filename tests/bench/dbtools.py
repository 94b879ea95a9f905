"""What the benchmarks share: vacuuming the tables they load.

Autovacuum is off on some of our machines. A benchmark vacuums before its
load (an earlier run's teardown left dead rows) and vacuums and analyzes
after it (what autovacuum would have done to settled data in production:
statistics for the planner, hint bits and the visibility map).
"""


def vacuum(cursor, tables, *, analyze: bool = False) -> None:
    verb = "VACUUM ANALYZE" if analyze else "VACUUM"
    for table in tables:
        cursor.execute(f"{verb} {table}")
