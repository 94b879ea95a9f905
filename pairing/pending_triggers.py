"""The triggers that keep PendingRequest (one row per pending request).

PostgreSQL: statement-level triggers over transition tables. SQLite (the demo):
the same rules as row-level triggers, which `ensure_sqlite_triggers`
(pairing.apps) recreates after every migrate. Why they are built this way:
docs/design.md ("Rules the database holds", the pending-request table).
"""

from pairing_admin.lib.db import create_triggers, is_postgresql

TABLE = "pairing_mentorrequest"
WAITING = "pairing_pendingrequest"

POSTGRESQL = f"""
CREATE FUNCTION pairing_request_made() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {WAITING} (request_id, program_id, mentee_id, mentor_id, expires_at)
  SELECT id, program_id, mentee_id, mentor_id, expires_at FROM made WHERE status = 'pending';
  RETURN NULL;
END $$;
CREATE TRIGGER pairing_request_made AFTER INSERT ON {TABLE}
  REFERENCING NEW TABLE AS made FOR EACH STATEMENT EXECUTE FUNCTION pairing_request_made();

CREATE FUNCTION pairing_request_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM after_rows a JOIN before_rows b ON b.id = a.id
    WHERE a.status = 'pending' AND b.status <> 'pending'
  ) THEN
    RAISE EXCEPTION 'a decided mentor request can not become pending again'
      USING ERRCODE = 'check_violation';
  END IF;
  DELETE FROM {WAITING} w USING after_rows a
  WHERE w.request_id = a.id AND a.status <> 'pending';
  UPDATE {WAITING} w
  SET program_id = a.program_id, mentee_id = a.mentee_id, mentor_id = a.mentor_id,
      expires_at = a.expires_at
  FROM after_rows a
  WHERE w.request_id = a.id AND a.status = 'pending'
    AND (w.program_id, w.mentee_id, w.mentor_id, w.expires_at)
        IS DISTINCT FROM (a.program_id, a.mentee_id, a.mentor_id, a.expires_at);
  RETURN NULL;
END $$;
CREATE TRIGGER pairing_request_changed AFTER UPDATE ON {TABLE}
  REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows
  FOR EACH STATEMENT EXECUTE FUNCTION pairing_request_changed();

CREATE FUNCTION pairing_request_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM {WAITING} w USING gone g WHERE w.request_id = g.id;
  RETURN NULL;
END $$;
CREATE TRIGGER pairing_request_deleted AFTER DELETE ON {TABLE}
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION pairing_request_deleted();

ALTER TABLE {TABLE} SET (fillfactor = 90);
"""

POSTGRESQL_REVERSE = f"""
ALTER TABLE {TABLE} RESET (fillfactor);
DROP TRIGGER pairing_request_made ON {TABLE};
DROP TRIGGER pairing_request_changed ON {TABLE};
DROP TRIGGER pairing_request_deleted ON {TABLE};
DROP FUNCTION pairing_request_made();
DROP FUNCTION pairing_request_changed();
DROP FUNCTION pairing_request_deleted();
"""

# name -> (when, body) of each SQLite trigger on the requests table.
SQLITE = {
    "pairing_request_one_pending": (
        "BEFORE INSERT",
        f"""WHEN NEW.status = 'pending'
          AND EXISTS (SELECT 1 FROM {WAITING} WHERE mentee_id = NEW.mentee_id)
        BEGIN
          SELECT RAISE(ABORT, 'UNIQUE constraint failed: one_pending_request_per_mentee');
        END""",
    ),
    "pairing_request_made": (
        "AFTER INSERT",
        f"""WHEN NEW.status = 'pending'
        BEGIN
          INSERT INTO {WAITING} (request_id, program_id, mentee_id, mentor_id, expires_at)
          VALUES (NEW.id, NEW.program_id, NEW.mentee_id, NEW.mentor_id, NEW.expires_at);
        END""",
    ),
    "pairing_request_reopened": (
        "BEFORE UPDATE",
        """WHEN NEW.status = 'pending' AND OLD.status <> 'pending'
        BEGIN
          SELECT RAISE(ABORT, 'a decided mentor request can not become pending again');
        END""",
    ),
    "pairing_request_settled": (
        "AFTER UPDATE",
        f"""WHEN NEW.status <> 'pending'
        BEGIN
          DELETE FROM {WAITING} WHERE request_id = NEW.id;
        END""",
    ),
    "pairing_request_moved": (
        "AFTER UPDATE",
        f"""WHEN NEW.status = 'pending'
        BEGIN
          UPDATE {WAITING}
          SET program_id = NEW.program_id, mentee_id = NEW.mentee_id,
              mentor_id = NEW.mentor_id, expires_at = NEW.expires_at
          WHERE request_id = NEW.id;
        END""",
    ),
    "pairing_request_deleted": (
        "AFTER DELETE",
        f"""BEGIN
          DELETE FROM {WAITING} WHERE request_id = OLD.id;
        END""",
    ),
}


def _create_sqlite_triggers(cursor) -> None:
    for name, (when, body) in SQLITE.items():
        cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {when} ON {TABLE} {body}")


def ensure_sqlite_triggers(connection) -> None:
    """Create the SQLite triggers that a table rebuild dropped (a no-op elsewhere)."""
    if connection.vendor != "sqlite":
        return
    if WAITING not in connection.introspection.table_names():
        return  # not migrated that far (or migrated back)
    with connection.cursor() as cursor:
        _create_sqlite_triggers(cursor)


FILL = f"""
INSERT INTO {WAITING} (request_id, program_id, mentee_id, mentor_id, expires_at)
SELECT id, program_id, mentee_id, mentor_id, expires_at FROM {TABLE} WHERE status = 'pending'
"""


def install_triggers(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        create_triggers(cursor, postgresql=POSTGRESQL, create_sqlite=_create_sqlite_triggers)
        cursor.execute(FILL)


def remove_triggers(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute(POSTGRESQL_REVERSE)
        else:
            for name in SQLITE:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(f"DELETE FROM {WAITING}")
