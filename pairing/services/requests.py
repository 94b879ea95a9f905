"""The mentee's side: submit ranked preferences (a request, or a pairing without approval)
and withdraw a request. Lock order: docs/concurrency.md.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from pairing.drafts import request_draft
from pairing.email_kinds import EmailKind
from pairing.models import MentorPreference, MentorRequest, Pairing
from pairing.services._common import (
    Status,
    _available_mentor_ids,
    _create_request,
    _has_room,
    _lost_or_late,
    _not_again,
    _pair,
    _reload,
    _said_no_names,
    _settle,
)
from pairing.services.sweeps import requests_close_full
from pairing.waitlist import back_in_line, seats_offer
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.outbox import outbox_add
from programs.models import Participant, Program
from programs.services import ensure_pairing_open, lock_participants

NOTE_MAX = 1000


@dataclass(frozen=True)
class Submitted:
    """What a submission led to: a pending request, or (without approval) a pairing."""

    request: MentorRequest
    pairing: Pairing | None = None


def _validate_choices(program: Program, mentor_ids: Sequence[int], note: str) -> list[int]:
    ids = [int(i) for i in mentor_ids]
    if not ids:
        raise DomainError(gettext("Choose at least one mentor."))
    if len(set(ids)) != len(ids):
        raise DomainError(gettext("Each mentor can be chosen only once."))
    if len(ids) > program.max_preferences:
        raise DomainError(
            ngettext(
                "You can choose only one mentor.",
                "You can choose up to %(count)d mentors.",
                program.max_preferences,
            )
            % {"count": program.max_preferences}
        )
    if len(note) > NOTE_MAX:
        raise DomainError(gettext("Keep the note to %(max)d characters.") % {"max": NOTE_MAX})
    found = Participant.objects.mentors().filter(program=program, pk__in=ids).count()
    if found != len(ids):
        raise DomainError(gettext("One of the mentors you chose is not in this program."))
    return ids


def _refuse_if_busy(mentee: Participant) -> None:
    pairing = Pairing.objects.filter(mentee=mentee).active().select_related("mentor").first()
    if pairing:
        raise DomainError(
            gettext("You are already paired with %(name)s.") % {"name": pairing.mentor.full_name}
        )
    pending = (
        MentorRequest.objects.filter(mentee=mentee, status=Status.PENDING)
        .select_related("mentor")
        .first()
    )
    if pending:
        raise DomainError(
            gettext(
                "Your request to %(name)s is still waiting for an answer. "
                "Withdraw it first if you want to choose again."
            )
            % {"name": pending.mentor.full_name}
        )


@transaction.atomic
def preferences_submit(
    *, mentee: Participant, mentor_ids: Sequence[int], note: str = ""
) -> Submitted:
    """Save the mentee's ranked choices and act on them.

    Without approval the first ranked mentor who still has room is paired at
    once (if one filled up meanwhile, the next). With approval a pending
    request goes to the first ranked mentor who still accepts requests.
    """
    program = Program.objects.select_related("organization").get(pk=mentee.program_id)
    if mentee.role != Participant.Role.MENTEE:
        raise DomainError(gettext("Only mentees choose mentors."))
    ensure_pairing_open(program, for_participant=True)
    if program.pairing_process == Program.Process.ADMIN_LED:
        raise DomainError(gettext("In this program the program team pairs mentees with mentors."))
    note = note.strip()
    ids = _validate_choices(program, mentor_ids, note)
    people = lock_participants([mentee.pk, *ids])
    mentee = people[mentee.pk]
    if mentee.role != Participant.Role.MENTEE:
        raise DomainError(gettext("Only mentees choose mentors."))
    _refuse_if_busy(mentee)
    if names := _not_again(mentee, ids):
        raise DomainError(
            gettext(
                "Your program team has asked that you not be paired with %(names)s again. "
                "Please choose another mentor."
            )
            % {"names": names}
        )
    if names := _said_no_names(mentee, ids):
        raise DomainError(
            gettext(
                "%(names)s can't be asked again: they declined an earlier request from you, or "
                "your pairing with them ended. Please choose another mentor."
            )
            % {"names": names}
        )
    now = timezone.now()

    MentorPreference.objects.filter(mentee=mentee).delete()
    MentorPreference.objects.bulk_create(
        MentorPreference(program=program, mentee=mentee, mentor_id=mentor_id, rank=rank)
        for rank, mentor_id in enumerate(ids, start=1)
    )

    if program.pairing_process == Program.Process.USER_LED:
        for rank, mentor_id in enumerate(ids, start=1):
            mentor = people[mentor_id]
            if not _has_room(mentor, mentee.pk):
                continue
            request = _create_request(
                program=program, mentee=mentee, mentor=mentor, rank=rank, note=note, now=now,
                status=Status.APPROVED,
            )  # fmt: skip
            pairing = _pair(
                program=program,
                mentee=mentee,
                mentor=mentor,
                origin=Pairing.Origin.REQUEST,
                now=now,
                request=request,
            )
            requests_close_full(mentor_ids=[mentor.pk], now=now)
            return Submitted(request=request, pairing=pairing)
        raise DomainError(
            gettext("None of the mentors you chose has room any more. Please choose again.")
        )

    available = _available_mentor_ids(program, ids, mentee_id=mentee.pk)
    for rank, mentor_id in enumerate(ids, start=1):
        if mentor_id not in available:
            continue
        request = _create_request(
            program=program, mentee=mentee, mentor=people[mentor_id], rank=rank, note=note, now=now
        )
        outbox_add(
            [request_draft(request, kind=EmailKind.MENTOR_REQUEST, key=f"mentor-request:{request.pk}")],
            program=program,
        )  # fmt: skip
        return Submitted(request=request)
    raise DomainError(
        gettext("None of the mentors you chose has room any more. Please choose again.")
    )


@transaction.atomic
def request_withdraw(*, mentee: Participant, request_id: int) -> MentorRequest:
    """The mentee takes back a pending request (from their preference link)."""
    request = MentorRequest.objects.filter(pk=request_id, mentee=mentee).first()
    if request is None:
        raise DomainError(gettext("There is no such request."))
    lock_participants([request.mentor_id])
    now = timezone.now()
    if not _settle(request.pk, Status.WITHDRAWN, now, live=True):
        raise _lost_or_late(request.pk, now, can_no_longer="be withdrawn")
    request = _reload(request.pk)
    # Withdrawing a seat's offer keeps the mentee's place on the waitlist.
    back_in_line([(request.pk, Status.WITHDRAWN)], now=now, email=False)
    seats_offer(program=request.program, mentor_ids=[request.mentor_id], now=now)
    return request
