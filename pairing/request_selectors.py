"""Reads for mentor requests: the preference form's mentors, a mentee's state, the admin list."""

from dataclasses import dataclass

from django.core.paginator import Page
from django.db.models import (
    BooleanField,
    Case,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Greatest

from pairing import seats, unpaired
from pairing.models import AutoPairProposal, AutoPairRun, MentorRequest, Pairing, RequestCount
from pairing_admin.lib.pagination import page_by_ids
from pairing_admin.lib.search import search_words, words_filter
from programs.models import Participant, Program
from programs.selectors import NAME_FIELDS

PAGE_SIZE = 50

MENTOR_FIELDS = (
    "id",
    "program_id",
    "first_name",
    "last_name",
    "title",
    "department",
    "location",
    "bio",
    "capacity",
)


def _mentors(
    program: Program, *, include_unavailable: bool, except_mentee_id: int | None = None
) -> QuerySet[Participant]:
    qs = Participant.objects.mentors().filter(program=program)
    if not include_unavailable:
        qs = qs.filter(accepting_requests=True)
    return seats.with_load(qs, program, except_mentee_id=except_mentee_id)


def mentors_with_room(
    program: Program, *, include_unavailable: bool = False, for_mentee_id: int | None = None
) -> QuerySet[Participant]:
    """Mentors who accept requests and have room now (one query).

    Room: capacity minus active pairings and the seats a staged auto-pair run
    holds; for_mentee_id: the seat held by that mentee's own proposal is
    theirs to take (as pairing.services counts it). include_unavailable: also
    those who said "I'm unavailable for now" (an admin pairing by hand may
    still choose them). "Do not pair again" is per mentee and not applied here.
    """
    return (
        _mentors(program, include_unavailable=include_unavailable, except_mentee_id=for_mentee_id)
        .filter(capacity__gt=F("active") + F("held"))
        .only(*MENTOR_FIELDS)
    )


def mentors_with_room_for_some(program: Program) -> QuerySet[Participant]:
    """mentors_with_room, plus those whose last seats a staged run holds (one query).

    `open_to_all` says which have room for anyone; the others have room only
    for a mentee the run proposes for them (their own proposal frees one seat,
    and a mentee has one proposal per run). The preference form's shared pool is
    built from this, and each mentee's own proposal applied per mentee.
    """
    return (
        _mentors(program, include_unavailable=False)
        # capacity >= active + held, and > active: one comparison, so the
        # active count is worked out once per mentor.
        .filter(capacity__gt=F("active") + Greatest(F("held") - 1, 0))
        .annotate(
            # CASE keeps the common case cheap: without held seats, the active
            # count is not worked out a second time.
            open_to_all=Case(
                When(held=0, then=Value(True)),
                default=ExpressionWrapper(Q(capacity__gt=F("active") + F("held")), BooleanField()),
                output_field=BooleanField(),
            )
        )
        .only(*MENTOR_FIELDS)
    )


def own_proposals(mentee_id: int) -> QuerySet[AutoPairProposal]:
    """The staged auto-pair proposal for this mentee (at most one: one open run per program)."""
    return AutoPairProposal.objects.filter(
        mentee_id=mentee_id, run__status=AutoPairRun.Status.STAGED
    )


def do_not_pair_again(mentee_id: int) -> QuerySet[Pairing]:
    """The mentee's ended pairings an admin marked "do not pair again".

    The rule auto-pair applies (do_not_pair_again_pairs below, and
    pairing.autopair.review.blocked_mentor_ids) on the same rows: their
    `mentor_id`s are not offered to this mentee on the preference form, not
    requested (forwarding included) and not paired with them by hand.
    """
    return Pairing.objects.filter(mentee_id=mentee_id, do_not_pair_again=True)


def said_no(mentee_id: int, field: str = "pk") -> Q:
    """Mentors not to offer this mentee again: those who declined them, and those
    whose pairing with them ended (a mentee belongs to one program, so this is
    "in this program"). A filter on `field` (a mentor id), to exclude.

    The preference form leaves them out, the submit refuses them, forwarding to
    the next choice and the waitlist skip them. An admin may still pair them by
    hand (with a warning).
    """
    declined = MentorRequest.objects.filter(
        mentee_id=mentee_id, status=MentorRequest.Status.DECLINED
    ).values("mentor_id")
    ended = Pairing.objects.filter(mentee_id=mentee_id, status=Pairing.Status.ENDED).values(
        "mentor_id"
    )
    return Q(**{f"{field}__in": declined}) | Q(**{f"{field}__in": ended})


def said_no_pairs(mentee_ids) -> set[tuple[int, int]]:
    """(mentee id, mentor id) of said_no_mentor_ids, for many mentees in two queries."""
    ids = list(mentee_ids)
    declined = MentorRequest.objects.filter(
        mentee_id__in=ids, status=MentorRequest.Status.DECLINED
    ).values_list("mentee_id", "mentor_id")
    ended = Pairing.objects.filter(mentee_id__in=ids, status=Pairing.Status.ENDED).values_list(
        "mentee_id", "mentor_id"
    )
    return set(declined) | set(ended)


def do_not_pair_again_pairs(program: Program) -> set[tuple[int, int]]:
    """(mentee id, mentor id) pairs an admin said never to pair again in this program:
    what auto-pair leaves out when it builds a run and when it confirms one."""
    return set(
        Pairing.objects.filter(program=program, do_not_pair_again=True).values_list(
            "mentee_id", "mentor_id"
        )
    )


@dataclass(frozen=True)
class MenteeState:
    pairing: Pairing | None
    pending: MentorRequest | None
    last_ended: MentorRequest | None


def mentee_state(mentee: Participant) -> MenteeState:
    """What the mentee's link should show first (three small queries)."""
    pairing = Pairing.objects.filter(mentee=mentee).active().select_related("mentor").first()
    requests = list(
        MentorRequest.objects.filter(mentee=mentee).select_related("mentor").order_by("-pk")[:1]
    )
    latest = requests[0] if requests else None
    pending = latest if latest and latest.status == MentorRequest.Status.PENDING else None
    ended = latest if latest and latest.status != MentorRequest.Status.PENDING else None
    return MenteeState(pairing=pairing, pending=pending, last_ended=ended)


def request_list(program: Program, *, status: str = "", query: str = "") -> QuerySet[MentorRequest]:
    """The admin's requests list: newest first, people and decider joined (one query)."""
    qs = MentorRequest.objects.filter(program=program).select_related(
        "mentee", "mentor", "decided_by"
    )
    if status == MentorRequest.Status.PENDING:
        # Through the pending requests' table: the requests table has no
        # index on status (pairing.models.PendingRequest says why).
        qs = qs.filter(waiting__program=program)
    elif status in MentorRequest.Status.values:
        qs = qs.filter(status=status)
    for word in search_words(query):
        qs = qs.filter(_either_side(program, word))
    return qs.order_by("-created_at", "-pk")


def _either_side(program: Program, word: str) -> Q:
    """Requests whose mentee or mentor has `word` in a name or the email.

    As words_filter over PAIR_NAME_FIELDS, but asked of the program's people
    once (their search index finds them) rather than of both sides of every request.
    """
    people = Participant.objects.filter(program=program).filter(words_filter(word, NAME_FIELDS))
    return Q(mentee__in=people.values("pk")) | Q(mentor__in=people.values("pk"))


def request_page(
    program: Program, *, status: str, query: str, counts: dict[str, int], page_number
) -> Page:
    """One page of request_list (50 rows), with `counts` (request_counts) as its
    count unless a search narrows it: a fixed number of queries at any size."""
    known = None
    if not query:
        known = counts[status] if status in counts else sum(counts.values())
    ids = request_list(program, status=status, query=query).values_list("pk", flat=True)
    rows = MentorRequest.objects.select_related("mentee", "mentor", "decided_by").order_by(
        "-created_at", "-pk"
    )
    return page_by_ids(ids, rows, PAGE_SIZE, page_number, count=known)


def request_counts(program: Program) -> dict[str, int]:
    """The program's requests per status, from the kept counts (one query of a few rows)."""
    rows = (
        RequestCount.objects.filter(program=program)
        .order_by()
        .values_list("status")
        .annotate(total=Sum("n"))
    )
    counts = dict.fromkeys(MentorRequest.Status.values, 0)
    counts.update({status: n for status, n in rows if status in counts})
    return counts


def unpaired_mentees(program: Program) -> QuerySet[Participant]:
    """The mentees an admin can pair by hand (those with a pending request too), by name."""
    return (
        unpaired.unpaired_mentees(program)
        .only("id", "first_name", "last_name", "email")
        .order_by("last_name", "first_name", "pk")
    )


def paired_before_pairs(program: Program) -> set[tuple[int, int]]:
    """(mentee id, mentor id) pairs whose pairing in this program has ended, for any reason:
    what auto-pair leaves out of a run unless the run allows pairs who were paired before.
    (A pair with an active pairing is never a candidate: its mentee is not unpaired.)"""
    return set(
        Pairing.objects.filter(program=program, status=Pairing.Status.ENDED).values_list(
            "mentee_id", "mentor_id"
        )
    )


def declined_pairs(program: Program) -> set[tuple[int, int]]:
    """(mentee id, mentor id) pairs where the mentor declined the mentee's request in this
    program: auto-pair never proposes them (said_no; an admin may still pair by hand)."""
    return set(
        MentorRequest.objects.filter(program=program, status=MentorRequest.Status.DECLINED)
        .order_by()
        .values_list("mentee_id", "mentor_id")
    )
