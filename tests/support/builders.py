"""Builders shared by test modules: an aged pairing with sessions, a program's settings
changed in place, the participant edit form as the page posts it."""

from datetime import timedelta

from django.utils import timezone

from pairing.models import MentoringSession, Pairing
from programs.models import Program
from tests import factories


def pair(program, *, days_ago=0, sessions=(), origin="request", mentee=None, mentor=None):
    """An active pairing started `days_ago`, with held sessions `sessions` days ago."""
    mentee = mentee or factories.ParticipantFactory(program=program)
    mentor = mentor or factories.MentorFactory(program=program)
    pairing = Pairing.objects.create(program=program, mentee=mentee, mentor=mentor, origin=origin)
    Pairing.objects.filter(pk=pairing.pk).update(
        started_at=timezone.now() - timedelta(days=days_ago)
    )
    pairing.refresh_from_db()
    today = timezone.localdate()
    MentoringSession.objects.bulk_create(
        MentoringSession(
            program=program, pairing=pairing, date=today - timedelta(days=d), minutes=45
        )
        for d in sessions
    )
    return pairing


def program_set(program, **fields) -> Program:
    """Change the program's fields in the database (no save() side effects); it, refreshed."""
    Program.objects.filter(pk=program.pk).update(**fields)
    program.refresh_from_db()
    return program


def participant_edit_form(person, **overrides) -> dict:
    """The participant edit form's POST data for `person`, with `overrides` changed."""
    data = {
        "role": person.role,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "title": person.title,
        "department": person.department,
        "location": person.location,
        "bio": person.bio,
        "manager_email": person.manager_email,
        "capacity": str(person.capacity),
    }
    # What the page shows is also posted back, hidden, as the values the admin
    # saw: the form saves only what the admin changed.
    seen = {f"initial-{name}": value for name, value in data.items()}
    seen["initial-accepting_requests"] = str(person.accepting_requests)
    if person.accepting_requests:
        data["accepting_requests"] = "on"
    data.update(overrides)
    return {k: v for k, v in {**seen, **data}.items() if v is not None}
