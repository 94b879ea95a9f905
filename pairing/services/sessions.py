"""Mentoring sessions: logged by a pairing's mentee or mentor, or by an admin; cancelled by
an admin.
"""

from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext

from pairing.health import local_today
from pairing.models import MentoringSession, Pairing
from pairing.verbs import Verb
from pairing_admin.lib.db import is_postgresql
from pairing_admin.lib.errors import DomainError
from programs.models import Participant, Program
from programs.services import activity_record

NOTE_MAX = 2000
MINUTES_MIN, MINUTES_MAX = 5, 600
FUTURE_MAX = timedelta(days=180)


def session_log(
    *,
    pairing: Pairing,
    on: date,
    minutes: int,
    note: str = "",
    participant: Participant | None = None,
    user=None,
    now: datetime | None = None,
) -> MentoringSession:
    """Log a session of an active pairing, by one of its two people or by an admin.

    A date after today makes it an upcoming session. Submitting the same
    session twice (a double click, a resent form) logs it once.
    """
    if (participant is None) == (user is None):
        raise ValueError("a session is logged by a participant or by an admin user")
    now = now or timezone.now()
    program = pairing.program
    today = local_today(program, now)
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise DomainError(
            gettext("Keep the note under %(max)s characters.")
            % {"max": number_format(NOTE_MAX, force_grouping=True)}
        )
    if not MINUTES_MIN <= minutes <= MINUTES_MAX:
        raise DomainError(
            gettext(
                "A session lasts between %(min)d and %(max)d minutes; %(minutes)d is outside that."
            )
            % {"min": MINUTES_MIN, "max": MINUTES_MAX, "minutes": minutes}
        )
    started = local_today(program, pairing.started_at)
    if on < started:
        raise DomainError(
            gettext("The pairing began on %(day)s; pick that day or later.")
            % {"day": date_format(started, "j F Y")}
        )
    if on > today + FUTURE_MAX:
        raise DomainError(gettext("Pick a date within the next six months."))
    if participant is not None and participant.pk not in (pairing.mentee_id, pairing.mentor_id):
        raise DomainError(gettext("Only the mentee and mentor of a pairing can log its sessions."))
    with transaction.atomic():
        # The pairing row is held so an end cannot slip in between the check and the insert.
        current = Pairing.objects.select_for_update().filter(pk=pairing.pk).first()
        if current is None or current.status != Pairing.Status.ACTIVE:
            raise DomainError(
                gettext("This pairing has ended, so no more sessions can be logged for it.")
            )
        twin = (
            MentoringSession.objects.filter(pairing=pairing, date=on, minutes=minutes, note=note)
            .exclude(status=MentoringSession.Status.CANCELLED)
            .first()
        )
        if twin is not None:
            return twin
        session = MentoringSession.objects.create(
            program=program,
            pairing=pairing,
            date=on,
            minutes=minutes,
            note=note,
            status=MentoringSession.Status.SCHEDULED
            if on > today
            else MentoringSession.Status.LOGGED,
            logged_by_participant=participant,
            logged_by_user=user,
        )
        if user is not None:
            activity_record(
                program=program,
                actor=user,
                verb=Verb.SESSION_LOGGED,
                detail=f"{on:%-d %B %Y}, {minutes} minutes, for pairing {pairing.pk}",
            )
    return session


def session_cancel(
    *, program: Program, session_id: int, user, now: datetime | None = None
) -> MentoringSession:
    """An admin cancels a session (an upcoming one, or one logged by mistake)."""
    now = now or timezone.now()
    with transaction.atomic():
        session = MentoringSession.objects.filter(program=program, pk=session_id).first()
        if session is None:
            raise DomainError(gettext("There is no such session in this program."))
        # The pairing row first, as every writer of sessions takes it: the database
        # recounts the pairing's figures under that lock (pairing.pairing_figures).
        list(Pairing.objects.select_for_update().filter(pk=session.pairing_id).values_list("pk"))
        changed = (
            MentoringSession.objects.filter(program=program, pk=session_id)
            .filter(~Q(status=MentoringSession.Status.CANCELLED))
            .update(status=MentoringSession.Status.CANCELLED, cancelled_at=now)
        )
        session.refresh_from_db()
        if not changed:
            raise DomainError(gettext("This session was already cancelled."))
        activity_record(
            program=program,
            actor=user,
            verb=Verb.SESSION_CANCELLED,
            detail=f"{session.date:%-d %B %Y} session of pairing {session.pairing_id}",
        )
    return session


def sessions_hold_due(program: Program, today: date) -> None:
    """Mark the program's upcoming sessions whose day (`today`, the organization's) has
    come as held ("logged"), so the pairings' kept figures (pairing.pairing_figures)
    count them.

    One statement, usually finding nothing through a small partial index. On
    PostgreSQL it takes the pairings' rows first, as every writer of sessions
    does (lock order: the pairing, then its sessions), and skips a pairing
    someone holds: that one's sessions follow at the next sweep.
    """
    scheduled = MentoringSession.Status.SCHEDULED.value
    logged = MentoringSession.Status.LOGGED.value
    day = connection.ops.adapt_datefield_value(today)
    due = """SELECT ms.pairing_id FROM pairing_mentoringsession ms
        WHERE ms.program_id = %s AND ms.status = %s AND ms.date <= %s"""
    if is_postgresql():
        due = f"""SELECT p.id FROM pairing_pairing p WHERE p.id IN ({due})
            ORDER BY p.id FOR NO KEY UPDATE SKIP LOCKED"""  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE pairing_mentoringsession SET status = %s
            WHERE status = %s AND date <= %s AND pairing_id IN ({due})""",  # noqa: S608
            [logged, scheduled, day, program.pk, scheduled, day],
        )


def sessions_hold_due_everywhere(*, now: datetime | None = None) -> int:
    """The beat sweep (pairing.tasks.hold_due_sessions, every few minutes): every program
    with an upcoming session dated up to tomorrow (UTC; the organization's own day is
    checked per program) gets `sessions_hold_due`. Pages only read: a session whose day
    has come counts as held from the next sweep. Returns how many programs it visited."""
    now = now or timezone.now()
    horizon = now.date() + timedelta(days=1)
    programs = Program.objects.filter(
        pk__in=MentoringSession.objects.filter(
            status=MentoringSession.Status.SCHEDULED, date__lte=horizon
        ).values("program_id")
    ).select_related("organization")
    visited = 0
    for program in programs:
        sessions_hold_due(program, local_today(program, now))
        visited += 1
    return visited
