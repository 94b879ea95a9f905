"""After a request ends (declined, expired, cancelled, closed): pass it to the mentee's
next choice, or email them a link to choose again. Locks: docs/concurrency.md.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pairing.deadlines import deadline_label_for
from pairing.drafts import common_values, preferences_url, request_drafts
from pairing.email_kinds import EmailKind
from pairing.models import MentorPreference, MentorRequest, Pairing
from pairing.services._common import (
    AfterDecline,
    Status,
    _available_mentor_ids,
    _create_request,
    _has_room,
)
from pairing.waitlist import back_in_line
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.branding import program_name
from pairing_admin.mail.links import PREFERENCES_VALID_FOR, Purpose, links_bulk
from pairing_admin.mail.outbox import Draft, outbox_add
from programs.models import Participant, Program


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
    common = {"program_name": program_name(program), "organization_name": program.organization.name}
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
                        "deadline": deadline_label_for(new.expires_at, program),
                        "preferences_link": preferences_url(request.mentee, now),
                    },
                ),
            ],
            program=program,
        )
        return new
    return None
