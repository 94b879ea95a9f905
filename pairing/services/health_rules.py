"""A program's health rules: when a pairing's first session and later ones are due."""

from django.db import transaction

from pairing.health import Rules
from pairing.models import HealthRules
from pairing.verbs import Verb
from pairing_admin.lib.errors import DomainError
from programs.models import Program
from programs.services import activity_record


def health_rules_update(
    *, program: Program, user, first_session_days: int, recent_days: int
) -> HealthRules:
    """Save the program's health rules; an activity line only when a number changed.

    There is no separate "too early" period: a pairing without a session is Too
    Early to Tell until its first session is due (see pairing.health.Rules). The
    stored early_days column is kept equal to first_session_days.
    """
    for label, value in (
        ("First session expected within", first_session_days),
        ("A session expected at least every", recent_days),
    ):
        if not 1 <= value <= 365:
            raise DomainError(f"{label}: choose between 1 and 365 days.")
    with transaction.atomic():
        current = HealthRules.objects.select_for_update().filter(program=program).first()
        before = (
            (current.first_session_days, current.recent_days)
            if current is not None
            else (Rules().first_session_days, Rules().recent_days)
        )
        if current is not None and before == (first_session_days, recent_days):
            return current  # saved unchanged: nothing to write, nothing to record
        rules, _ = HealthRules.objects.update_or_create(
            program=program,
            defaults={
                "early_days": first_session_days,
                "first_session_days": first_session_days,
                "recent_days": recent_days,
                "updated_by": user,
            },
        )
        if before != (first_session_days, recent_days):
            activity_record(
                program=program,
                actor=user,
                verb=Verb.HEALTH_RULES_CHANGED,
                detail=f"first session within {first_session_days} days, "
                f"a session every {recent_days} days",
            )
    return rules
