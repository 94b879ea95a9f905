"""An admin's actions on requests and pairings: cancel a request, pair by hand.
Lock order: docs/concurrency.md.
"""

from django.db import transaction
from django.utils import timezone

from pairing.models import MentorRequest, Pairing
from pairing.seats import active_pairings_of
from pairing.services._common import (
    NeedsConfirmation,
    Status,
    _lost_or_late,
    _not_again,
    _pair,
    _refuse_if_held,
    _reload,
    _said_no_names,
    _settle,
)
from pairing.services.forwarding import _choose_again_emails, _Ended
from pairing.services.sweeps import requests_close_full
from pairing.verbs import Verb
from pairing.waitlist import back_in_line, seats_offer
from pairing_admin.lib.errors import DomainError
from programs.models import Participant, Program
from programs.services import activity_record, lock_participants


@transaction.atomic
def request_cancel(*, program: Program, request_id: int, user) -> MentorRequest:
    """An admin cancels a pending request; the mentee is emailed a link to choose again.

    The mentor is not emailed: their Approve / Decline links now say the
    request was already decided.
    """
    request = MentorRequest.objects.filter(pk=request_id, program=program).first()
    if request is None:
        raise DomainError("There is no such request in this program.")
    lock_participants([request.mentor_id])
    now = timezone.now()
    if not _settle(request.pk, Status.CANCELLED, now, live=True, decided_by=user):
        raise _lost_or_late(request.pk, now, can_no_longer="be cancelled")
    request = _reload(request.pk)
    if not back_in_line([(request.pk, Status.CANCELLED)], now=now):
        _choose_again_emails(program, [_Ended.of(request)], now=now)
    seats_offer(program=request.program, mentor_ids=[request.mentor_id], now=now)
    activity_record(
        program=program,
        actor=user,
        verb=Verb.REQUEST_CANCELLED,
        detail=f"{request.mentee.full_name} → {request.mentor.full_name}",
    )
    return request


@transaction.atomic
def pairing_create_by_admin(
    *, program: Program, mentee_id: int, mentor_id: int, user, anyway: bool = False
) -> Pairing:
    """Pair a mentee with a mentor by hand (Admin-led, or overriding a request).

    A pending request of the mentee is settled in the same transaction:
    approved if it was to this mentor, cancelled otherwise. A mentor who
    declined this mentee, or whose pairing with them ended, is paired only
    with `anyway` (the admin saw the warning and confirmed).
    """
    people = {
        p.pk: p for p in Participant.objects.filter(program=program, pk__in=[mentee_id, mentor_id])
    }
    mentee, mentor = people.get(mentee_id), people.get(mentor_id)
    if mentee is None or mentee.role != Participant.Role.MENTEE:
        raise DomainError("Choose a mentee of this program.")
    if mentor is None or mentor.role != Participant.Role.MENTOR:
        raise DomainError("Choose a mentor of this program.")
    if _not_again(mentee, [mentor.pk]):
        raise DomainError(
            f"{mentee.full_name} and {mentor.full_name} were marked “do not pair again” when "
            "their pairing ended. Choose another mentor."
        )
    if not anyway and _said_no_names(mentee, [mentor.pk]):
        raise NeedsConfirmation(
            f"{mentor.full_name} declined a request from {mentee.full_name} before, or their "
            "pairing ended. Tick “Pair them anyway” to pair them all the same."
        )
    pending = MentorRequest.objects.filter(mentee=mentee, status=Status.PENDING).first()
    locked = lock_participants([mentee.pk, mentor.pk] + ([pending.mentor_id] if pending else []))
    mentor = locked[mentor.pk]
    # Under the mentee's lock no request can appear meanwhile; one made just
    # before (a submit, a forward) is the one to settle.
    pending = MentorRequest.objects.filter(mentee=mentee, status=Status.PENDING).first()
    active = active_pairings_of(mentor.pk)
    if active >= mentor.capacity:
        raise DomainError(
            f"{mentor.full_name} already has {mentor.capacity} active "
            f"pairing{'s' if mentor.capacity != 1 else ''}, their capacity. Raise their "
            "capacity on the participant page first, or choose another mentor."
        )
    _refuse_if_held(
        mentor,
        mentee.pk,
        active,
        f"{mentor.full_name}'s remaining seats are held by the auto-pair run under review. "
        "Remove or swap those proposals, or discard the run, first; or choose another mentor.",
    )
    now = timezone.now()
    request = None
    if pending is not None:
        status = Status.APPROVED if pending.mentor_id == mentor.pk else Status.CANCELLED
        won = (
            MentorRequest.objects.filter(pk=pending.pk, status=Status.PENDING).update(
                status=status, decided_at=now, decided_by=user
            )
            == 1
        )
        if won and status == Status.APPROVED:
            request = pending
    program = Program.objects.select_related("organization").get(pk=program.pk)
    pairing = _pair(
        program=program,
        mentee=mentee,
        mentor=mentor,
        origin=Pairing.Origin.ADMIN,
        now=now,
        request=request,
        user=user,
    )
    requests_close_full(mentor_ids=[mentor.pk], now=now)
    if pending is not None and pending.mentor_id != mentor.pk:
        seats_offer(program=program, mentor_ids=[pending.mentor_id], now=now)
    activity_record(
        program=program,
        actor=user,
        verb=Verb.PAIRED_BY_ADMIN,
        detail=f"{mentee.full_name} with {mentor.full_name}",
    )
    return pairing
