"""Mentor requests and pairings: every change, its locks and its emails.

Concurrency rules, the same in every function here:

- Lock order: Participant rows first (SELECT ... FOR NO KEY UPDATE, all of
  them in one statement, in id order), then the request row. NO KEY: the
  foreign-key checks of rows that point at a person (a link, a request)
  take a key-share lock, which this one leaves alone, so a sweeper writing
  a mentee's link never waits for someone holding that mentee. The mentor's row is
  locked wherever capacity is checked (active pairings < mentor.capacity), so
  concurrent approvals for one mentor queue up behind each other. The
  mentee's row is locked wherever a request or a pairing is made for them
  (submit, approve, pair by hand, auto-pair confirm), and "not paired, no
  request waiting" is checked under it, so no two of those can leave a
  mentee paired with a request still waiting. Passing an ended request on to
  the next choice runs after its request row is locked (the sweeper claims
  rows first), so it takes the mentee's row only if free (SKIP LOCKED) and
  otherwise tells the mentee to choose again, rather than risk a deadlock.
- A request changes status only by compare-and-set
  (UPDATE ... WHERE status = 'pending'); the rowcount says who won. The loser
  raises RequestSettled and its transaction rolls back.
- Emails are outbox rows written inside the winning transaction, so a loser
  never emails anyone and a winner's emails are never lost.
- The expiry sweeper takes no participant lock: it changes due requests
  set-based, by compare-and-set, and passes one on to a next choice only if
  it can take the mentee's row without waiting.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from pairing.deadlines import deadline_for_program, deadline_label
from pairing.drafts import (
    assignment_drafts,
    common_values,
    preferences_url,
    request_draft,
    request_drafts,
)
from pairing.models import (
    MentorPreference,
    MentorRequest,
    Pairing,
    PendingRequest,
    WaitlistEntry,
)
from pairing.request_selectors import do_not_pair_again, said_no
from pairing.seats import active_pairings_of, held_seats_of, taken_for_request
from pairing.verbs import Verb
from pairing.waitlist import back_in_line, leave_on_engagement, release_held, seats_offer
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.links import PREFERENCES_VALID_FOR, Purpose, link_use, links_bulk
from pairing_admin.mail.models import AccessLink, EmailKind
from pairing_admin.mail.outbox import Draft, outbox_add
from programs.models import Participant, Program
from programs.services import activity_record, ensure_pairing_open, lock_participants

Status = MentorRequest.Status
AfterDecline = Program.AfterDecline
NOTE_MAX = 1000
MESSAGE_MAX = 1000
# A reminder goes out once the last business day before the deadline has
# begun (the deadline is the end of a day, so 24 hours before it), and never
# to a request younger than REMIND_MIN_AGE: the request email is reminder enough.
REMIND_BEFORE = timedelta(hours=24)
REMIND_MIN_AGE = timedelta(hours=12)
SWEEP_LIMIT = 20_000


class RequestSettled(DomainError):
    """The request was already decided, expired, withdrawn or cancelled."""

    def __init__(self, request: MentorRequest):
        self.request = request
        when = request.decided_at
        on = ""
        if when is not None:
            local = when.astimezone(ZoneInfo(request.program.organization.timezone))
            on = f" on {local:%A} {local.day} {local:%B %Y}"
        super().__init__(f"This request was already {request.get_status_display().lower()}{on}.")


class NeedsConfirmation(DomainError):
    """The admin must confirm a choice the product would not make by itself."""


# --- Small helpers ----------------------------------------------------------------


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
        raise DomainError("There is no such request.") from None


def _refuse_unless_live(
    request: MentorRequest, now: datetime, *, can_no_longer: str = "be answered"
) -> None:
    if request.status != Status.PENDING:
        raise RequestSettled(request)
    if request.expires_at <= now:
        raise DomainError(
            f"This request has passed its deadline, so it can no longer {can_no_longer}."
        )


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
        raise DomainError(f"{mentee.full_name} is already paired with a mentor.") from None
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
        Participant.objects.filter(
            program=program, role=Participant.Role.MENTOR, accepting_requests=True, pk__in=ids
        )
        .exclude(pk__in=do_not_pair_again(mentee_id).values("mentor_id"))
        .exclude(said_no(mentee_id))
        .values_list("pk", "capacity")
    )
    taken = taken_for_request(ids, mentee_id=mentee_id)
    return {pk for pk, capacity in rows if taken.get(pk, 0) < capacity}


# --- The mentee's preferences ----------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    """What a submission led to: a pending request, or (without approval) a pairing."""

    request: MentorRequest
    pairing: Pairing | None = None


def _validate_choices(program: Program, mentor_ids: Sequence[int], note: str) -> list[int]:
    ids = [int(i) for i in mentor_ids]
    if not ids:
        raise DomainError("Choose at least one mentor.")
    if len(set(ids)) != len(ids):
        raise DomainError("Each mentor can be chosen only once.")
    if len(ids) > program.max_preferences:
        raise DomainError(f"You can choose up to {program.max_preferences} mentors.")
    if len(note) > NOTE_MAX:
        raise DomainError(f"Keep the note to {NOTE_MAX} characters.")
    found = Participant.objects.filter(
        program=program, role=Participant.Role.MENTOR, pk__in=ids
    ).count()
    if found != len(ids):
        raise DomainError("One of the mentors you chose is not in this program.")
    return ids


def _refuse_if_busy(mentee: Participant) -> None:
    pairing = Pairing.objects.filter(mentee=mentee).active().select_related("mentor").first()
    if pairing:
        raise DomainError(f"You are already paired with {pairing.mentor.full_name}.")
    pending = (
        MentorRequest.objects.filter(mentee=mentee, status=Status.PENDING)
        .select_related("mentor")
        .first()
    )
    if pending:
        raise DomainError(
            f"Your request to {pending.mentor.full_name} is still waiting for an answer. "
            "Withdraw it first if you want to choose again."
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
        raise DomainError("Only mentees choose mentors.")
    ensure_pairing_open(program)
    if program.pairing_process == Program.Process.ADMIN_LED:
        raise DomainError("In this program the program team pairs mentees with mentors.")
    note = note.strip()
    ids = _validate_choices(program, mentor_ids, note)
    people = lock_participants([mentee.pk, *ids])
    mentee = people[mentee.pk]
    if mentee.role != Participant.Role.MENTEE:
        raise DomainError("Only mentees choose mentors.")
    _refuse_if_busy(mentee)
    if names := _not_again(mentee, ids):
        raise DomainError(
            f"Your program team has asked that you not be paired with {names} again. "
            "Please choose another mentor."
        )
    if names := _said_no_names(mentee, ids):
        raise DomainError(
            f"{names} can't be asked again: they declined an earlier request from you, or your "
            "pairing with them ended. Please choose another mentor."
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
        raise DomainError("None of the mentors you chose has room any more. Please choose again.")

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
    raise DomainError("None of the mentors you chose has room any more. Please choose again.")


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
        raise DomainError("You already have a request waiting for an answer.") from None
    leave_on_engagement([mentee.pk])
    request.program, request.mentee, request.mentor = program, mentee, mentor
    return request


@transaction.atomic
def request_withdraw(*, mentee: Participant, request_id: int) -> MentorRequest:
    """The mentee takes back a pending request (from their preference link)."""
    request = MentorRequest.objects.filter(pk=request_id, mentee=mentee).first()
    if request is None:
        raise DomainError("There is no such request.")
    lock_participants([request.mentor_id])
    now = timezone.now()
    if not _settle(request.pk, Status.WITHDRAWN, now, live=True):
        raise _lost_or_late(request.pk, now, can_no_longer="be withdrawn")
    request = _reload(request.pk)
    # Withdrawing a seat's offer keeps the mentee's place on the waitlist.
    back_in_line([(request.pk, Status.WITHDRAWN)], now=now, email=False)
    seats_offer(program=request.program, mentor_ids=[request.mentor_id], now=now)
    return request


# --- The mentor's decision ---------------------------------------------------------


def _check_link(link: AccessLink | None, request: MentorRequest, purpose: str) -> None:
    if link is None:
        return
    if (
        link.purpose != purpose
        or link.object_id != request.pk
        or link.participant_id != request.mentor_id
    ):
        raise DomainError("This link can't be used.")


@transaction.atomic
def request_approve(*, request_id: int, link: AccessLink | None = None, user=None) -> Pairing:
    """The mentor says yes: pairing + Mentorship Assignments to both, or an error."""
    ids = MentorRequest.objects.filter(pk=request_id).values_list("mentor_id", "mentee_id").first()
    if ids is None:
        raise DomainError("There is no such request.")
    mentor_id = ids[0]
    mentor = lock_participants(ids)[mentor_id]  # and the mentee's row
    request = _reload(request_id)
    _check_link(link, request, Purpose.APPROVE)
    now = timezone.now()
    _refuse_unless_live(request, now)
    if mentor.role != Participant.Role.MENTOR:
        raise DomainError(
            "You are no longer a mentor in this program, so this request can't be approved."
        )
    if _not_again(request.mentee, [mentor.pk]):
        raise DomainError(
            f"Your program team has asked that you and {request.mentee.full_name} not be "
            "paired again, so this request can't be approved. You can decline it instead."
        )
    active = active_pairings_of(mentor.pk)
    if active >= mentor.capacity:
        raise DomainError(
            f"You already mentor {mentor.capacity} "
            f"{'person' if mentor.capacity == 1 else 'people'}, the most this program has "
            "you down for, so this request can't be approved. You can decline it instead, "
            "or ask your program team to raise your capacity."
        )
    _refuse_if_held(
        mentor,
        request.mentee_id,
        active,
        "Your program team is reviewing an automatic pairing that uses your remaining "
        f"{'seat' if mentor.capacity == 1 else 'seats'}, so this request can't be approved "
        "right now. You can decline it instead, or ask your program team.",
    )
    if not _settle(request.pk, Status.APPROVED, now, live=True, decided_by=user):
        raise _lost(request.pk)
    if link is not None and not link_use(link):
        raise _lost(request.pk)
    request.status, request.decided_at = Status.APPROVED, now
    pairing = _pair(
        program=request.program,
        mentee=request.mentee,
        mentor=mentor,
        origin=Pairing.Origin.REQUEST,
        now=now,
        request=request,
        user=user,
    )
    requests_close_full(mentor_ids=[mentor.pk], now=now)
    return pairing


@transaction.atomic
def request_decline(
    *,
    request_id: int,
    message: str = "",
    unavailable: bool = False,
    link: AccessLink | None = None,
    user=None,
) -> MentorRequest:
    """The mentor says no, optionally with a message and "I'm unavailable for now"."""
    message = message.strip()
    if len(message) > MESSAGE_MAX:
        raise DomainError(f"Keep the message to {MESSAGE_MAX} characters.")
    mentor_id = MentorRequest.objects.filter(pk=request_id).values_list("mentor_id", flat=True)
    mentor_id = mentor_id.first()
    if mentor_id is None:
        raise DomainError("There is no such request.")
    lock_participants([mentor_id])
    request = _reload(request_id)
    _check_link(link, request, Purpose.DECLINE)
    now = timezone.now()
    _refuse_unless_live(request, now)
    if not _settle(
        request.pk, Status.DECLINED, now, live=True, decline_message=message, decided_by=user
    ):
        raise _lost(request.pk)
    if link is not None and not link_use(link):
        raise _lost(request.pk)
    if unavailable:
        # Stops new requests only; the mentor's current pairings go on.
        Participant.objects.filter(pk=mentor_id).update(accepting_requests=False)
    request.status, request.decided_at, request.decline_message = Status.DECLINED, now, message
    _after_ending([request], now=now)
    if unavailable:
        requests_close_full(mentor_ids=[mentor_id], now=now)
    else:
        seats_offer(program=request.program, mentor_ids=[mentor_id], now=now)
    return request


# --- After a decline or an expiry --------------------------------------------------


def _after_ending(
    requests: Sequence[MentorRequest],
    *,
    now: datetime,
    new_requests: list[MentorRequest] | None = None,
) -> None:
    """Tell each mentee, or pass the request on to their next choice (program setting).

    Called inside the transaction that ended the requests; `requests` carry
    their program, organization, mentee and mentor. new_requests: the caller
    writes the mentors' emails for the requests passed on (together with
    others of the same event); without it they are written here.
    """
    choose_again: dict[int, list[_Ended]] = defaultdict(list)
    forwarded: dict[int, list[MentorRequest]] = defaultdict(list)
    programs: dict[int, Program] = {}
    # A seat's offer from the waitlist: its mentee is back in line instead.
    offers = back_in_line([(r.pk, r.status) for r in requests], now=now)
    for request in requests:
        if request.pk in offers:
            continue
        programs[request.program_id] = request.program
        new = _forward(request, now=now) if _forwards(request.program) else None
        if new is None:
            choose_again[request.program_id].append(_Ended.of(request))
        elif new is not _ALREADY_PAIRED:
            forwarded[request.program_id].append(new)
    for program_id, ended in choose_again.items():
        _choose_again_emails(programs[program_id], ended, now=now)
    passed_on = [r for new in forwarded.values() for r in new]
    if new_requests is not None:
        new_requests += passed_on
    else:
        _mentor_emails(passed_on, event="forward")


def _mentor_emails(requests: Sequence[MentorRequest], *, event: str) -> None:
    """The mentors' emails for requests made in one event: one per mentor (a sweep may
    pass two expired requests to the same next mentor, and offer them a seat too)."""
    by_program: dict[int, list[MentorRequest]] = defaultdict(list)
    for request in requests:
        by_program[request.program_id].append(request)
    for new in by_program.values():
        outbox_add(
            request_drafts(new, event=f"{event}-{min(r.pk for r in new)}"),
            program=new[0].program,
        )


def _forwards(program: Program) -> bool:
    """Does an ended request of this program pass to the mentee's next choice?"""
    return program.after_decline == AfterDecline.NEXT_CHOICE and program.pairing_enabled


