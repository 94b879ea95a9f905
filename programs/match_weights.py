"""Match weights: which profile fields the match score compares, and how much each counts.

The one place that names the fields and explains them (admins read the same
words on the Match weights page). Read a program's weights through
`weights_of(program)`, which fills in defaults for fields added later. 0
ignores a field, 1-9 count that much, 10 must match; the score itself is
`pairing.matching` (docs/matching.md).
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext_lazy

from pairing_admin.lib.errors import DomainError
from programs.models import ActivityEvent, Program, default_match_weights
from programs.services import activity_record

IGNORED = 0
MUST_MATCH = 10


@dataclass(frozen=True)
class MatchField:
    key: str
    label: str  # lazy: participants read the match reasons in their program's language
    # How the two profiles are compared, in words an admin understands.
    compares: str


FIELDS: tuple[MatchField, ...] = (
    MatchField(
        "skills_for_goals",
        gettext_lazy("Skills for goals"),
        "The mentor's skills against what the mentee wants to learn (their interests and "
        "goals). Counts how many of the mentee's wishes the mentor covers, out of all they "
        "listed, and never fewer than 3: listing one wish cannot earn full marks.",
    ),
    MatchField(
        "shared_interests",
        gettext_lazy("Shared interests"),
        "Interests both listed, out of the mentee's interests (and never fewer than 3).",
    ),
    MatchField("department", gettext_lazy("Same department"), "Both work in the same department."),
    MatchField("location", gettext_lazy("Same location"), "Both work in the same location."),
)
FIELD_KEYS = tuple(f.key for f in FIELDS)
FIELD_BY_KEY = {f.key: f for f in FIELDS}


def weight_label(weight: int) -> str:
    if weight == IGNORED:
        return "ignored"
    if weight == MUST_MATCH:
        return "must match"
    return str(weight)


def weights_of(program: Program) -> dict[str, int]:
    """The program's weight for every known field (defaults where unset or unreadable)."""
    stored = program.match_weights if isinstance(program.match_weights, Mapping) else {}
    defaults = default_match_weights()
    weights = {}
    for key in FIELD_KEYS:
        value = stored.get(key, defaults[key])
        ok = isinstance(value, int) and not isinstance(value, bool)
        weights[key] = value if ok and IGNORED <= value <= MUST_MATCH else defaults[key]
    return weights


def clean_weights(raw: Mapping[str, object]) -> dict[str, int]:
    """Check a complete set of weights; DomainError says what is wrong."""
    unknown = sorted(set(raw) - set(FIELD_KEYS))
    if unknown:
        raise DomainError(f"There is no match field called “{unknown[0]}”.")
    weights = {}
    for field in FIELDS:
        value = raw.get(field.key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise DomainError(f"Give “{field.label}” a whole number from 0 to 10.")
        if not IGNORED <= value <= MUST_MATCH:
            raise DomainError(
                f"“{field.label}” must be from 0 (ignored) to 10 (must match), not {value}."
            )
        weights[field.key] = value
    if not any(IGNORED < w < MUST_MATCH for w in weights.values()):
        raise DomainError(
            "Give at least one field a weight from 1 to 9. Those weights put the best "
            "matches first; with only 0 and 10 every mentor left would score the same."
        )
    return weights


def describe_change(old: Mapping[str, int], new: Mapping[str, int]) -> str:
    """'Skills for goals 5 → 7; Same location 2 → must match' (changed fields only)."""
    return "; ".join(
        f"{f.label} {weight_label(old[f.key])} → {weight_label(new[f.key])}"
        for f in FIELDS
        if old[f.key] != new[f.key]
    )


@transaction.atomic
def match_weights_update(*, program: Program, weights: Mapping[str, object], user) -> bool:
    """Store a program's match weights; False (and no log line) when nothing changed."""
    new = clean_weights(weights)
    # Locked, so two admins saving at once each log the change they really made.
    program = Program.objects.select_for_update().get(pk=program.pk)
    old = weights_of(program)
    if program.match_weights == new:
        return False
    program.match_weights = new
    program.save(update_fields=["match_weights"])
    detail = describe_change(old, new)
    if detail:
        activity_record(
            program=program,
            actor=user,
            verb=ActivityEvent.Verb.MATCH_WEIGHTS_CHANGED,
            detail=detail,
        )
    return bool(detail)
