import copy
from collections.abc import Iterable, Mapping

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.text import one_line
from programs import hooks
from programs.models import (
    ActivityEvent,
    Integration,
    LaunchStep,
    Organization,
    Participant,
    Program,
    SupportRequest,
    WorkerPing,
)
from programs.questions import answers_save, create_defaults
from programs.selectors import support_recipient
from programs.tasks import worker_ping


@transaction.atomic
def program_create(*, organization: Organization, name: str, **fields) -> Program:
    """A new program, with the default questions and match rules (programs.questions)."""
    program = Program.objects.create(organization=organization, name=name.strip(), **fields)
    create_defaults(program)
    return program


# How the activity log names a program setting (as the settings form labels it).
PROGRAM_SETTING_LABELS = {
    "organization": "organization",
    "name": "name",
    "pairing_process": "pairing process",
    "default_mentor_capacity": "default mentor capacity",
    "request_expiry_business_days": "requests expire after (business days)",
    "max_preferences": "mentors a mentee may rank",
    "after_decline": "when a mentor declines or a request expires",
    "request_reminders": "reminder before a request expires",
    "program_type": "program type",
    "waitlist_enabled": "waitlist",
    "registration_open": "registration",
}
# On/off settings the log words otherwise.
PROGRAM_SETTING_WORDS = {"registration_open": ("open", "closed")}


def _setting_text(program: Program, name: str) -> str:
    field = Program._meta.get_field(name)
    if field.choices:
        return str(getattr(program, f"get_{name}_display")())
    value = getattr(program, name)
    if isinstance(value, bool):
        on, off = PROGRAM_SETTING_WORDS.get(name, ("on", "off"))
        return on if value else off
    return f"“{value}”" if name == "name" else str(value)


def _setting_changes(before: Program, after: Program, fields) -> str:
    """'pairing process User-led → Admin-led; name “A” → “B”' (empty if nothing changed)."""
    return "; ".join(
        f"{PROGRAM_SETTING_LABELS.get(name, name)} {_setting_text(before, name)} → "
        f"{_setting_text(after, name)}"
        for name in fields
        if getattr(before, name) != getattr(after, name)
    )


@transaction.atomic
def program_update(*, program: Program, user=None, **fields) -> Program:
    """Save an admin's edit of the program's settings; what changed goes to the activity log.

    The row is locked so two admins saving at once each log the change they made
    against what the other saved, and a save that changes nothing logs nothing.
    """
    current = Program.objects.select_for_update().get(pk=program.pk)
    for key, value in fields.items():
        setattr(program, key, value)
    program.save(update_fields=[*fields.keys()])
    if changes := _setting_changes(current, program, fields):
        activity_record(
            program=program, actor=user, verb=Verb.PROGRAM_SETTINGS_CHANGED, detail=changes
        )
    return program


_LOCK_CHUNK = 10_000  # ids per query (SQLite caps the parameters of one statement)


def lock_participants(ids: Iterable[int]) -> dict[int, Participant]:
    """Lock these participants' rows, in id order (the order every locker uses, see
    pairing.services), and return them as they are now.

    FOR NO KEY UPDATE: the foreign-key checks of rows that point at a person (a
    link, a request) take a key-share lock, which this one leaves alone.
    """
    ids = sorted(set(ids))
    rows: dict[int, Participant] = {}
    for start in range(0, len(ids), _LOCK_CHUNK):
        for row in (
            Participant.objects.select_for_update(no_key=True)
            .filter(pk__in=ids[start : start + _LOCK_CHUNK])
            .order_by("pk")
        ):
            rows[row.pk] = row
    return rows


