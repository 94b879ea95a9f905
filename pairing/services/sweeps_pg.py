"""The expiry sweep's claim in one PostgreSQL statement (sweeps._claim_and_expire is the
portable path): the due ids go in an array, so the planner looks each one up by primary key
rather than joining the whole requests table."""

from datetime import datetime

from django.db import connection
from django.db.models import QuerySet

from pairing.models import MentorRequest

Status = MentorRequest.Status


def expire_due(due: QuerySet, now: datetime) -> list[tuple[int, int, int, int]]:
    """Expire the requests `due` (a values("request_id") query) names that are still pending
    and past their deadline; the expired rows (id, program, mentee, mentor), by id."""
    table = MentorRequest._meta.db_table
    due_sql, due_params = due.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} SET status = %s, decided_at = %s
                WHERE id = ANY(ARRAY({due_sql})) AND status = %s AND expires_at <= %s
                RETURNING id, program_id, mentee_id, mentor_id""",  # noqa: S608 - our table and query
            [Status.EXPIRED, now, *due_params, Status.PENDING, now],
        )
        return sorted(cursor.fetchall())
