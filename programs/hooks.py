"""Hooks: how the apps above programs hear that participants changed, and answer
what a change to the questions would do to pairing.

`programs` never imports `invitations` or `pairing` (that would make the
layers a cycle), yet they must react when people arrive or a mentor's room
changes. So they register callbacks here from their AppConfig.ready(), and
the programs services that add or change participants fire them.

A hook runs its callbacks with keyword arguments in the caller's transaction,
after the change, while the caller holds those participants' rows (locked
until it commits): what a callback writes (an invitation and its email in the
outbox) commits or rolls back with the change, and a callback that raises
undoes it, so a callback decides for itself when there is nothing to do.
Each register_* function says what its hook promises.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db.models import Q

from programs.models import Program

Callback = Callable[..., None]

_participants_added: list[Callback] = []
_mentors_changed: list[Callback] = []


class ProfileChange(NamedTuple):
    """A person's role and capacity before and after an edit or an import row."""

    participant_id: int
    name: str
    old_role: str
    old_capacity: int
    role: str
    capacity: int


@dataclass(frozen=True)
class ChangeCheck:
    touches: Callable[[ProfileChange], bool]
    problems: Callable[..., dict[int, tuple[str, str]]]


_change_checks: list[ChangeCheck] = []
_engaged_filters: list[Callable[..., Q]] = []
_candidates_previews: list[Callable[..., Any]] = []


@dataclass(frozen=True)
class CandidateImpact:
    """What a change to a program's questions would do to the mentors suggested now:
    of the unpaired mentees, scored against the mentors with a seat to offer."""

    mentees: int  # unpaired mentees looked at
    mentors: int  # mentors with a seat to offer
    lose_all: int  # had at least one candidate mentor, would have none
    gain: int  # had none, would have one
    best_changed: int  # keep candidates, but the best of them would be someone else


_candidate_impacts: list[Callable[..., CandidateImpact]] = []


def _register(callbacks: list[Callback], fn: Callback) -> Callback:
    # ready() may run more than once (tests, management commands): one entry per function.
    if fn not in callbacks:
        callbacks.append(fn)
    return fn


def register_participants_added(fn: Callback) -> Callback:
    """Call `fn(program=..., participant_ids=...)` whenever participants are added.

    A registration created someone, or a CSV import created people (all of that
    import's new ids in one call); mentees and mentors alike. An Evergreen program
    invites each new mentee this way.
    """
    return _register(_participants_added, fn)


_tables_following_participants: list[str] = []


def register_tables_following_participants(*tables: str) -> None:
    """Tables whose rows the database writes for each participant (triggers): a large
    import fills them too, so they get fresh planner statistics with the participants'
    (programs.imports.services.import_apply)."""
    for table in tables:
        if table not in _tables_following_participants:
            _tables_following_participants.append(table)


def tables_following_participants() -> tuple[str, ...]:
    return tuple(_tables_following_participants)


def register_mentors_changed(fn: Callback) -> Callback:
    """Call `fn(program=..., mentor_ids=...)` whenever mentors' room to mentor changes.

    A mentor's capacity or `accepting_requests` changed (either way), a role
    changed to or from mentor, or a mentor was added; only the ids whose values
    really changed. The waitlist offers a freed seat this way.
    """
    return _register(_mentors_changed, fn)


def register_change_check(
    *,
    touches: Callable[[ProfileChange], bool],
    problems: Callable[..., dict[int, tuple[str, str]]],
) -> ChangeCheck:
    """Have `problems(program=..., changes=...)` vet the role and capacity changes
    that `touches(change)` says it may forbid.

    A change check says whether an admin's edit or a CSV import may change a
    person's role or capacity (pairing forbids what would contradict a pairing,
    a request or a staged auto-pair proposal).
    - `touches(change) -> bool`: whether this check may forbid the change (no
      query); the callers lock those people's rows before asking for problems.
    - `problems(*, program, changes) -> {participant id: (field, why)}`: for the
      changes it touches, those it forbids, `why` in words for the admin.
    """
    return _register(_change_checks, ChangeCheck(touches=touches, problems=problems))