@dataclass(frozen=True)
class _Ended:
    """What the choose-again email needs of an ended request."""

    pk: int
    status: str
    decline_message: str
    mentee_id: int
    mentee_first_name: str
    mentee_name: str
    mentee_email: str
    mentor_name: str

    @classmethod
    def of(cls, request: MentorRequest) -> "_Ended":
        return cls(
            pk=request.pk,
            status=request.status,
            decline_message=request.decline_message,
            mentee_id=request.mentee_id,
            mentee_first_name=request.mentee.first_name,
            mentee_name=request.mentee.full_name,
            mentee_email=request.mentee.email,
            mentor_name=request.mentor.full_name,
        )


def _preference_links(program: Program, mentee_ids: Sequence[int], now: datetime) -> list[str]:
    """New preference links for these mentees, written in one statement; their URLs."""
    expires_at = now + PREFERENCES_VALID_FOR
    return links_bulk(
        [(Purpose.PREFERENCES, program.pk, mentee_id, None, expires_at) for mentee_id in mentee_ids]
    )


def _choose_again_emails(program: Program, ended: Sequence[_Ended], *, now: datetime) -> None:
    """The declined, expired or cancelled email to each mentee, with a new link to the form."""
    urls = _preference_links(program, [e.mentee_id for e in ended], now)
    common = {"program_name": program.name, "organization_name": program.organization.name}
    drafts = []
    for request, url in zip(ended, urls, strict=True):
        values = {
            **common,
            "first_name": request.mentee_first_name,
            "mentor_name": request.mentor_name,
            "preferences_link": url,
        }
        if request.status == Status.DECLINED:
            kind, key = EmailKind.REQUEST_DECLINED, f"request-declined:{request.pk}"
            values["decline_message"] = request.decline_message or "(no message)"
        elif request.status == Status.CANCELLED:
            kind, key = EmailKind.REQUEST_CANCELLED, f"request-cancelled:{request.pk}"
        elif request.status == Status.CLOSED:
            kind, key = EmailKind.REQUEST_CLOSED, f"request-closed:{request.pk}"
        else:
            kind, key = EmailKind.REQUEST_EXPIRED, f"request-expired:{request.pk}"
        drafts.append(
            Draft(
                kind=kind,
                key=key,
                to_email=request.mentee_email,
                to_name=request.mentee_name,
                values=values,
            )
        )
    outbox_add(drafts, program=program)


