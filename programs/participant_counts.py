"""The triggers that keep ParticipantCount (a program's participants per role).

How the counts stay right under concurrent writes: pairing_admin.lib.kept_counts.
"""

from pairing_admin.lib.db import is_postgresql
from pairing_admin.lib.kept_counts import KeptCount

COUNTED = KeptCount(
    "programs_participant_counted", "programs_participant", "programs_participantcount", "role"
)


def install_triggers(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute(COUNTED.postgresql())
        else:
            COUNTED.create_sqlite(cursor)
        cursor.execute(f"DELETE FROM {COUNTED.counts}")
        cursor.execute(COUNTED.fill())


def remove_triggers(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute(COUNTED.postgresql_reverse())
        else:
            COUNTED.drop_sqlite(cursor)
        cursor.execute(f"DELETE FROM {COUNTED.counts}")