def register_engaged_filter(fn: Callable[..., Q]) -> Callable[..., Q]:
    """Have `not_engaged()` leave out the participants `fn()`'s condition rejects.

    An engaged filter says which participants are taken (pairing: in an active
    pairing or waiting on a request), for the reads below pairing that must leave
    them out (whom to invite). `fn(invited=None)` returns a condition (Q or
    expression) on Participant rows, true for those NOT engaged; `not_engaged()`
    ANDs them. `invited=True` / `False` may also narrow it to those with / without
    an invitation, where the filter knows that sooner than the invitations'
    own join (pairing keeps both on one row); the caller still applies its own
    rule, so a filter may ignore it.
    """
    return _register(_engaged_filters, fn)


def register_candidates_preview(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Have `fn(program=..., before=..., after=...)` say what changing the program's
    match rules from the Scheme `before` to `after` would do to its current candidates.

    It returns a programs.match_weights.CandidatesChange and writes nothing: the
    Match weights page shows it before the admin saves (pairing knows who is
    unpaired and which mentors have room). The first registered answers.
    """
    return _register(_candidates_previews, fn)


def register_candidate_impact(
    fn: Callable[..., CandidateImpact],
) -> Callable[..., CandidateImpact]:
    """Have `fn(program=..., change=...)` say what a change to the program's questions
    would do to the current candidates, before it is made (the questions editor's preview).

    `change` is a programs.question_admin.QuestionChange: the match scheme after the
    change and `answers_after(role, answers)`, each person's answers after it. `fn`
    only reads, and returns a CandidateImpact. Pairing knows who is unpaired and who
    has room, and scores them (pairing.question_impact).
    """
    return _register(_candidate_impacts, fn)


def participants_added(*, program: Program, participant_ids: Iterable[int]) -> None:
    """Tell the registered callbacks these participants are new (nothing if none)."""
    ids = sorted(set(participant_ids))
    if ids:
        for fn in list(_participants_added):
            fn(program=program, participant_ids=ids)


def mentors_changed(*, program: Program, mentor_ids: Iterable[int]) -> None:
    """Tell the registered callbacks these mentors changed (nothing if none)."""
    ids = sorted(set(mentor_ids))
    if ids:
        for fn in list(_mentors_changed):
            fn(program=program, mentor_ids=ids)


def change_touched(change: ProfileChange) -> bool:
    """Whether a registered check may forbid this change (no query)."""
    return any(check.touches(change) for check in _change_checks)


def change_problems(
    *, program: Program, changes: Iterable[ProfileChange]
) -> dict[int, tuple[str, str]]:
    """{participant id: (field, why)} for the changes a registered check forbids
    (the first check to object wins); no query for changes none touches."""
    changes = list(changes)
    found: dict[int, tuple[str, str]] = {}
    for check in list(_change_checks):
        touched = [c for c in changes if c.participant_id not in found and check.touches(c)]
        if touched:
            for pk, problem in check.problems(program=program, changes=touched).items():
                found.setdefault(pk, problem)
    return found


def candidate_impact(*, program: Program, change) -> CandidateImpact | None:
    """What the registered app says the change does to the current candidates; None
    when none registered (programs alone knows nothing of pairing)."""
    for fn in list(_candidate_impacts):
        return fn(program=program, change=change)
    return None


def not_engaged(*, invited: bool | None = None) -> Q:
    """A condition on Participant rows: none of the registered filters calls them
    engaged (an empty Q, everyone, when none is registered); `invited`: a hint,
    see register_engaged_filter."""
    condition = Q()
    for fn in list(_engaged_filters):
        condition &= fn(invited=invited)
    return condition


def candidates_preview(*, program: Program, before: Any, after: Any) -> Any:
    """What the change from `before` to `after` does to the candidates (a CandidatesChange),
    or None when no app registered a preview."""
    if not _candidates_previews:
        return None
    return _candidates_previews[0](program=program, before=before, after=after)
