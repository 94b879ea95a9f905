"""Counts of a table's rows per program and key that the database keeps as they change.

A counts table (id, program_id, <key>, n) holds rows to add up: the count of
the program's rows with a key is the sum of n. Each statement that inserts,
updates or deletes rows of the source table adds its change as one row per
program and key, and folds in (deletes and sums) the rows no other
transaction holds (`FOR UPDATE SKIP LOCKED`). So a program keeps about one
row per key, a reader sums a few rows, and no writer waits on a counter row
that every change of the program would otherwise queue on.

PostgreSQL: statement-level triggers over transition tables. SQLite (the
demo, one writer at a time): row triggers add to one row per program and key,
dropped before a migrate and created again (and counted afresh) after it.
"""

from dataclasses import dataclass

from pairing_admin.lib.db import create_triggers

_REFERENCING = {
    "INSERT": "NEW TABLE AS after_rows",
    "UPDATE": "OLD TABLE AS before_rows NEW TABLE AS after_rows",
    "DELETE": "OLD TABLE AS before_rows",
}


@dataclass(frozen=True)
class KeptCount:
    name: str  # the prefix of the triggers' and functions' names
    source: str  # the table whose rows are counted
    counts: str  # the counts table
    key: str  # the source's column counted by, within the program

    def _changes(self, op: str) -> str:
        added = f"SELECT program_id, {self.key}, 1 AS n FROM after_rows"
        taken = f"SELECT program_id, {self.key}, -1 AS n FROM before_rows"
        return {"INSERT": added, "UPDATE": f"{added} UNION ALL {taken}", "DELETE": taken}[op]

    def _function(self, op: str) -> str:
        name, key, counts = f"{self.name}_{op.lower()}", self.key, self.counts
        return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH delta AS (
    SELECT program_id, {key}, sum(n)::integer AS n FROM ({self._changes(op)}) changes
    GROUP BY program_id, {key} HAVING sum(n) <> 0
  ), folded AS (
    DELETE FROM {counts} c WHERE c.id IN (
      SELECT k.id FROM {counts} k JOIN delta d USING (program_id, {key})
      FOR UPDATE OF k SKIP LOCKED
    ) RETURNING c.program_id, c.{key}, c.n
  )
  INSERT INTO {counts} (program_id, {key}, n)
  SELECT program_id, {key}, sum(n) FROM (SELECT * FROM delta UNION ALL SELECT * FROM folded) t
  GROUP BY program_id, {key} HAVING sum(n) <> 0;
  RETURN NULL;
END $$;
CREATE TRIGGER {name} AFTER {op} ON {self.source} REFERENCING {_REFERENCING[op]}
  FOR EACH STATEMENT EXECUTE FUNCTION {name}();
"""

    def postgresql(self) -> str:
        return "".join(self._function(op) for op in _REFERENCING)

    def postgresql_reverse(self) -> str:
        return "".join(
            f"DROP TRIGGER {self.name}_{op} ON {self.source};\nDROP FUNCTION {self.name}_{op}();\n"
            for op in ("insert", "update", "delete")
        )

    def fill(self) -> str:
        """Count the rows there are (into an empty counts table)."""
        return (
            f"INSERT INTO {self.counts} (program_id, {self.key}, n) "
            f"SELECT program_id, {self.key}, count(*) FROM {self.source} "
            f"GROUP BY program_id, {self.key}"
        )

    def _sqlite_add(self, row: str, n: int) -> str:
        key, counts = self.key, self.counts
        same = f"program_id = {row}.program_id AND {key} = {row}.{key}"
        return f"""
          UPDATE {counts} SET n = n + ({n}) WHERE {same};
          INSERT INTO {counts} (program_id, {key}, n) SELECT {row}.program_id, {row}.{key}, {n}
          WHERE NOT EXISTS (SELECT 1 FROM {counts} WHERE {same});"""

    def sqlite(self) -> dict[str, tuple[str, str]]:
        """name -> (when, body) of each SQLite trigger on the source table."""
        moved = f"OLD.{self.key} IS NOT NEW.{self.key} OR OLD.program_id IS NOT NEW.program_id"
        return {
            f"{self.name}_insert": ("AFTER INSERT", f"BEGIN{self._sqlite_add('NEW', 1)}\nEND"),
            f"{self.name}_update": (
                "AFTER UPDATE",
                f"WHEN {moved}\nBEGIN{self._sqlite_add('OLD', -1)}{self._sqlite_add('NEW', 1)}\nEND",
            ),
            f"{self.name}_delete": ("AFTER DELETE", f"BEGIN{self._sqlite_add('OLD', -1)}\nEND"),
        }

    def create_sqlite(self, cursor) -> None:
        for name, (when, body) in self.sqlite().items():
            cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {when} ON {self.source} {body}")

    def drop_sqlite(self, cursor) -> None:
        for name in self.sqlite():
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")

    def install(self, apps, schema_editor) -> None:
        """A migration's RunPython: the triggers, then the counts of the rows there are."""
        with schema_editor.connection.cursor() as cursor:
            create_triggers(cursor, postgresql=self.postgresql(), create_sqlite=self.create_sqlite)
            cursor.execute(f"DELETE FROM {self.counts}")
            cursor.execute(self.fill())

    def remove(self, apps, schema_editor) -> None:
        """The reverse of install."""
        with schema_editor.connection.cursor() as cursor:
            if schema_editor.connection.vendor == "postgresql":
                cursor.execute(self.postgresql_reverse())
            else:
                self.drop_sqlite(cursor)
            cursor.execute(f"DELETE FROM {self.counts}")

    def before_migrate_sqlite(self, connection) -> None:
        """Drop the SQLite triggers before a migrate (SQLite refuses to rebuild a table
        that a trigger names); ensure_sqlite puts them back."""
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                self.drop_sqlite(cursor)

    def ensure_sqlite(self, connection) -> None:
        """Create the SQLite triggers again after a migrate and count afresh (rows may
        have changed meanwhile); a no-op elsewhere."""
        if connection.vendor != "sqlite":
            return
        if self.counts not in connection.introspection.table_names():
            return  # not migrated that far (or migrated back)
        with connection.cursor() as cursor:
            self.create_sqlite(cursor)
            cursor.execute(f"DELETE FROM {self.counts}")
            cursor.execute(self.fill())
