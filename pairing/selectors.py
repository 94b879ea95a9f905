from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce

from invitations import selectors as invite_selectors
from invitations.models import Invitation
from pairing.models import (
    MenteeStanding,
    MentorRequest,
    PendingRequest,
    StandingCount,
    WaitlistEntry,
)
from pairing.unpaired import UNPAIRED, unpaired_mentees
from pairing.waitlist import entries as waitlist_entries
from pairing_admin.lib.pagination import page_by_ids
from pairing_admin.lib.search import search_words, words_filter
from programs.models import Participant, Program
from programs.selectors import PERSON_FIELDS, program_headcount

PAGE_SIZE = 50


def pairing_overview(program: Program) -> dict[str, int]:
    """What the pairing tabs can say before there are requests or pairings (one query)."""
    return program_headcount(program)


# --- Unpaired Mentees ------------------------------------------------------------------

NOT_INVITED = MenteeStanding.State.NOT_INVITED
INVITED = MenteeStanding.State.INVITED
PENDING = MenteeStanding.State.PENDING
SUB_TABS = {
    NOT_INVITED: "Not Invited by Admin",
    INVITED: "Invited",
    PENDING: "Request pending",
}


def unpaired_counts(program: Program) -> dict[str, int]:
    """How many mentees each sub-tab holds (MenteeStanding.state is each mentee's
    sub-tab), in one query of the few rows the database keeps per program and state."""
    rows = (
        StandingCount.objects.filter(program=program, state__in=UNPAIRED)
        .order_by()
        .values_list("state")
        .annotate(total=Sum("n"))
    )
    return {**dict.fromkeys(SUB_TABS, 0), **dict(rows)}


def _sub_tab_ids(program: Program, sub: str, query: str) -> QuerySet[MenteeStanding]:
    """The sub-tab's mentee ids in the order shown: a walk of the standings' index."""
    standing = MenteeStanding.objects.filter(program=program, state=sub)
    standing = standing.filter(words_filter(query, [f"participant__{f}" for f in PERSON_FIELDS]))
    return standing.order_by("last_name", "first_name", "participant").values_list(
        "participant", flat=True
    )


def unpaired_page(
    program: Program, *, sub: str, query: str = "", page_number=None, counts=None
) -> Page:
    """One page (50 rows) of a sub-tab, by name; a fixed number of queries at any size.

    The page's 50 ids come from the standings' index (it stops at the page),
    then their rows; `counts` (unpaired_counts) spares counting an unsearched
    sub-tab again. Invited rows carry their invitation (who, when, how many
    sends); pending rows their pending request, with the mentor and the deadline.
    """
    qs = Participant.objects.order_by("last_name", "first_name", "id")
    if sub != NOT_INVITED:
        qs = qs.select_related("invitation__invited_by")
    if sub == PENDING:
        qs = qs.prefetch_related(
            Prefetch(
                "requests_made",
                queryset=MentorRequest.objects.filter(
                    status=MentorRequest.Status.PENDING
                ).select_related("mentor"),
                to_attr="pending_requests",
            )
        )
    known = None if query or counts is None else counts[sub]
    ids = _sub_tab_ids(program, sub, query)
    return page_by_ids(ids, qs, PAGE_SIZE, page_number, count=known)


@dataclass(frozen=True)
class InviteAbility:
    can_invite: bool
    reason: str  # why the invite buttons are hidden, for the admin
    preparing_batch_id: int | None = None  # a large batch still being written


def invite_ability(program: Program) -> InviteAbility:
    if not program.is_user_led:
        return InviteAbility(
            False,
            "This program is admin-led: mentees are paired by auto-pair rather than invited "
            "to choose a mentor, so there is nobody to invite here.",
        )
    if not program.pairing_enabled:
        return InviteAbility(
            False, "Pairing is off. Turn on Pairing first: invitations go out only while it is on."
        )
    preparing = invite_selectors.preparing_batch(program)
    if preparing is not None:
        return InviteAbility(
            False,
            f"Invitations for {preparing[1]:,} mentees are being written and sent. You can "
            f"invite more mentees once they are all written.",
            preparing_batch_id=preparing[0],
        )
    return InviteAbility(True, "")


def unpaired_queryset(program: Program) -> QuerySet[Participant]:
    """The Unpaired Mentees export's rows: mentees without an active pairing, by name, with
    when they were invited and to whom a request of theirs is pending."""
    pending = PendingRequest.objects.filter(mentee=OuterRef("pk"))
    return (
        unpaired_mentees(program)
        .annotate(
            invited_at=Subquery(
                Invitation.objects.filter(mentee=OuterRef("pk")).values("invited_at")[:1]
            ),
            pending_to=Subquery(pending.values("mentor__email")[:1]),
        )
        .order_by("last_name", "first_name", "id")
    )


# --- The Waitlist tab --------------------------------------------------------------------


def _waitlist_search(qs: QuerySet, query: str, prefix: str = "") -> QuerySet:
    """Every word must match a name, the email or the department ("Ann Lee" finds Ann Lee)."""
    return qs.filter(words_filter(query, [prefix + field for field in PERSON_FIELDS]))


def _ahead() -> Coalesce:
    """How many entries of the program come before this one in offer order."""
    before = WaitlistEntry.objects.filter(program=OuterRef("program")).filter(
        Q(priority__gt=OuterRef("priority"))
        | Q(priority=OuterRef("priority"), joined_at__lt=OuterRef("joined_at"))
        | Q(priority=OuterRef("priority"), joined_at=OuterRef("joined_at"), pk__lt=OuterRef("pk"))
    )
    counted = before.order_by().values("program").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def waitlist_page(program: Program, *, query: str = "", page_number=None) -> Page:
    """One page (50 rows) of the waitlist in offer order, each entry with its `position`.

    A fixed number of queries at any size. Unsearched, a row's position is its
    place on the page; searched, each row counts the entries ahead of it, so
    "Ann Lee" shows where Ann Lee really stands.
    """
    named = Participant.objects.only("first_name", "last_name").order_by(
        "last_name", "first_name", "id"
    )
    qs = (
        waitlist_entries(program)
        .select_related("mentee", "added_by")
        .prefetch_related(Prefetch("wanted_mentors", queryset=named))
    )
    searched = bool(search_words(query))
    if searched:
        qs = _waitlist_search(qs, query, prefix="mentee__").annotate(ahead=_ahead())
    page = Paginator(qs, PAGE_SIZE).get_page(page_number)
    page.object_list = list(page.object_list)
    for place, entry in enumerate(page.object_list, start=page.start_index()):
        entry.position = entry.ahead + 1 if searched else place
    return page


def waiting_count(program: Program) -> int:
    return WaitlistEntry.objects.filter(program=program).count()


def add_candidates(program: Program, *, query: str = "") -> QuerySet[Participant]:
    """Mentees who could join: no active pairing, no pending request, not already waiting."""
    qs = unpaired_mentees(program, waiting=False).exclude(
        Exists(WaitlistEntry.objects.filter(mentee=OuterRef("pk")))
    )
    return _waitlist_search(qs, query).order_by("last_name", "first_name", "id")
