"""The triggers that keep MenteeStanding (where each participant stands as a mentee).

One row per participant, with three facts as flags, each kept by the
triggers of the one table that holds it:

- `paired`: an active pairing names them as mentee (pairing_pairing);
- `pending`: a pending request of theirs waits (pairing_pendingrequest, itself
  kept by pairing.pending_triggers);
- `invited`: they have an invitation (invitations_invitation);

and a copy of the participant's program, role and names (programs_participant),
so a sub-tab of Unpaired Mentees is one walk of one index in name order.

Each trigger sets its own flag to a constant (`SET paired = true`), never a
value worked out from the other tables: two transactions changing different
facts of one mentee at once both land, because the second one's UPDATE waits
for the first and then applies its own column to the row the first left. A
flag is exact because each fact is unique per mentee in the database (one
active pairing, one pending request, one invitation). Rows are locked in
participant id order, so two statements touching many mentees never deadlock
on them; a standing row is the last lock a transaction takes on a mentee.

The counts of each program's standings by state (StandingCount) follow the
standings: each statement that changes them adds its change as a row and
folds in the rows no other transaction holds (SKIP LOCKED), so no counter row
is a point every pairing in a program queues on, and a reader sums a few rows.

PostgreSQL: statement-level triggers over transition tables. SQLite (the
demo): the same rules as row-level triggers, which `ensure_sqlite_triggers`
(pairing.apps) recreates after every migrate.
"""

from pairing_admin.lib.db import create_triggers, is_postgresql
from pairing_admin.lib.kept_counts import KeptCount

STANDING = "pairing_menteestanding"
COUNTS = "pairing_standingcount"
PEOPLE = "programs_participant"
PAIRINGS = "pairing_pairing"
WAITING = "pairing_pendingrequest"
INVITATIONS = "invitations_invitation"

POSTGRESQL = f"""
CREATE FUNCTION pairing_standing_mark(flag text, ids bigint[], value boolean)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(cardinality(ids), 0) = 0 THEN
    RETURN;
  END IF;
  EXECUTE format(
    'SELECT count(*) FROM (SELECT 1 FROM {STANDING} WHERE participant_id = ANY($1) '
    'AND %1$I <> $2 ORDER BY participant_id FOR NO KEY UPDATE) locked', flag
  ) USING ids, value;
  EXECUTE format(
    'UPDATE {STANDING} SET %1$I = $2 WHERE participant_id = ANY($1) AND %1$I <> $2', flag
  ) USING ids, value;
END $$;

CREATE FUNCTION pairing_standing_joined() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {STANDING} (participant_id, program_id, role, first_name, last_name,
                          paired, pending, invited)
  SELECT id, program_id, role, first_name, last_name, false, false, false FROM joined;
  RETURN NULL;
END $$;
CREATE TRIGGER pairing_standing_joined AFTER INSERT ON {PEOPLE}
  REFERENCING NEW TABLE AS joined FOR EACH STATEMENT EXECUTE FUNCTION pairing_standing_joined();

CREATE FUNCTION pairing_standing_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE {STANDING} s
  SET program_id = a.program_id, role = a.role, first_name = a.first_name,
      last_name = a.last_name
  FROM after_rows a
  WHERE s.participant_id = a.id
    AND (s.program_id, s.role, s.first_name, s.last_name)
        IS DISTINCT FROM (a.program_id, a.role, a.first_name, a.last_name);
  RETURN NULL;
END $$;
CREATE TRIGGER pairing_standing_renamed AFTER UPDATE ON {PEOPLE}
  REFERENCING NEW TABLE AS after_rows
  FOR EACH STATEMENT EXECUTE FUNCTION pairing_standing_renamed();

CREATE FUNCTION pairing_standing_left() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM {STANDING} s USING gone g WHERE s.participant_id = g.id;
  RETURN NULL;
END $$;
CREATE TRIGGER pairing_standing_left AFTER DELETE ON {PEOPLE}
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION pairing_standing_left();

"""

# (function, table) of the fact triggers: one trigger per operation, since a
# transition table can't be named on a trigger that fires for several.
FACTS = (
    ("pairing_standing_paired", PAIRINGS),
    ("pairing_standing_waiting", WAITING),
    ("pairing_standing_invited", INVITATIONS),
)
# function -> (its flag, which rows of its table hold the fact)
_FLAGS = {
    "pairing_standing_paired": ("paired", "status = 'active'"),
    "pairing_standing_waiting": ("pending", "true"),
    "pairing_standing_invited": ("invited", "true"),
}
_REFERENCING = {
    "INSERT": "NEW TABLE AS after_rows",
    "UPDATE": "OLD TABLE AS before_rows NEW TABLE AS after_rows",
    "DELETE": "OLD TABLE AS before_rows",
}


def _fact_function(function: str) -> str:
    """A flag's trigger function: off for mentees whose fact went, on for those who have it."""
    flag, holds = _FLAGS[function]
    gone = f"SELECT mentee_id FROM before_rows WHERE {holds}"
    held = f"SELECT mentee_id FROM after_rows WHERE {holds}"
    return f"""
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pairing_standing_mark('{flag}', ARRAY({gone}), false);
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM pairing_standing_mark('{flag}', ARRAY({gone} EXCEPT {held}), false);
    PERFORM pairing_standing_mark('{flag}', ARRAY({held}), true);
  ELSE
    PERFORM pairing_standing_mark('{flag}', ARRAY({held}), true);
  END IF;
  RETURN NULL;
END $$;
"""


# The counts of standings by program and state (StandingCount).
COUNTED = KeptCount("pairing_standing_counted", STANDING, COUNTS, "state")