# _forward's answer when the mentee turned out to be paired already (nothing to say).
_ALREADY_PAIRED: MentorRequest = object()  # type: ignore[assignment]


def _forward(request: MentorRequest, *, now: datetime) -> MentorRequest | None:
    """Pass an ended request to the mentee's next ranked mentor still available; the new
    request (the caller writes its mentor's email), or None.

    The mentee's and the next mentor's rows are locked, but only if free
    (SKIP LOCKED): our caller already holds the ended request's row and
    perhaps its mentor's, and whoever holds the mentee (a submit, a hand
    pairing) or the next mentor may be waiting for one of those. The mentor's
    lock keeps anyone from taking their last seat while the request is made.
    None when nobody is left or the mentee is busy elsewhere: the caller
    then asks the mentee to choose again. _ALREADY_PAIRED when the mentee
    turned out to be paired already (nothing to say).
    """
    program = request.program
    free = Participant.objects.select_for_update(skip_locked=True, no_key=True).filter(
        pk=request.mentee_id
    )
    if not list(free.values_list("pk", flat=True)):
        return None
    if Pairing.objects.filter(mentee_id=request.mentee_id).active().exists():
        return _ALREADY_PAIRED
    later = list(
        MentorPreference.objects.filter(mentee_id=request.mentee_id, rank__gt=request.rank)
        .order_by("rank")
        .values_list("mentor_id", "rank")
    )
    if not later:
        return None
    available = _available_mentor_ids(
        program, [mentor_id for mentor_id, _ in later], mentee_id=request.mentee_id
    )
    for mentor_id, rank in later:
        if mentor_id not in available:
            continue
        # The mentor's row, without waiting (our caller may hold another
        # mentor's row, and that mentor's holder may be waiting for us):
        # someone holding it may be filling their last seat.
        mentor = (
            Participant.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(pk=mentor_id)
            .first()
        )
        if mentor is None or not _has_room(mentor, request.mentee_id):
            continue
        try:
            new = _create_request(
                program=program,
                mentee=request.mentee,
                mentor=mentor,
                rank=rank,
                note=request.note,
                now=now,
            )
        except DomainError:
            return None
        outbox_add(
            [
                Draft(
                    kind=EmailKind.REQUEST_FORWARDED,
                    key=f"request-forwarded:{request.pk}",
                    to_email=request.mentee.email,
                    to_name=request.mentee.full_name,
                    values={
                        **common_values(program, request.mentee),
                        "mentor_name": request.mentor.full_name,
                        "next_mentor_name": mentor.full_name,
                        "deadline": deadline_label(new.expires_at, program.organization.timezone),
                        "preferences_link": preferences_url(request.mentee, now),
                    },
                ),
            ],
            program=program,
        )
        return new
    return None


