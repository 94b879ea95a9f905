"""Self-registration through a program's public link."""

from typing import Any

from django.db import transaction

from programs.models import PROFILE_FIELDS, Participant, Program

REGISTRATION_FIELDS = ("role", "first_name", "last_name", *PROFILE_FIELDS)


@transaction.atomic
def registration_submit(
    *, program: Program, email: str, capacity: int | None = None, **profile: Any
) -> tuple[Participant, bool]:
    """Register a person, or update their profile if the email is known.

    Returns (participant, created). How a person first joined (`source`) is
    kept when they register again.
    """
    email = email.strip().lower()
    values = {
        name: profile.get(name) or ([] if name in ("skills", "interests", "goals") else "")
        for name in REGISTRATION_FIELDS
    }
    if values["role"] == Participant.Role.MENTOR:
        values["capacity"] = capacity or program.default_mentor_capacity
    else:
        values["capacity"] = 0
    # update_or_create retries the get after an IntegrityError, so two
    # submissions racing with the same email still end with one person.
    participant, created = Participant.objects.update_or_create(
        program=program,
        email=email,
        defaults=values,
        create_defaults={**values, "source": Participant.Source.REGISTRATION},
    )
    return participant, created
