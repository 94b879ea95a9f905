"""The triggers that keep a pairing's own figures on its row: its held sessions (count and
last date) and its two people's names.

Why: the Active Pairings tab sorts and filters 20,000 pairings by these, and
the Health tab counts by them. Read from the pairing row, every sort walks an
index of one table and stops at the 50 rows shown; joined and grouped per
request, each page sorted every pairing first.

What "held" means here: a session whose status is "logged". A session logged
for a later date is "scheduled" (upcoming) until its day comes; a beat sweep
every few minutes then marks it logged (`pairing.services.sessions_hold_due`),
so the kept figures are those of sessions "not cancelled and dated today or
earlier", as the health rules count them, from the first sweep of that day
(pages only read: GET never writes).

Concurrency: every recount locks its pairing rows first, in id order, and
counts in a later statement, which sees whatever committed before the lock
was granted; so two transactions changing one pairing's sessions leave the
right figures whatever their order. Lock order: the pairing row, then its
sessions (docs/concurrency.md).

PostgreSQL: statement-level triggers over transition tables (one recount per
statement, whatever the number of rows). SQLite (the demo): the same rules as
row-level triggers, which `ensure_sqlite_triggers` (pairing.apps) recreates
after every migrate.
"""

from pairing_admin.lib.db import create_triggers, is_postgresql

PAIRINGS = "pairing_pairing"
SESSIONS = "pairing_mentoringsession"
PEOPLE = "programs_participant"

# The figures of pairing `{id}` (an SQL expression naming its id), in both dialects.
_HELD = f"SELECT COUNT(*) FROM {SESSIONS} s WHERE s.pairing_id = {{id}} AND s.status = 'logged'"
_LAST = f"SELECT MAX(s.date) FROM {SESSIONS} s WHERE s.pairing_id = {{id}} AND s.status = 'logged'"
_NAME = f"SELECT x.{{field}} FROM {PEOPLE} x WHERE x.id = {{id}}"


def _names_set(table: str) -> str:
    """SET clause copying the people's names onto the pairing row `table`."""
    return ", ".join(
        f"{side}_{field} = ({_NAME.format(field=field, id=f'{table}.{side}_id')})"
        for side in ("mentee", "mentor")
        for field in ("last_name", "first_name")
    )


POSTGRESQL = f"""
CREATE FUNCTION pairing_recount(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM {PAIRINGS} WHERE id = ANY(ids) ORDER BY id FOR NO KEY UPDATE;
  UPDATE {PAIRINGS} p SET sessions_done = f.n, last_session = f.last
  FROM (
    SELECT i.id, ({_HELD.format(id="i.id")}) AS n, ({_LAST.format(id="i.id")}) AS last
    FROM unnest(ids) AS i(id)
  ) f
  WHERE p.id = f.id AND (p.sessions_done, p.last_session) IS DISTINCT FROM (f.n, f.last);
END $$;

CREATE FUNCTION pairing_sessions_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pairing_recount(ARRAY(SELECT DISTINCT pairing_id FROM added));
  RETURN NULL;
END $$;
CREATE TRIGGER pairing_sessions_added AFTER INSERT ON {SESSIONS}
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION pairing_sessions_added();

CREATE FUNCTION pairing_sessions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pairing_recount(ARRAY(
    SELECT a.pairing_id FROM after_rows a JOIN before_rows b ON b.id = a.id
    WHERE (a.pairing_id, a.status, a.date) IS DISTINCT FROM (b.pairing_id, b.status, b.date)
    UNION
    SELECT b.pairing_id FROM after_rows a JOIN before_rows b ON b.id = a.id
    WHERE a.pairing_id <> b.pairing_id
  ));
  RETURN NULL;
END $$;
CREATE TRIGGER pairing_sessions_changed AFTER UPDATE ON {SESSIONS}
  REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows
  FOR EACH STATEMENT EXECUTE FUNCTION pairing_sessions_changed();

CREATE FUNCTION pairing_sessions_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pairing_recount(ARRAY(SELECT DISTINCT pairing_id FROM gone));
  RETURN NULL;
END $$;
CREATE TRIGGER pairing_sessions_removed AFTER DELETE ON {SESSIONS}
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION pairing_sessions_removed();

CREATE FUNCTION pairing_names_copied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT last_name, first_name INTO NEW.mentee_last_name, NEW.mentee_first_name
  FROM {PEOPLE} WHERE id = NEW.mentee_id;
  SELECT last_name, first_name INTO NEW.mentor_last_name, NEW.mentor_first_name
  FROM {PEOPLE} WHERE id = NEW.mentor_id;
  RETURN NEW;
END $$;
CREATE TRIGGER pairing_names_copied BEFORE INSERT OR UPDATE OF mentee_id, mentor_id
  ON {PAIRINGS} FOR EACH ROW EXECUTE FUNCTION pairing_names_copied();

CREATE FUNCTION pairing_names_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE {PAIRINGS} SET mentee_last_name = NEW.last_name, mentee_first_name = NEW.first_name
  WHERE mentee_id = NEW.id;
  UPDATE {PAIRINGS} SET mentor_last_name = NEW.last_name, mentor_first_name = NEW.first_name
  WHERE mentor_id = NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER pairing_names_renamed AFTER UPDATE OF first_name, last_name ON {PEOPLE}
  FOR EACH ROW WHEN ((OLD.first_name, OLD.last_name) IS DISTINCT FROM
                     (NEW.first_name, NEW.last_name))
  EXECUTE FUNCTION pairing_names_renamed();
"""

