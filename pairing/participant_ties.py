"""What ties participants to pairing, for the profile edits that must respect it.

An admin's edit or a CSV re-import may change a person's role or a mentor's capacity, but
never so the data contradicts itself (a mentor turned mentee still mentoring, a capacity
below the active pairings). `change_problems` says, in words for the admin, what stands in
the way; the callers refuse the change and write nothing. Programs asks through
programs.hooks (registered by PairingConfig.ready()); callers lock the participants' rows
first, so what is read here cannot change before their edit commits.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q

from pairing.models import AutoPairProposal, AutoPairRun, Pairing, PendingRequest
from programs.hooks import ProfileChange
from programs.models import Participant, Program

_CHUNK = 10_000  # ids per query (SQLite caps the parameters of one statement)


@dataclass
class Engagement:
    mentoring: int = 0  # active pairings as the mentor
    paired: bool = False  # in an active pairing as the mentee
    pending: bool = False  # a pending request, made or received
    staged: bool = False  # in a proposal of a staged auto-pair run


def engagements(program: Program, ids: Iterable[int]) -> dict[int, Engagement]:
    """{participant id: Engagement} for those of `ids` with any tie (four queries)."""
    out: dict[int, Engagement] = {}
    ids = sorted(set(ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        active = Pairing.objects.filter(program=program).active()
        for mentor_id, count in (
            active.filter(mentor_id__in=chunk)
            .order_by()
            .values("mentor_id")
            .annotate(n=Count("pk"))
            .values_list("mentor_id", "n")
        ):
            out.setdefault(mentor_id, Engagement()).mentoring = count
        for mentee_id in active.filter(mentee_id__in=chunk).values_list("mentee_id", flat=True):
            out.setdefault(mentee_id, Engagement()).paired = True
        either_side = Q(mentee_id__in=chunk) | Q(mentor_id__in=chunk)
        pending = PendingRequest.objects.filter(either_side, program=program)
        staged = AutoPairProposal.objects.filter(
            either_side, run__program=program, run__status=AutoPairRun.Status.STAGED
        )
        members = set(chunk)
        for rows, flag in ((pending, "pending"), (staged, "staged")):
            for pair in rows.values_list("mentee_id", "mentor_id"):
                for pk in members.intersection(pair):
                    setattr(out.setdefault(pk, Engagement()), flag, True)
    return out


def touches_pairing(old_role: str, old_capacity: int, role: str, capacity: int) -> bool:
    """Whether changing a person from (old_role, old_capacity) to (role, capacity) is a
    change their ties may forbid: a new role, or a mentor's capacity lowered."""
    return role != old_role or (role == Participant.Role.MENTOR and capacity < old_capacity)


def change_touches_pairing(change: ProfileChange) -> bool:
    return touches_pairing(change.old_role, change.old_capacity, change.role, change.capacity)


def change_problems(
    *, program: Program, changes: Iterable[ProfileChange]
) -> dict[int, tuple[str, str]]:
    """{participant id: (field, why)} for the changes their ties forbid (four queries)."""
    changes = list(changes)
    ties = engagements(program, [c.participant_id for c in changes])
    found = {}
    for c in changes:
        problem = change_problem(
            c.name,
            old_role=c.old_role,
            role=c.role,
            capacity=c.capacity,
            tie=ties.get(c.participant_id),
        )
        if problem:
            found[c.participant_id] = problem
    return found


def change_problem(
    name: str, *, old_role: str, role: str, capacity: int, tie: Engagement | None
) -> tuple[str, str] | None:
    """(the field, why) when the person's ties forbid this change, else None."""
    if role != old_role:
        problem = role_change_problem(name, tie)
        return ("role", problem) if problem else None
    if role == Participant.Role.MENTOR:
        problem = capacity_problem(name, capacity, tie)
        return ("capacity", problem) if problem else None
    return None


def role_change_problem(name: str, tie: Engagement | None) -> str | None:
    """Why this person's role cannot change now, or None."""
    if tie is None:
        return None
    reasons = []
    if tie.mentoring:
        reasons.append(f"mentors {_people(tie.mentoring)}")
    if tie.paired:
        reasons.append("is in an active pairing as a mentee")
    if tie.pending:
        reasons.append("has a pending mentor request")
    if tie.staged:
        reasons.append("is in the auto-pair run waiting for review")
    if not reasons:
        return None
    return (
        f"{name} {_join(reasons)}, so their role can't change. End the pairing, "
        "cancel the request or discard the auto-pair run first."
    )


def capacity_problem(name: str, capacity: int, tie: Engagement | None) -> str | None:
    """Why a mentor's capacity cannot drop to `capacity`, or None."""
    mentoring = tie.mentoring if tie else 0
    if capacity >= mentoring:
        return None
    return (
        f"{name} mentors {_people(mentoring)} now, so their capacity can't go below "
        f"{mentoring}. End a pairing first."
    )


def _people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
