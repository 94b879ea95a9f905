"""Self-registration through a program's public link, confirmed by email (double opt-in).

`registration_request` (the form's POST) stores a PendingRegistration and
writes the confirmation email; `registration_pending` (the link's GET) only
reads; `registration_confirm` (the Confirm POST) applies it once. Why it is
shaped so: docs/security.md.
"""

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.i18n import long_date_time, program_language
from pairing_admin.lib.text import one_line
from pairing_admin.mail.branding import program_name
from pairing_admin.mail.outbox import Draft, outbox_add
from programs import hooks
from programs.email_kinds import EmailKind
from programs.models import PROFILE_FIELDS, Participant, PendingRegistration, Program
from programs.questions import answers_save, participant_values, questions_of

REGISTRATION_FIELDS = ("role", "first_name", "last_name", *PROFILE_FIELDS)
# Profile values shown on one line, and names that go into email headers (To)
# and subjects: a newline in them is never wanted (bio keeps its lines).
SINGLE_LINE_FIELDS = ("first_name", "last_name", "title", "department", "location")

CONFIRM_VALID_FOR = timedelta(hours=48)
CONFIRM_VALID_FOR_TEXT = gettext_lazy("48 hours")
# Confirmation emails one address may be sent per program in a window: a
# stranger submitting someone's address over and over cannot flood them.
EMAILS_PER_ADDRESS = 3
EMAIL_WINDOW = timedelta(hours=1)
# Rows that expired this long ago are deleted by the next registration
# (they hold what people typed; the "expired" page needs them only a while).
FORGET_AFTER = timedelta(days=7)


class RegistrationClosed(DomainError):
    def __init__(self, program: Program) -> None:
        super().__init__(f"Registration for {program.name} is closed.")


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _details(capacity: int | None, profile: dict[str, Any]) -> dict[str, Any]:
    values = {name: profile.get(name) or "" for name in REGISTRATION_FIELDS}
    for name in SINGLE_LINE_FIELDS:
        values[name] = one_line(values[name])
    values["capacity"] = capacity
    # {question key: what was sent}, checked again when confirmed (programs.questions).
    answers = profile.get("answers")
    values["answers"] = dict(answers) if isinstance(answers, dict) else {}
    return values


def deadline_text(when: datetime, program: Program) -> str:
    """How the email and the pages say when a link expires."""
    zone = program.organization.timezone
    local = when.astimezone(ZoneInfo(zone))
    return f"{long_date_time(local)} ({zone})"


def confirm_url(program: Program, raw: str) -> str:
    path = reverse("register_confirm", kwargs={"token": program.registration_token, "code": raw})
    return settings.PUBLIC_BASE_URL + path


def pending_registrations_forget(*, program: Program | None = None, now=None) -> int:
    """Delete what people typed into registrations left unconfirmed FORGET_AFTER past expiry.

    Each submission does it for its program; beat does it hourly for every
    program, so details do not stay in a program nobody registers to any more.
    """
    now = now or timezone.now()
    stale = PendingRegistration.objects.filter(expires_at__lt=now - FORGET_AFTER)
    if program is not None:
        stale = stale.filter(program=program)
    return stale.delete()[0]


@transaction.atomic
def registration_request(
    *, program: Program, email: str, capacity: int | None = None, **profile: Any
) -> bool:
    """Hold the details and email a confirmation link; create or change nothing else.

    The same for an address already in the program and a new one. Returns
    whether an email was written (False once the address had
    EMAILS_PER_ADDRESS emails in the last EMAIL_WINDOW: then nothing changes;
    the caller must not tell the visitor, who may not own the address).
    """
    if not program.registration_open:
        raise RegistrationClosed(program)
    email = email.strip().lower()
    now = timezone.now()
    pending_registrations_forget(program=program, now=now)
    raw = secrets.token_urlsafe(32)
    fresh = {
        "token_hash": _token_hash(raw),
        "details": _details(capacity, profile),
        "expires_at": now + CONFIRM_VALID_FOR,
    }
    try:
        with transaction.atomic():  # a savepoint: a lost insert undoes only itself
            pending = PendingRegistration.objects.create(
                program=program, email=email, window_started_at=now, emails_sent=1, **fresh
            )
    except IntegrityError:
        # The address has an open row (perhaps inserted a moment ago by a
        # racing submission, which the insert waited for): reuse it.
        pending = PendingRegistration.objects.select_for_update().get(
            program=program, email=email, confirmed_at__isnull=True
        )
        if now - pending.window_started_at >= EMAIL_WINDOW:
            pending.window_started_at, pending.emails_sent = now, 0
        if pending.emails_sent >= EMAILS_PER_ADDRESS:
            return False
        # New details and a new token: the link sent before stops working.
        for name, value in fresh.items():
            setattr(pending, name, value)
        pending.emails_sent += 1
        pending.save()
    confirmation_email_write(
        program=program, pending=pending, confirm_url=confirm_url(program, raw)
    )
    return True