def _fact_triggers() -> str:
    functions = "".join(_fact_function(function) for function, _ in FACTS)
    functions += COUNTED.postgresql()
    return functions + "".join(
        f"CREATE TRIGGER {function}_{op.lower()} AFTER {op} ON {table} "
        f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {function}();\n"
        for function, table in FACTS
        for op, referencing in _REFERENCING.items()
    )


def _drop_fact_triggers() -> str:
    return "".join(
        f"DROP TRIGGER {function}_{op.lower()} ON {table};\n"
        for function, table in FACTS
        for op in _REFERENCING
    )


POSTGRESQL_REVERSE = f"""
{COUNTED.postgresql_reverse()}DROP TRIGGER pairing_standing_joined ON {PEOPLE};
DROP TRIGGER pairing_standing_renamed ON {PEOPLE};
DROP TRIGGER pairing_standing_left ON {PEOPLE};
{_drop_fact_triggers()}
DROP FUNCTION pairing_standing_joined();
DROP FUNCTION pairing_standing_renamed();
DROP FUNCTION pairing_standing_left();
DROP FUNCTION pairing_standing_paired();
DROP FUNCTION pairing_standing_waiting();
DROP FUNCTION pairing_standing_invited();
DROP FUNCTION pairing_standing_mark(text, bigint[], boolean);
"""


def _sqlite_fact(name: str, table: str, flag: str, condition: str) -> dict:
    """The three row triggers that keep one flag from one table on SQLite."""
    new = f" AND NEW.{condition}" if condition else ""
    old = f" AND OLD.{condition}" if condition else ""
    return {
        f"{name}_insert": (
            table,
            "AFTER INSERT",
            f"""WHEN 1{new}
            BEGIN
              UPDATE {STANDING} SET {flag} = 1 WHERE participant_id = NEW.mentee_id;
            END""",
        ),
        f"{name}_update": (
            table,
            "AFTER UPDATE",
            f"""BEGIN
              UPDATE {STANDING} SET {flag} = 0
              WHERE participant_id = OLD.mentee_id{old};
              UPDATE {STANDING} SET {flag} = 1
              WHERE participant_id = NEW.mentee_id{new};
            END""",
        ),
        f"{name}_delete": (
            table,
            "AFTER DELETE",
            f"""WHEN 1{old}
            BEGIN
              UPDATE {STANDING} SET {flag} = 0 WHERE participant_id = OLD.mentee_id;
            END""",
        ),
    }


# name -> (table, when, body) of each SQLite trigger.
SQLITE = {
    "pairing_standing_joined": (
        PEOPLE,
        "AFTER INSERT",
        f"""BEGIN
          INSERT INTO {STANDING} (participant_id, program_id, role, first_name, last_name,
                                  paired, pending, invited)
          VALUES (NEW.id, NEW.program_id, NEW.role, NEW.first_name, NEW.last_name, 0, 0, 0);
        END""",
    ),
    "pairing_standing_renamed": (
        PEOPLE,
        "AFTER UPDATE OF program_id, role, first_name, last_name",
        f"""BEGIN
          UPDATE {STANDING}
          SET program_id = NEW.program_id, role = NEW.role, first_name = NEW.first_name,
              last_name = NEW.last_name
          WHERE participant_id = NEW.id;
        END""",
    ),
    "pairing_standing_left": (
        PEOPLE,
        "AFTER DELETE",
        f"""BEGIN
          DELETE FROM {STANDING} WHERE participant_id = OLD.id;
        END""",
    ),
    **{name: (STANDING, *trigger) for name, trigger in COUNTED.sqlite().items()},
    **_sqlite_fact("pairing_standing_paired", PAIRINGS, "paired", "status = 'active'"),
    **_sqlite_fact("pairing_standing_waiting", WAITING, "pending", ""),
    **_sqlite_fact("pairing_standing_invited", INVITATIONS, "invited", ""),
}


def _create_sqlite_triggers(cursor) -> None:
    for name, (table, when, body) in SQLITE.items():
        cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {when} ON {table} {body}")


def drop_sqlite_triggers(connection) -> None:
    """Drop the SQLite triggers before a migrate: SQLite rebuilds a table to alter it,
    and refuses while a trigger on another table names it."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for name in SQLITE:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def ensure_sqlite_triggers(connection) -> None:
    """Create the SQLite triggers again after a migrate, and fill the standings and
    their counts afresh (rows may have changed meanwhile); a no-op elsewhere."""
    if connection.vendor != "sqlite":
        return
    if STANDING not in connection.introspection.table_names():
        return  # not migrated that far (or migrated back)
    with connection.cursor() as cursor:
        _create_sqlite_triggers(cursor)
        cursor.execute(f"DELETE FROM {STANDING}")
        cursor.execute(f"DELETE FROM {COUNTS}")
        cursor.execute(FILL)


FILL = f"""
INSERT INTO {STANDING} (participant_id, program_id, role, first_name, last_name,
                        paired, pending, invited)
SELECT p.id, p.program_id, p.role, p.first_name, p.last_name,
  EXISTS (SELECT 1 FROM {PAIRINGS} x WHERE x.mentee_id = p.id AND x.status = 'active'),
  EXISTS (SELECT 1 FROM {WAITING} w WHERE w.mentee_id = p.id),
  EXISTS (SELECT 1 FROM {INVITATIONS} i WHERE i.mentee_id = p.id)
FROM {PEOPLE} p
"""


def install_triggers(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        create_triggers(
            cursor, postgresql=POSTGRESQL + _fact_triggers(), create_sqlite=_create_sqlite_triggers
        )
        cursor.execute(FILL)


def remove_triggers(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute(POSTGRESQL_REVERSE)
        else:
            for name in SQLITE:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(f"DELETE FROM {STANDING}")
        cursor.execute(f"DELETE FROM {COUNTS}")