@transaction.atomic
def participant_update(
    *,
    participant: Participant,
    user=None,
    own: bool = False,
    answers: Mapping[int, object] | None = None,
    **fields,
) -> Participant:
    """Save an admin's edit of a person; DomainError (nothing saved) if it would
    contradict their pairings: a role change while they are paired, hold a
    request or sit in a staged auto-pair run, or a mentor's capacity below
    the people they mentor now. What changed goes to the activity log, and a
    change to a mentor's room to mentor to programs.hooks.mentors_changed.
    `own`: the person's edit of themselves (My mentoring), which the log says."""
    current = lock_participants([participant.pk])[participant.pk]
    change = hooks.ProfileChange(
        participant_id=current.pk,
        name=current.full_name,
        old_role=current.role,
        old_capacity=current.capacity,
        role=fields.get("role", current.role),
        capacity=fields.get("capacity", current.capacity),
    )
    if found := hooks.change_problems(program=current.program, changes=[change]):
        raise DomainError(found[current.pk][1])
    # Applied to the row as locked, and only the fields asked for: a column
    # someone else changed meanwhile (a mentor's "unavailable for now") stays.
    before = copy.copy(current)
    if (
        "accepting_requests" in fields
        and "unavailable_until" not in fields
        and fields["accepting_requests"] != current.accepting_requests
    ):
        # The program team turning requests on or off replaces a mentor's own
        # "unavailable until": the day coming must not undo the team's pause.
        fields = {**fields, "unavailable_until": None}
    for key, value in fields.items():
        setattr(current, key, value)
    if "email" in fields:
        current.email = current.email.strip().lower()
    current.save(update_fields=[*fields, "updated_at"])
    for key in fields:
        setattr(participant, key, getattr(current, key))
    participant.updated_at = current.updated_at
    changes = _changes(before, current, fields)
    # answers: {question id: value from programs.questions.clean_answer}
    if answers and (answered := answers_save(participant=participant, values=answers)):
        changes = "; ".join(filter(None, [changes, ", ".join(answered)]))
    if changes:
        activity_record(
            program=current.program,
            actor=user,
            verb=Verb.PARTICIPANT_EDITED,
            detail=f"{participant.full_name}: {changes}"
            + (" (their own edit, from My mentoring)" if own else ""),
        )
    if _mentor_changed(before, current):
        hooks.mentors_changed(program=current.program, mentor_ids=[participant.pk])
    return participant


def _mentor_changed(before: Participant, after: Participant) -> bool:
    """Whether a mentor's room changed: their capacity or accepting_requests, or a
    role changed to or from mentor."""
    mentor = Participant.Role.MENTOR
    if mentor not in (before.role, after.role):
        return False
    return any(
        getattr(before, name) != getattr(after, name)
        for name in ("role", "capacity", "accepting_requests")
    )


def _changes(before: Participant, after: Participant, fields) -> str:
    """'role mentee → mentor; capacity 0 → 2; department, skills' (empty if none)."""
    shown, named = [], []
    for name in fields:
        old, new = getattr(before, name), getattr(after, name)
        if old == new:
            continue
        if name in ("role", "capacity", "accepting_requests"):
            label = Participant._meta.get_field(name).verbose_name
            shown.append(f"{label} {old} → {new}")
        else:
            named.append(str(Participant._meta.get_field(name).verbose_name))
    return "; ".join(shown + ([", ".join(named)] if named else []))


@transaction.atomic
def worker_ping_request(*, user=None) -> WorkerPing:
    ping = WorkerPing.objects.create(requested_by=user)
    worker_ping.delay_on_commit(ping.pk)
    return ping


# --- Launching pairing -------------------------------------------------------------

Verb = ActivityEvent.Verb


def activity_record(*, program: Program, actor, verb: str, detail: str = "") -> ActivityEvent:
    """Add a line to the program's activity log (call it inside the change's transaction)."""
    return ActivityEvent.objects.create(program=program, actor=actor, verb=verb, detail=detail)


def _step(step: str) -> LaunchStep.Step:
    if step not in LaunchStep.Step.values:
        raise DomainError(f"There is no launch step called “{step}”.")
    return LaunchStep.Step(step)


@transaction.atomic
def launch_step_mark_done(*, program: Program, step: str, user) -> LaunchStep:
    """Mark a checklist step done. Marking it again keeps the first who and when."""
    step = _step(step)
    done, created = LaunchStep.objects.get_or_create(
        program=program, step=step, defaults={"done_by": user, "done_at": timezone.now()}
    )
    if created:
        activity_record(program=program, actor=user, verb=Verb.STEP_DONE, detail=step.label)
    return done


@transaction.atomic
def launch_step_undo(*, program: Program, step: str, user) -> bool:
    """Mark a checklist step not done; False when it was not done anyway."""
    step = _step(step)
    deleted, _ = LaunchStep.objects.filter(program=program, step=step).delete()
    if deleted:
        activity_record(program=program, actor=user, verb=Verb.STEP_UNDONE, detail=step.label)
    return bool(deleted)


