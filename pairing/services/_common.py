"""What the request and pairing services share: the compare-and-set, reloads, refusals,
the pairing itself and a new request. Lock order and compare-and-set: docs/concurrency.md.
"""

from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext, gettext_lazy

from pairing.deadlines import deadline_for_program, deadline_label
from pairing.drafts import assignment_drafts
from pairing.models import MentorRequest, Pairing
from pairing.request_selectors import do_not_pair_again, said_no
from pairing.seats import active_pairings_of, held_seats_of, taken_for_request
from pairing.waitlist import leave_on_engagement, release_held
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.outbox import outbox_add
from programs.models import Participant, Program

Status = MentorRequest.Status
AfterDecline = Program.AfterDecline


class RequestSettled(DomainError):
    """The request was already decided, expired, withdrawn or cancelled."""

    def __init__(self, request: MentorRequest):
        self.request = request
        status = request.get_status_display().lower()
        when = request.decided_at
        if when is None:
            message = gettext("This request was already %(status)s.") % {"status": status}
        else:
            day = deadline_label(when, request.program.organization.timezone)
            message = gettext("This request was already %(status)s on %(day)s.") % {
                "status": status,
                "day": day,
            }
        super().__init__(message)


class NeedsConfirmation(DomainError):
    """The admin must confirm a choice the product would not make by itself."""


def _has_room(mentor: Participant, mentee_id: int, *, for_requests: bool = True) -> bool:
    if mentor.role != Participant.Role.MENTOR:
        return False
    if for_requests and not mentor.accepting_requests:
        return False
    taken = active_pairings_of(mentor.pk) + held_seats_of(mentor.pk, except_mentee_id=mentee_id)
    return taken < mentor.capacity


def _refuse_if_held(mentor: Participant, mentee_id: int, active: int, message: str) -> None:
    """Raise `message` when the seats left after `active` pairings are held by auto-pair."""
    if active + held_seats_of(mentor.pk, except_mentee_id=mentee_id) >= mentor.capacity:
        raise DomainError(message)


def _settle(request_id: int, status: str, now: datetime, *, live: bool, **fields) -> bool:
    """Compare-and-set a pending request to `status`; True if this call won.

    live=True: only a request whose deadline has not passed (people deciding);
    live=False: only one whose deadline has passed (the expiry).
    """
    qs = MentorRequest.objects.filter(pk=request_id, status=Status.PENDING)
    qs = qs.filter(expires_at__gt=now) if live else qs.filter(expires_at__lte=now)
    return qs.update(status=status, decided_at=now, **fields) == 1


def _reload(request_id: int) -> MentorRequest:
    try:
        return MentorRequest.objects.select_related(
            "mentee", "mentor", "program", "program__organization"
        ).get(pk=request_id)
    except MentorRequest.DoesNotExist:
        raise DomainError(gettext("There is no such request.")) from None


# Whole sentences, so that each language words them its own way.
_PAST_DEADLINE = {
    "be answered": gettext_lazy(
        "This request has passed its deadline, so it can no longer be answered."
    ),
    "be withdrawn": gettext_lazy(
        "This request has passed its deadline, so it can no longer be withdrawn."
    ),
    "be cancelled": gettext_lazy(
        "This request has passed its deadline, so it can no longer be cancelled."
    ),
}


def _refuse_unless_live(
    request: MentorRequest, now: datetime, *, can_no_longer: str = "be answered"
) -> None:
    """can_no_longer: a key of _PAST_DEADLINE, what the caller was about to do."""
    if request.status != Status.PENDING:
        raise RequestSettled(request)
    if request.expires_at <= now:
        raise DomainError(str(_PAST_DEADLINE[can_no_longer]))


def _lost(request_id: int) -> RequestSettled:
    return RequestSettled(_reload(request_id))


