"""What an auto-pair run can be asked for: the options and the limits."""

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from pairing.models import (
    AutoPairRun,
    AutoPairUnpaired,
)
from pairing_admin.lib.errors import DomainError

Objective = AutoPairRun.Objective
RunStatus = AutoPairRun.Status
Reason = AutoPairUnpaired.Reason

SCALE = 1000  # score points -> integer solver units (0.001 of a point)
ALL_PAIRS_LIMIT = 4_000_000  # up to this many mentee x mentor pairs, the graph holds every pair
CANDIDATES = 50  # per mentee above that size
MAX_PREFERENCE_BONUS = 50
_DIAGNOSE_CELLS = 4_000_000

PERSON_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "department",
    "location",
    "manager_email",
)


@dataclass(frozen=True)
class Options:
    """What the admin chose for one run (stored in AutoPairRun.options)."""

    objective: str = Objective.MOST_PAIRS
    include_not_accepting: bool = False
    avoid_shared_manager: bool = False
    different_department: bool = False
    preference_bonus: int = 10
    # None: every pair for small programs, CANDIDATES per mentee for large ones.
    candidates_per_mentee: int | None = None
    # A mentee and mentor whose earlier pairing in this program ended are left
    # out unless this is on ("do not pair again" pairs are left out always).
    allow_paired_before: bool = False
    # Only the unpaired mentees who wait on the program's waitlist.
    waitlist_only: bool = False

    def __post_init__(self) -> None:
        if self.objective not in Objective.values:
            raise DomainError("Choose what auto-pair should aim for.")
        if not 0 <= int(self.preference_bonus) <= MAX_PREFERENCE_BONUS:
            raise DomainError(
                f"The bonus for a mentee's own choice must be 0 to {MAX_PREFERENCE_BONUS} points."
            )

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping | None) -> "Options":
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)
