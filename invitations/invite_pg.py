"""Invite all on PostgreSQL: set-based statements, no per-mentee Python.

The portable path (invitations.services, used on SQLite) writes the same
rows; tests/invitations run both on PostgreSQL and compare them.
"""

import secrets

from django.db import connection
from django.db.models import QuerySet

from invitations.email_kinds import EmailKind
from invitations.models import Invitation, InvitationBatch
from pairing_admin.mail.branding import brand_for, frame_of, program_name
from pairing_admin.mail.links import PREFERENCES_VALID_FOR, Purpose, link_url
from pairing_admin.mail.models import AccessLink, OutboundEmail
from pairing_admin.mail.rendering import Template
from pairing_admin.mail.rendering_sql import SQL, WHITESPACE, frame_sql, one_line, render_sql
from programs.models import Participant, Program

# 2 x 122 random bits from gen_random_uuid() (PostgreSQL 13+, a CSPRNG), as 43
# URL-safe characters like secrets.token_urlsafe(32); stored only as SHA-256.
_RANDOM_URLSAFE_SQL = (
    "translate(encode(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()), 'base64'),"
    " '+/=', '-_')"
)
_SPLIT = "TOKENxSPLIT"


def _batch_sql(
    program: Program, batch: InvitationBatch, template: Template, changed: SQL, now
) -> int:
    """Links and outbox rows for the (mentee_id, sends) rows that `changed` yields.

    `changed` is a data-modifying statement with RETURNING mentee_id, sends.

    Subject and text are rendered per row (plain concatenation). The HTML
    made from the text (paragraphs, links) is the costly part, so it is
    rendered once per distinct first name with a stand-in token in the link,
    then each row swaps in its own token. That is exact: real and stand-in
    tokens have the same length and only URL-safe characters, so every rule
    of linkify and paragraphs_to_html treats them alike.
    """
    prefix, suffix = link_url(_SPLIT, Purpose.PREFERENCES).split(_SPLIT)
    stand_in = secrets.token_urlsafe(32)  # fresh per batch: cannot occur in a name
    constants = {
        "program_name": program_name(program),
        "organization_name": program.organization.name,
    }
    subject, text, _ = render_sql(
        template,
        {**constants, "first_name": SQL("d.first_name"), "preferences_link": SQL("d.link")},
    )
    _, _, body_html = render_sql(
        template,
        {**constants, "first_name": SQL("nm.first_name"), "preferences_link": SQL("nm.link")},
    )
    # The program's brand around both parts and its Reply-To, as outbox_add adds them.
    brand = brand_for(program, EmailKind.INVITATION)
    reply_to = brand.contact_email if brand else ""
    if brand is not None:
        pieces = frame_of(brand)
        text, _ = frame_sql(text, SQL.value(""), pieces)
        _, body_html = frame_sql(SQL.value(""), body_html, pieces)
    # The recipient's name goes into the To header: on one line, as in outbox_add.
    to_name = one_line(SQL("(d.first_name || ' ' || d.last_name)"))
    participant = Participant._meta.db_table
    link_table = AccessLink._meta.db_table
    outbox = OutboundEmail._meta.db_table
    sql = SQL(
        f"""
        WITH changed AS ({changed.sql}),
        drawn AS MATERIALIZED (
            SELECT x.*, %s || x.raw || %s AS link FROM (
                SELECT p.id, p.first_name, p.last_name, p.email, changed.sends,
                       {_RANDOM_URLSAFE_SQL} AS raw
                FROM changed JOIN {participant} p ON p.id = changed.mentee_id
            ) AS x
        ),
        per_name AS MATERIALIZED (
            SELECT nm.first_name, {body_html.sql} AS body_html
            FROM (SELECT DISTINCT first_name, %s::text AS link FROM drawn) AS nm
        ),
        links AS (
            INSERT INTO {link_table}
                (token_hash, purpose, program_id, participant_id, object_id, created_at,
                 expires_at, used_at)
            SELECT encode(sha256(convert_to(d.raw, 'UTF8')), 'hex'), %s, %s, d.id, NULL, %s,
                   %s, NULL
            FROM drawn AS d
        )
        INSERT INTO {outbox}
            (program_id, kind, idempotency_key, batch_id, to_email, to_name, reply_to,
             subject, body_text, body_html, status, attempts, last_error,
             provider_message_id, created_at, touched_at, next_attempt_at, sent_at)
        SELECT %s, %s, 'invitation:' || d.id || ':' || d.sends, %s,
               lower(btrim(d.email, %s)), left({to_name.sql}, 200),
               %s, {subject.sql}, {text.sql}, replace(n.body_html, %s, d.raw),
               %s, 0, '', '', %s, %s, NULL, NULL
        FROM drawn AS d JOIN per_name AS n ON n.first_name = d.first_name
        ON CONFLICT (idempotency_key) DO NOTHING
        """,  # noqa: S608 - only table names and our own fragments; values are parameters
        [
            *changed.params,
            prefix,
            suffix,
            *body_html.params,
            prefix + stand_in + suffix,
            Purpose.PREFERENCES.value,
            program.pk,
            now,
            now + PREFERENCES_VALID_FOR,
            program.pk,
            EmailKind.INVITATION.value,
            batch.pk,
            WHITESPACE,
            *to_name.params,
            reply_to,
            *subject.params,
            *text.params,
            stand_in,
            OutboundEmail.Status.QUEUED.value,
            now,
            now,
        ],
    )
    with connection.cursor() as cursor:
        # The batch's sorts and hashes fit in memory rather than spilling to disk.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(sql.sql, sql.params)
        return cursor.rowcount


def _ids_sql(pool: QuerySet[Participant]) -> SQL:
    query, params = pool.order_by().values("pk").query.sql_with_params()
    return SQL(query, list(params))


def invite(program, batch, pool, user, now, *, template: Template) -> int:
    """Invite `pool`: Invitation rows, their links and outbox rows, in one statement."""
    ids = _ids_sql(pool)
    changed = SQL(
        f"""INSERT INTO {Invitation._meta.db_table}
                (program_id, mentee_id, batch_id, invited_by_id, invited_at, sends, last_sent_at)
            SELECT %s, pool.id, %s, %s, %s, 1, %s FROM ({ids.sql}) AS pool(id)
            ON CONFLICT (mentee_id) DO NOTHING
            RETURNING mentee_id, sends""",  # noqa: S608 - table name only
        [program.pk, batch.pk, getattr(user, "pk", None), now, now, *ids.params],
    )
    return _batch_sql(program, batch, template, changed, now)


def resend(program, batch, pool, now, *, template: Template) -> int:
    """Invite `pool` again: sends + 1, a fresh link and outbox row each, in one statement."""
    ids = _ids_sql(pool)
    changed = SQL(
        f"""UPDATE {Invitation._meta.db_table}
            SET sends = sends + 1, last_sent_at = %s
            WHERE mentee_id IN ({ids.sql})
            RETURNING mentee_id, sends""",  # noqa: S608 - table name only
        [now, *ids.params],
    )
    return _batch_sql(program, batch, template, changed, now)