# --- The sweeper ---------------------------------------------------------------------


def requests_expire_due(*, now: datetime | None = None, limit: int = SWEEP_LIMIT) -> dict[str, int]:
    """Expire every pending request past its deadline, and write the emails.

    Safe to run twice or concurrently: the UPDATE is compare-and-set (a
    second sweep finds the rows no longer pending and leaves them), and each
    email has its own idempotency key. The emails are outbox rows
    written in the same transaction as the expiry.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = _claim_and_expire(now, limit)
        if not due:
            return {"expired": 0}
        _after_expiry(due, now=now)
    return {"expired": len(due)}


# What the sweep returns of each request it expired: the row's own columns.
_EXPIRED_FIELDS = ("pk", "program_id", "mentee_id", "mentor_id")
_Expired = tuple[int, int, int, int]


def _after_expiry(rows: Sequence[_Expired], *, now: datetime) -> None:
    """The emails for requests this sweep expired (thousands at a time).

    Programs that pass an ended request to the mentee's next choice go
    through `_after_ending` one request at a time (each one may create a new
    request); for the others, the expired emails are written in bulk from the
    rows the sweep returned and their people's names and addresses, read by
    primary key (the requests are not read again: at thousands of ids the
    planner would rather scan the whole requests table).
    """
    programs = Program.objects.select_related("organization").in_bulk({r[1] for r in rows})
    # Seats' offers from the waitlist: their mentees are back in line instead.
    offers = back_in_line([(row[0], Status.EXPIRED) for row in rows], now=now)
    back = {row[2] for row in rows if row[0] in offers}
    forward = [
        pk for pk, program_id, _, _ in rows if _forwards(programs[program_id]) and pk not in offers
    ]
    told = [row for row in rows if not _forwards(programs[row[1]]) and row[0] not in offers]
    people = {
        pk: (first, last, email)
        for pk, first, last, email in Participant.objects.filter(
            pk__in={row[2] for row in told} | {row[3] for row in told}
        )
        .order_by()
        .values_list("pk", "first_name", "last_name", "email")
    }
    new_requests: list[MentorRequest] = []
    expired: dict[int, list[_Ended]] = defaultdict(list)
    for pk, program_id, mentee_id, mentor_id in told:
        first, last, email = people[mentee_id]
        mentor_first, mentor_last, _ = people[mentor_id]
        expired[program_id].append(
            _Ended(
                pk=pk,
                status=Status.EXPIRED,
                decline_message="",
                mentee_id=mentee_id,
                mentee_first_name=first,
                mentee_name=f"{first} {last}".strip(),
                mentee_email=email,
                mentor_name=f"{mentor_first} {mentor_last}".strip(),
            )
        )
    if forward:
        ended = MentorRequest.objects.filter(pk__in=forward).select_related(
            "mentee", "mentor", "program", "program__organization"
        )
        _after_ending(list(ended.order_by("pk")), now=now, new_requests=new_requests)
    for program_id, ended in expired.items():
        _choose_again_emails(programs[program_id], ended, now=now)
    # Each expiry gives its mentor's seat back to the waitlist. The sweep
    # holds no mentor: seats_offer takes those nobody holds.
    mentors: dict[int, set[int]] = defaultdict(set)
    for _, program_id, _, mentor_id in rows:
        mentors[program_id].add(mentor_id)
    for program_id, mentor_ids in mentors.items():
        # Mentees just back in line are offered a seat after this commits, in
        # an event (and an email) of their own.
        seats_offer(
            program=programs[program_id],
            mentor_ids=mentor_ids,
            now=now,
            new_requests=new_requests,
            skip_mentees=back,
        )
    # One email per mentor for the whole sweep: passed on to them, offered to them.
    _mentor_emails(new_requests, event="expiry")


def _claim_and_expire(now: datetime, limit: int) -> list[_Expired]:
    """Expire the due pending requests (up to `limit`); the expired rows, by id.

    The due requests are found in PendingRequest by deadline and changed by
    compare-and-set (still pending, deadline passed); the database's trigger
    then deletes their PendingRequest rows. No index of the requests table
    mentions status, so each change is made in place on its page.

    Concurrent sweeps: the UPDATE locks each row it changes; a second sweep
    that meets a row the first one holds waits for it, then finds it no
    longer pending and leaves it. A person deciding at the same moment is
    the same race, won by whoever locks the row first. The request row is
    always locked before its PendingRequest row (by the trigger), as in
    every other status change, so these never deadlock.
    """
    due = (
        PendingRequest.objects.filter(expires_at__lte=now)
        .order_by("expires_at")
        .values("request_id")[:limit]
    )
    if connection.vendor == "postgresql":
        # One statement, the due ids in an array (the planner then looks
        # each one up by primary key rather than joining the whole table).
        table = MentorRequest._meta.db_table
        due_sql, due_params = due.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {table} SET status = %s, decided_at = %s
                    WHERE id = ANY(ARRAY({due_sql})) AND status = %s AND expires_at <= %s
                    RETURNING id, program_id, mentee_id, mentor_id""",  # noqa: S608 - our table and query
                [Status.EXPIRED, now, *due_params, Status.PENDING, now],
            )
            return sorted(cursor.fetchall())
    ids = list(due.values_list("request_id", flat=True))
    MentorRequest.objects.filter(pk__in=ids, status=Status.PENDING, expires_at__lte=now).update(
        status=Status.EXPIRED, decided_at=now
    )
    return list(
        MentorRequest.objects.filter(pk__in=ids, status=Status.EXPIRED, decided_at=now)
        .order_by("pk")
        .values_list(*_EXPIRED_FIELDS)
    )