def confirmation_email_write(
    *, program: Program, pending: PendingRegistration, confirm_url: str
) -> None:
    """Write the email with the confirm link (it holds the raw token, never stored).

    Written in the transaction that stored the pending registration; sent
    after it commits. The key names the token (a hash of it), so each link
    is emailed once and a new submission's link gets its own email.
    """
    with program_language(program):
        confirm_by = deadline_text(pending.expires_at, program)
    outbox_add(
        [
            Draft(
                kind=EmailKind.REGISTRATION_CONFIRM,
                key=f"registration_confirm:{pending.pk}:{pending.token_hash[:32]}",
                to_email=pending.email,
                # What the visitor typed is not proof of anything: the To
                # header gets the bare address.
                values={
                    "first_name": pending.details.get("first_name", ""),
                    "program_name": program_name(program),
                    "organization_name": program.organization.name,
                    "confirm_link": confirm_url,
                    "confirm_by": confirm_by,
                },
            )
        ],
        program=program,
    )


class Outcome(enum.Enum):
    READY = "ready"  # a valid link: the page shows the Confirm button
    CREATED = "created"
    ALREADY_REGISTERED = "already_registered"  # confirmed, but the address was in already
    USED = "used"
    EXPIRED = "expired"
    UNKNOWN = "unknown"
    CLOSED = "closed"  # registration was closed after the form was sent


@dataclass(frozen=True)
class Confirmation:
    outcome: Outcome
    pending: PendingRegistration | None = None
    participant: Participant | None = None


def _check(program: Program, pending: PendingRegistration | None) -> Confirmation:
    if pending is None:
        return Confirmation(Outcome.UNKNOWN)
    if pending.confirmed_at is not None:
        return Confirmation(Outcome.USED, pending)
    if pending.expires_at <= timezone.now():
        return Confirmation(Outcome.EXPIRED, pending)
    if not program.registration_open:
        return Confirmation(Outcome.CLOSED, pending)
    return Confirmation(Outcome.READY, pending)


def registration_pending(*, program: Program, token: str) -> Confirmation:
    """What a confirmation link would do now; reads only."""
    pending = PendingRegistration.objects.filter(
        program=program, token_hash=_token_hash(token)
    ).first()
    return _check(program, pending)


@transaction.atomic
def registration_confirm(*, program: Program, token: str) -> Confirmation:
    """Apply a pending registration once; anything but a valid link writes nothing."""
    # An unknown code locks nothing: anyone can post one.
    if not PendingRegistration.objects.filter(
        program=program, token_hash=_token_hash(token)
    ).exists():
        return _check(program, None)
    # The program's row first (the lock an admin's settings change takes):
    # registration cannot close between this check and the write.
    program = Program.objects.select_for_update(no_key=True).get(pk=program.pk)
    pending = (
        PendingRegistration.objects.select_for_update()
        .filter(program=program, token_hash=_token_hash(token))
        .first()
    )
    checked = _check(program, pending)
    if checked.outcome is not Outcome.READY:
        return checked
    participant, created = registration_submit(
        program=program, email=pending.email, **pending.details
    )
    # Used once; what they typed is now in the participant (or was not wanted).
    pending.confirmed_at = timezone.now()
    pending.details = {}
    pending.save(update_fields=["confirmed_at", "details"])
    outcome = Outcome.CREATED if created else Outcome.ALREADY_REGISTERED
    return Confirmation(outcome, pending, participant)


@transaction.atomic
def registration_submit(
    *, program: Program, email: str, capacity: int | None = None, **profile: Any
) -> tuple[Participant, bool]:
    """Add a person whose address is confirmed; a known email changes nothing.

    Returns (participant, created). The link is shared with a whole
    organization, so a second registration with someone's email must not
    rewrite their profile or turn a paired mentee into a mentor: the first
    registration (or the admin's import) stands, and admins edit profiles.
    Someone new is announced through programs.hooks.
    """
    email = email.strip().lower()
    values = _details(None, profile)
    del values["capacity"]
    sent = values.pop("answers")
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
    if created and sent:
        # Checked again: an option may have gone since the form was sent. What
        # no longer fits is left out; the person can answer it from My mentoring.
        asked = questions_of(program, role=participant.role)
        answers, _, _ = participant_values(asked, sent)
        answers_save(participant=participant, values=answers)
    if created:
        # In this transaction: an Evergreen program's invitation email is
        # written with the registration, or not at all.
        hooks.participants_added(program=program, participant_ids=[participant.pk])
        if participant.role == Participant.Role.MENTOR:
            hooks.mentors_changed(program=program, mentor_ids=[participant.pk])
    return participant, created