POSTGRESQL_REVERSE = f"""
DROP TRIGGER pairing_sessions_added ON {SESSIONS};
DROP TRIGGER pairing_sessions_changed ON {SESSIONS};
DROP TRIGGER pairing_sessions_removed ON {SESSIONS};
DROP TRIGGER pairing_names_copied ON {PAIRINGS};
DROP TRIGGER pairing_names_renamed ON {PEOPLE};
DROP FUNCTION pairing_sessions_added();
DROP FUNCTION pairing_sessions_changed();
DROP FUNCTION pairing_sessions_removed();
DROP FUNCTION pairing_names_copied();
DROP FUNCTION pairing_names_renamed();
DROP FUNCTION pairing_recount(bigint[]);
"""


def _sqlite_recount(id_expr: str) -> str:
    return (
        f"UPDATE {PAIRINGS} SET sessions_done = ({_HELD.format(id=PAIRINGS + '.id')}), "
        f"last_session = ({_LAST.format(id=PAIRINGS + '.id')}) WHERE id IN ({id_expr});"
    )


# table -> name -> (when, body) of each SQLite trigger.
SQLITE = {
    SESSIONS: {
        "pairing_session_added": ("AFTER INSERT", f"BEGIN {_sqlite_recount('NEW.pairing_id')} END"),
        "pairing_session_changed": (
            "AFTER UPDATE OF pairing_id, status, date",
            f"BEGIN {_sqlite_recount('OLD.pairing_id, NEW.pairing_id')} END",
        ),
        "pairing_session_removed": (
            "AFTER DELETE",
            f"BEGIN {_sqlite_recount('OLD.pairing_id')} END",
        ),
    },
    PAIRINGS: {
        "pairing_names_copied": (
            "AFTER INSERT",
            f"BEGIN UPDATE {PAIRINGS} SET {_names_set(PAIRINGS)} WHERE id = NEW.id; END",
        ),
        "pairing_names_moved": (
            "AFTER UPDATE OF mentee_id, mentor_id",
            f"BEGIN UPDATE {PAIRINGS} SET {_names_set(PAIRINGS)} WHERE id = NEW.id; END",
        ),
    },
    PEOPLE: {
        "pairing_names_renamed": (
            "AFTER UPDATE OF first_name, last_name",
            f"""WHEN OLD.first_name IS NOT NEW.first_name OR OLD.last_name IS NOT NEW.last_name
            BEGIN
              UPDATE {PAIRINGS} SET mentee_last_name = NEW.last_name,
                  mentee_first_name = NEW.first_name WHERE mentee_id = NEW.id;
              UPDATE {PAIRINGS} SET mentor_last_name = NEW.last_name,
                  mentor_first_name = NEW.first_name WHERE mentor_id = NEW.id;
            END""",
        ),
    },
}


def _create_sqlite_triggers(cursor) -> None:
    for table, triggers in SQLITE.items():
        for name, (when, body) in triggers.items():
            cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {when} ON {table} {body}")


def drop_sqlite_triggers(connection) -> None:
    """Drop the SQLite triggers before a migrate: SQLite rebuilds a table to alter it,
    and refuses while a trigger on another table names it (`ensure_sqlite_triggers`
    puts them back after)."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for triggers in SQLITE.values():
            for name in triggers:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def ensure_sqlite_triggers(connection) -> None:
    """Create the SQLite triggers again after a migrate, and refill (a no-op elsewhere)."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        columns = [c.name for c in connection.introspection.get_table_description(cursor, PAIRINGS)]
        if "sessions_done" not in columns:
            return  # not migrated that far (or migrated back)
        _create_sqlite_triggers(cursor)
        cursor.execute(FILL)  # whatever a migration wrote while they were off


FILL = f"""
UPDATE {PAIRINGS} SET sessions_done = ({_HELD.format(id=PAIRINGS + ".id")}),
    last_session = ({_LAST.format(id=PAIRINGS + ".id")}), {_names_set(PAIRINGS)}
"""


def install_triggers(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        create_triggers(cursor, postgresql=POSTGRESQL, create_sqlite=_create_sqlite_triggers)
        cursor.execute(FILL)
        if is_postgresql():
            cursor.execute(f"ANALYZE {PAIRINGS}")  # plan with the new columns from the start


def remove_triggers(apps, schema_editor):
    connection = schema_editor.connection
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute(POSTGRESQL_REVERSE)
    else:
        drop_sqlite_triggers(connection)