def requests_remind_due(*, now: datetime | None = None, limit: int = SWEEP_LIMIT) -> dict[str, int]:
    """Remind mentors once, when the last business day before a deadline begins."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            MentorRequest.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                pk__in=PendingRequest.objects.filter(
                    expires_at__gt=now, expires_at__lte=now + REMIND_BEFORE
                ).values("request_id"),
                status=Status.PENDING,
                reminder_sent_at__isnull=True,
                created_at__lte=now - REMIND_MIN_AGE,
                program__request_reminders=True,
            )
            .order_by("expires_at")
            .values_list("pk", flat=True)[:limit]
        )
        if not due:
            return {"reminded": 0}
        MentorRequest.objects.filter(pk__in=due, reminder_sent_at__isnull=True).update(
            reminder_sent_at=now
        )
        by_program: dict[int, list[Draft]] = defaultdict(list)
        programs = {}
        for request in MentorRequest.objects.filter(pk__in=due).select_related(
            "mentee", "mentor", "program", "program__organization"
        ):
            programs[request.program_id] = request.program
            by_program[request.program_id].append(
                request_draft(
                    request, kind=EmailKind.REQUEST_REMINDER, key=f"request-reminder:{request.pk}"
                )
            )
        for program_id, drafts in by_program.items():
            outbox_add(drafts, program=programs[program_id])
    return {"reminded": len(due)}


# --- Admin actions -------------------------------------------------------------------


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


# --- Seats ----------------------------------------------------------------------------


def _full(mentor_ids: Sequence[int]) -> list[int]:
    """Of these people, those no request may wait for: not a mentor (any more), not
    accepting requests ("unavailable for now"), or as many active pairings as seats."""
    rows = list(
        Participant.objects.filter(pk__in=list(mentor_ids)).values_list(
            "pk", "role", "capacity", "accepting_requests"
        )
    )
    active = dict(
        Pairing.objects.filter(mentor_id__in=[r[0] for r in rows])
        .active()
        .order_by()
        .values("mentor_id")
        .annotate(n=Count("pk"))
        .values_list("mentor_id", "n")
    )
    return [
        pk
        for pk, role, capacity, accepting in rows
        if role != Participant.Role.MENTOR or not accepting or active.get(pk, 0) >= capacity
    ]


def requests_close_full(*, mentor_ids: Sequence[int], now: datetime | None = None) -> int:
    """End every pending request to a mentor among these who has no free seat left.

    Called in the transaction that took the last seat (an approval, a pairing
    without approval or by hand, auto-pair confirm, a lower capacity,
    "unavailable for now"), which holds the mentors' rows: no request can be
    made for them meanwhile, so none is left waiting for a seat that is gone.
    Each closed request goes where a decline goes under the program's setting
    (the next choice, or an email to choose again). Returns how many closed.
    """
    now = now or timezone.now()
    full = _full(mentor_ids)
    if not full:
        return 0
    ids = list(
        PendingRequest.objects.filter(mentor_id__in=full).values_list("request_id", flat=True)
    )
    if not ids:
        return 0
    MentorRequest.objects.filter(pk__in=ids, status=Status.PENDING).update(
        status=Status.CLOSED, decided_at=now
    )
    closed = list(
        MentorRequest.objects.filter(pk__in=ids, status=Status.CLOSED, decided_at=now)
        .select_related("mentee", "mentor", "program", "program__organization")
        .order_by("pk")
    )
    _after_ending(closed, now=now)
    return len(closed)


def seats_changed(
    *, program: Program, mentor_ids: Sequence[int], now: datetime | None = None
) -> None:
    """After a mentor's seats changed (capacity, availability, role, a new mentor): close
    the requests of those now full, and offer the free seats of the others to the waitlist.

    Registered on programs.hooks.mentors_changed. The admin's edit and the
    import lock a mentor whose seats they take away (pairing.engagement), so
    no request can be made for them meanwhile; seats they add are offered
    under locks taken without waiting.
    """
    now = now or timezone.now()
    # Someone who became a mentor no longer waits for one.
    WaitlistEntry.objects.filter(mentee_id__in=list(mentor_ids)).exclude(
        mentee__role=Participant.Role.MENTEE
    ).delete()
    requests_close_full(mentor_ids=mentor_ids, now=now)
    seats_offer(program=program, mentor_ids=mentor_ids, now=now)
