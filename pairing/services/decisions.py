"""The mentor's decision on a request: approve (a pairing) or decline.
Lock order and compare-and-set: docs/concurrency.md.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext

from pairing.models import MentorRequest, Pairing
from pairing.seats import active_pairings_of
from pairing.services._common import (
    Status,
    _lost,
    _not_again,
    _pair,
    _refuse_if_held,
    _refuse_unless_live,
    _reload,
    _settle,
)
from pairing.services.forwarding import _after_ending
from pairing.services.sweeps import requests_close_full
from pairing.waitlist import seats_offer
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.links import Purpose, link_use
from pairing_admin.mail.models import AccessLink
from programs.models import Participant
from programs.services import lock_participants

MESSAGE_MAX = 1000


# Either of a request's two emailed links may decide it: its page offers the other choice
# too ("Decline instead"), and only an explicit POST from the page acts (docs/security.md).
REQUEST_LINKS = (Purpose.APPROVE, Purpose.DECLINE)


def _check_link(link: AccessLink | None, request: MentorRequest) -> None:
    if link is None:
        return
    if (
        link.purpose not in REQUEST_LINKS
        or link.object_id != request.pk
        or link.participant_id != request.mentor_id
    ):
        raise DomainError(gettext("This link can't be used."))


def _full(capacity: int) -> str:
    return ngettext(
        "You already mentor %(count)d person, the most this program has you down for, so "
        "this request can't be approved. You can decline it instead, or ask your program "
        "team to raise your capacity.",
        "You already mentor %(count)d people, the most this program has you down for, so "
        "this request can't be approved. You can decline it instead, or ask your program "
        "team to raise your capacity.",
        capacity,
    ) % {"count": capacity}


@transaction.atomic
def request_approve(*, request_id: int, link: AccessLink | None = None, user=None) -> Pairing:
    """The mentor says yes: pairing + Mentorship Assignments to both, or an error."""
    ids = MentorRequest.objects.filter(pk=request_id).values_list("mentor_id", "mentee_id").first()
    if ids is None:
        raise DomainError(gettext("There is no such request."))
    mentor_id = ids[0]
    mentor = lock_participants(ids)[mentor_id]  # and the mentee's row
    request = _reload(request_id)
    _check_link(link, request)
    now = timezone.now()
    _refuse_unless_live(request, now)
    if mentor.role != Participant.Role.MENTOR:
        raise DomainError(
            gettext(
                "You are no longer a mentor in this program, so this request can't be approved."
            )
        )
    if _not_again(request.mentee, [mentor.pk]):
        raise DomainError(
            gettext(
                "Your program team has asked that you and %(name)s not be paired again, so "
                "this request can't be approved. You can decline it instead."
            )
            % {"name": request.mentee.full_name}
        )
    active = active_pairings_of(mentor.pk)
    if active >= mentor.capacity:
        raise DomainError(_full(mentor.capacity))
    _refuse_if_held(
        mentor,
        request.mentee_id,
        active,
        ngettext(
            "Your program team is reviewing an automatic pairing that uses your remaining "
            "seat, so this request can't be approved right now. You can decline it instead, "
            "or ask your program team.",
            "Your program team is reviewing an automatic pairing that uses your remaining "
            "seats, so this request can't be approved right now. You can decline it instead, "
            "or ask your program team.",
            mentor.capacity,
        ),
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
        raise DomainError(
            gettext("Keep the message to %(max)s characters.")
            % {"max": number_format(MESSAGE_MAX, force_grouping=True)}
        )
    mentor_id = MentorRequest.objects.filter(pk=request_id).values_list("mentor_id", flat=True)
    mentor_id = mentor_id.first()
    if mentor_id is None:
        raise DomainError(gettext("There is no such request."))
    lock_participants([mentor_id])
    request = _reload(request_id)
    _check_link(link, request)
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
