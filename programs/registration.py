"""Self-registration through a program's public link."""

from typing import Any

from django.db import transaction

from pairing_admin.lib.text import one_line
from programs import hooks
from programs.models import PROFILE_FIELDS, Participant, Program

REGISTRATION_FIELDS = ("role", "first_name", "last_name", *PROFILE_FIELDS)
# Profile values shown on one line, and names that go into email headers (To)
# and subjects: a newline in them is never wanted (bio keeps its lines).
SINGLE_LINE_FIELDS = ("first_name", "last_name", "title", "department", "location")


@transaction.atomic
def registration_submit(
    *, program: Program, email: str, capacity: int | None = None, **profile: Any
) -> tuple[Participant, bool]:
    """Register a person; a known email changes nothing.

    Returns (participant, created). The link is shared with a whole
    organization, so a second registration with someone's email must not
    rewrite their profile or turn a paired mentee into a mentor: the first
    registration (or the admin's import) stands, and admins edit profiles.
    Someone new is announced through programs.hooks.
    """
    email = email.strip().lower()
    values = {
        name: profile.get(name) or ([] if name in ("skills", "interests", "goals") else "")
        for name in REGISTRATION_FIELDS
    }
    for name in SINGLE_LINE_FIELDS:
        values[name] = one_line(values[name])
    if values["role"] == Participant.Role.MENTOR:
        values["capacity"] = capacity or program.default_mentor_capacity
    else:
        values["capacity"] = 0
    # get_or_create retries the get after an IntegrityError, so two
    # submissions racing with the same email still end with one person.
    participant, created = Participant.objects.get_or_create(
        program=program,
        email=email,
        defaults={**values, "source": Participant.Source.REGISTRATION},
    )
    if created:
        # In this transaction: an Evergreen program's invitation email is
        # written with the registration, or not at all.
        hooks.participants_added(program=program, participant_ids=[participant.pk])
        if participant.role == Participant.Role.MENTOR:
            hooks.mentors_changed(program=program, mentor_ids=[participant.pk])
    return participant, created