@transaction.atomic
def integration_update(
    *, organization: Organization, kind: str, status: str, notes: str, user
) -> Integration:
    """Set an integration's status and notes.

    An integration belongs to the organization, so the change is logged on
    every one of its programs: each program's launch depends on it. Saving
    the same values again changes nothing and logs nothing.
    """
    if kind not in Integration.Kind.values:
        raise DomainError(f"There is no integration called “{kind}”.")
    if status not in Integration.Status.values:
        raise DomainError(f"“{status}” is not a status an integration can have.")
    notes = notes.strip()
    integration = (
        Integration.objects.select_for_update().filter(organization=organization, kind=kind).first()
    )
    if integration is None:
        integration, _ = Integration.objects.get_or_create(organization=organization, kind=kind)
        integration = Integration.objects.select_for_update().get(pk=integration.pk)
    old_status = integration.status
    if old_status == status and integration.notes == notes:
        return integration
    integration.status = status
    integration.notes = notes
    integration.updated_by = user
    integration.updated_at = timezone.now()
    integration.save()
    label = integration.get_kind_display()
    if old_status != status:
        detail = (
            f"{label}: {Integration.Status(old_status).label} → {integration.get_status_display()}"
        )
    else:
        detail = f"{label}: notes changed"
    ActivityEvent.objects.bulk_create(
        ActivityEvent(program=p, actor=user, verb=Verb.INTEGRATION_CHANGED, detail=detail)
        for p in organization.programs.all()
    )
    return integration


SUPPORT_SUBJECT_MAX = 150
SUPPORT_MESSAGE_MAX = 5000


@transaction.atomic
def support_request_create(*, program: Program, user, subject: str, message: str) -> SupportRequest:
    """Store a support request and log it. The email is the caller's job (invitations)."""
    subject = one_line(subject)
    message = message.strip()
    if not subject or not message:
        raise DomainError("Please write both a subject and a message.")
    if len(subject) > SUPPORT_SUBJECT_MAX:
        raise DomainError(f"Please keep the subject to {SUPPORT_SUBJECT_MAX} characters.")
    if len(message) > SUPPORT_MESSAGE_MAX:
        raise DomainError(f"Please keep the message to {SUPPORT_MESSAGE_MAX} characters.")
    to_email = support_recipient(program.organization)
    if not to_email:
        raise DomainError(
            "Your organization has no support advisor address yet, so this request cannot be "
            "sent. Ask whoever set up your organization to add one."
        )
    request = SupportRequest.objects.create(
        program=program, sent_by=user, subject=subject, message=message, to_email=to_email
    )
    activity_record(
        program=program,
        actor=user,
        verb=Verb.SUPPORT_REQUEST_SENT,
        detail=f"“{subject}” to {to_email}",
    )
    return request


def _pairing_switch(*, program: Program, user, on: bool) -> bool:
    with transaction.atomic():
        # The row lock makes two clicks at once queue up: the second sees the
        # first one's result and does nothing, so the log holds one event.
        locked = Program.objects.select_for_update().get(pk=program.pk)
        if locked.pairing_enabled == on:
            changed = False
        else:
            locked.pairing_enabled = on
            locked.pairing_changed_at = timezone.now()
            locked.pairing_changed_by = user
            locked.save(
                update_fields=["pairing_enabled", "pairing_changed_at", "pairing_changed_by"]
            )
            activity_record(
                program=locked, actor=user, verb=Verb.PAIRING_ON if on else Verb.PAIRING_OFF
            )
            changed = True
    program.pairing_enabled = locked.pairing_enabled
    program.pairing_changed_at = locked.pairing_changed_at
    program.pairing_changed_by_id = locked.pairing_changed_by_id
    return changed


def pairing_turn_on(*, program: Program, user) -> bool:
    """Open pairing. Sends no email: inviting mentees is a separate, later step.

    Returns False (and records nothing) when pairing was already on.
    """
    return _pairing_switch(program=program, user=user, on=True)


def pairing_turn_off(*, program: Program, user) -> bool:
    """Pause pairing (see ensure_pairing_open). Sends no email. False if already off."""
    return _pairing_switch(program=program, user=user, on=False)


def ensure_pairing_open(program: Program, *, for_participant: bool = False) -> None:
    """Refuse new invitations and new mentor requests while pairing is off.

    Reads the current value from the database, not the caller's copy. A
    caller that must not race a Turn off locks the program row first
    (program_for_admin(..., for_update=True)). Deciding or expiring requests
    that are already pending does not call this: a pause never strands them.
    for_participant: the refusal is for a mentee, in their program's language,
    who has no Pairing page to go to (the admins' wording tells them where it is).
    """
    is_open = Program.objects.filter(pk=program.pk).values_list("pairing_enabled", flat=True)
    if is_open.first():
        return
    if for_participant:
        # Turning pairing back on emails no one: promise only what the link will show.
        raise DomainError(
            gettext(
                "Your choices weren't sent because pairing is paused for now. "
                "Keep your email and come back to the same link later."
            )
        )
    raise DomainError(
        "Pairing is turned off for this program, so no new invitations are sent and no new "
        "mentor requests are accepted. Turn on Pairing on the Pairing page to continue."
    )