def _lost_or_late(request_id: int, now: datetime, *, can_no_longer: str) -> DomainError:
    """Why a live-only compare-and-set did not win: settled already, or past its deadline.

    A request past its deadline stays pending until the sweeper expires it
    (and emails the mentee), so "already pending" would be no reason at all.
    """
    request = _reload(request_id)
    try:
        _refuse_unless_live(request, now, can_no_longer=can_no_longer)
    except DomainError as exc:
        return exc
    return RequestSettled(request)


def _not_again(mentee: Participant, mentor_ids: Sequence[int]) -> str:
    """The names of these mentors marked "do not pair again" with the mentee ("" if none).

    The mark is on the ended pairing (request_selectors.do_not_pair_again), the
    same rule auto-pair applies; it binds requests and hand pairings too.
    """
    blocked = do_not_pair_again(mentee.pk).filter(mentor_id__in=mentor_ids)
    return " and ".join(
        f"{first} {last}".strip()
        for first, last in Participant.objects.filter(pk__in=blocked.values("mentor_id"))
        .order_by("first_name", "last_name", "pk")
        .values_list("first_name", "last_name")
    )


def _said_no_names(mentee: Participant, mentor_ids: Sequence[int]) -> str:
    """The names of these mentors who declined the mentee or whose pairing with them
    ended ("" if none): request_selectors.said_no."""
    return " and ".join(
        f"{first} {last}".strip()
        for first, last in Participant.objects.filter(pk__in=mentor_ids)
        .filter(said_no(mentee.pk))
        .order_by("first_name", "last_name", "pk")
        .values_list("first_name", "last_name")
    )


def _pair(
    *,
    program: Program,
    mentee: Participant,
    mentor: Participant,
    origin: str,
    now: datetime,
    request: MentorRequest | None = None,
    user=None,
) -> Pairing:
    """Create the pairing and its Mentorship Assignments emails (mentor row held)."""
    try:
        with transaction.atomic():
            pairing = Pairing.objects.create(
                program=program,
                mentee=mentee,
                mentor=mentor,
                origin=origin,
                request=request,
                created_by=user,
            )
    except IntegrityError:
        raise DomainError(
            gettext("%(name)s is already paired with a mentor.") % {"name": mentee.full_name}
        ) from None
    leave_on_engagement([mentee.pk])
    outbox_add(
        assignment_drafts(program, pairing.pk, pairing.mentee, pairing.mentor, now),
        program=program,
    )
    release_held(program=program, mentee_ids=[mentee.pk], now=now)
    return pairing


def _available_mentor_ids(program: Program, ids: Sequence[int], *, mentee_id: int) -> set[int]:
    """Which of these mentors the mentee may request: accepting, with room, not ruled out (no lock).

    Room: capacity minus active pairings and seats a staged auto-pair run
    holds for other mentees. Mentors marked "do not pair again" with this
    mentee, who declined them or whose pairing with them ended, are left out.
    """
    rows = (
        Participant.objects.mentors()
        .filter(program=program, accepting_requests=True, pk__in=ids)
        .exclude(pk__in=do_not_pair_again(mentee_id).values("mentor_id"))
        .exclude(said_no(mentee_id))
        .values_list("pk", "capacity")
    )
    taken = taken_for_request(ids, mentee_id=mentee_id)
    return {pk for pk, capacity in rows if taken.get(pk, 0) < capacity}


def _create_request(
    *,
    program: Program,
    mentee: Participant,
    mentor: Participant,
    rank: int,
    note: str,
    now: datetime,
    status: str = Status.PENDING,
) -> MentorRequest:
    try:
        with transaction.atomic():
            request = MentorRequest.objects.create(
                program=program,
                mentee=mentee,
                mentor=mentor,
                rank=rank,
                note=note,
                status=status,
                expires_at=deadline_for_program(now, program),
                decided_at=None if status == Status.PENDING else now,
            )
    except IntegrityError:
        # one_pending_request_per_mentee (PendingRequest, written by the insert's
        # trigger): a second tab or a double click got there first.
        raise DomainError(gettext("You already have a request waiting for an answer.")) from None
    leave_on_engagement([mentee.pk])
    request.program, request.mentee, request.mentor = program, mentee, mentor
    return request
