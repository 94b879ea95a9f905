"""The waitlist: mentees who found no mentor with room wait in order, and a seat that frees
is offered at once to the first of them who may take it (Admin-led programs: no offers).

An offer is a pending request with Approval (the mentee keeps their place until it ends:
back_in_line), a pairing without. Seats come from pairing.seats (requests and staged runs
count). Locks: whoever frees a seat holds the mentor's row; mentees are taken with SKIP
LOCKED, so one mentee is never offered twice; a waitlist row changes under its mentee's
lock, or, when an offer ends, under the ended request's (docs/concurrency.md).
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext

from pairing import matching
from pairing.deadlines import deadline_for_program, deadline_label_for
from pairing.drafts import assignments_drafts, common_values, new_links, request_drafts
from pairing.email_kinds import EmailKind
from pairing.models import (
    AutoPairProposal,
    AutoPairRun,
    MentorRequest,
    Pairing,
    PendingRequest,
    WaitlistEntry,
)
from pairing.request_selectors import do_not_pair_again, said_no
from pairing.seats import offerable_seats
from pairing.tasks import offer_program_waitlist
from pairing.verbs import Verb
from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.i18n import program_language
from pairing_admin.mail.links import PREFERENCES_VALID_FOR, Purpose
from pairing_admin.mail.outbox import Draft, outbox_add
from programs.match_weights import scheme_of
from programs.models import Participant, Program
from programs.questions import attach_answers, prime_answers
from programs.services import activity_record, lock_participants

Role = Participant.Role
# What the match score reads of a person's record (pairing.matching; answers come apart).
PROFILE = ("id", "department", "location")
# Waitlisted mentees read per round when offering seats: enough for the
# seats of a large sweep, small enough that their rows lock in one statement.
OFFER_CHUNK = 2000


# --- Reading ---------------------------------------------------------------------------


def entries(program: Program) -> QuerySet[WaitlistEntry]:
    """The program's waitlist in offer order (first = next to be offered a seat)."""
    return WaitlistEntry.objects.filter(program=program).order_by("-priority", "joined_at", "id")


def _behind(priority: int, joined_at: datetime, pk: int) -> Q:
    """Entries after this one in offer order."""
    return (
        Q(priority__lt=priority)
        | Q(priority=priority, joined_at__gt=joined_at)
        | Q(priority=priority, joined_at=joined_at, pk__gt=pk)
    )


def position_of(entry: WaitlistEntry) -> int:
    """1 for the first in line (one count query)."""
    behind_or_self = _behind(entry.priority, entry.joined_at, entry.pk) | Q(pk=entry.pk)
    return (
        WaitlistEntry.objects.filter(program_id=entry.program_id).exclude(behind_or_self).count()
        + 1
    )


def waiting_summary(program: Program) -> dict[str, int]:
    """How many wait and how many seats are free (a count and offerable_seats' reads)."""
    return {
        "waiting": WaitlistEntry.objects.filter(program=program).count(),
        "seats": sum(offerable_seats(program).values()),
    }


def mentors_to_name(mentee: Participant, program: Program, *, limit: int) -> list[dict]:
    """The mentee's best matches among the program's mentors, with room or not, for
    the waitlist form: [{"match": Match, "has_room": bool}], best first."""
    mentors = list(
        Participant.objects.mentors()
        .filter(program=program)
        .exclude(said_no(mentee.pk))
        .exclude(pk__in=do_not_pair_again(mentee.pk).values("mentor_id"))
        .values(*PROFILE, "first_name", "last_name", "title")
    )
    attach_answers(mentors)
    for mentor in mentors:
        mentor["pk"] = mentor["id"]
        mentor["full_name"] = f"{mentor['first_name']} {mentor['last_name']}".strip()
    ranked = matching.rank_mentors_for(mentee, mentors, scheme_of(program))[:limit]
    room = offerable_seats(program, [m.mentor["pk"] for m in ranked])
    return [{"match": m, "has_room": m.mentor["pk"] in room} for m in ranked]


# --- Joining and leaving ----------------------------------------------------------------


def _refuse_if_engaged(mentee: Participant, *, you: bool) -> None:
    """A paired or waiting mentee can't join; `you`: the mentee is reading, else an admin."""
    pairing = Pairing.objects.filter(mentee=mentee).active().select_related("mentor").first()
    if pairing is not None:
        names = {"mentee": mentee.full_name, "mentor": pairing.mentor.full_name}
        raise DomainError(
            gettext("You are already paired with %(mentor)s.") % names
            if you
            else gettext("%(mentee)s is already paired with %(mentor)s.") % names
        )
    pending = PendingRequest.objects.filter(mentee=mentee).select_related("mentor").first()
    if pending is not None:
        names = {"mentee": mentee.full_name, "mentor": pending.mentor.full_name}
        raise DomainError(
            gettext(
                "You are waiting for %(mentor)s to answer a request. "
                "Withdraw it first to join the waitlist."
            )
            % names
            if you
            else gettext(
                "%(mentee)s is waiting for %(mentor)s to answer a request. Cancel it first."
            )
            % names
        )


def _wanted(program: Program, mentee: Participant, mentor_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(int(i) for i in mentor_ids))
    if len(ids) > program.max_preferences:
        raise DomainError(
            ngettext(
                "Name only one mentor to wait for.",
                "Name up to %(count)d mentors to wait for.",
                program.max_preferences,
            )
            % {"count": program.max_preferences}
        )
    if not ids:
        return []
    ok = list(
        Participant.objects.mentors()
        .filter(program=program, pk__in=ids)
        .exclude(said_no(mentee.pk))
        .exclude(pk__in=do_not_pair_again(mentee.pk).values("mentor_id"))
        .values(*PROFILE)
    )
    if len(ok) != len(ids):
        raise DomainError(
            gettext("One of the mentors you named can't be chosen. Please name others.")
        )
    # A mentor the program's must-match rules rule out would never be offered.
    attach_answers(ok)
    eligible = matching.score_matrix([mentee], ok, scheme_of(program)).eligible[0]
    if not eligible.all():
        raise DomainError(
            gettext(
                "One of the mentors you named doesn't meet this program's must-match rules "
                "with you, so they could never be offered. Please name others."
            )
        )
    return ids


def waitlist_join(
    *,
    mentee: Participant,
    mentor_ids: Sequence[int] = (),
    user=None,
    first: bool = False,
    now: datetime | None = None,
) -> WaitlistEntry:
    """Put a mentee on the waitlist (the mentee from their link, or an admin: `user`).

    Joining again keeps the mentee's place and replaces the mentors they named.
    If a seat is free for them right now, it is offered at once.
    """
    now = now or timezone.now()
    with transaction.atomic():
        program = Program.objects.select_related("organization").get(pk=mentee.program_id)
        if not program.waitlist_on:
            raise DomainError(gettext("This program has no waitlist."))
        if user is None and not (program.pairing_enabled and program.is_user_led):
            raise DomainError(gettext("This program's waitlist is not open to sign-ups right now."))
        mentee = lock_participants([mentee.pk])[mentee.pk]
        if mentee.role != Role.MENTEE:
            raise DomainError(gettext("Only mentees can join the waitlist."))
        _refuse_if_engaged(mentee, you=user is None)
        wanted = _wanted(program, mentee, mentor_ids)
        entry, created = WaitlistEntry.objects.get_or_create(
            mentee=mentee,
            defaults={
                "program": program,
                "joined_at": now,
                "priority": 1 if first else 0,
                "added_by": user,
            },
        )
        moved_up = not created and first and entry.priority == 0
        if moved_up:
            entry.priority = 1
            entry.save(update_fields=["priority"])
        entry.wanted_mentors.set(wanted)
        if user is not None and (created or moved_up):
            activity_record(
                program=program,
                actor=user,
                verb=Verb.WAITLIST_ADDED,
                detail=mentee.full_name + (" (first in line)" if first else ""),
            )
    # Outside the join's transaction: the offer locks mentors, which must come
    # before the mentee's row in the lock order.
    seats_offer(program=program, now=now)
    return entry


def waitlist_leave(*, mentee: Participant, user=None) -> bool:
    """Take a mentee off the waitlist (themselves, or an admin); False if they were not on it."""
    with transaction.atomic():
        lock_participants([mentee.pk])
        entry = WaitlistEntry.objects.filter(mentee=mentee).first()
        if entry is None:
            return False
        entry.delete()
        if user is not None:
            activity_record(
                program=Program.objects.get(pk=mentee.program_id),
                actor=user,
                verb=Verb.WAITLIST_REMOVED,
                detail=mentee.full_name,
            )
    return True


def waitlist_put_first(
    *, program: Program, mentee_ids: Sequence[int], user=None, now: datetime | None = None
) -> None:
    """Put these mentees first on the waitlist (their pairing just ended early).

    Called by End Pairing inside its transaction: the mentees have just become
    free, so nothing else can be pairing them; those already waiting move up.
    """
    now = now or timezone.now()
    ids = list(dict.fromkeys(mentee_ids))
    WaitlistEntry.objects.filter(mentee_id__in=ids).update(priority=1)
    there = set(WaitlistEntry.objects.filter(mentee_id__in=ids).values_list("mentee_id", flat=True))
    WaitlistEntry.objects.bulk_create(
        [
            WaitlistEntry(program=program, mentee_id=pk, joined_at=now, priority=1, added_by=user)
            for pk in ids
            if pk not in there
        ]
    )


def leave_on_engagement(mentee_ids: Iterable[int]) -> None:
    """Mentees who got a pairing or a pending request leave the waitlist (callers hold
    their locks); called by every service that makes either."""
    ids = list(mentee_ids)
    WaitlistEntry.wanted_mentors.through.objects.filter(waitlistentry__mentee_id__in=ids).delete()
    # Nothing else points at an entry now: one DELETE, where the ORM's delete()
    # would read the rows and delete them 100 at a time.
    entries = WaitlistEntry.every.filter(mentee_id__in=ids)
    entries._raw_delete(entries.db)


# What the "back in line" email says happened to the offer.
_WHY_IT_ENDED = {
    MentorRequest.Status.DECLINED: gettext_lazy("they weren't able to take it"),
    MentorRequest.Status.EXPIRED: gettext_lazy("it lapsed without an answer"),
    MentorRequest.Status.CLOSED: gettext_lazy("their places filled before they could answer"),
    MentorRequest.Status.CANCELLED: gettext_lazy("your program team closed it"),
    MentorRequest.Status.WITHDRAWN: gettext_lazy("you withdrew it"),
}


def _why_it_ended(program, status: str) -> str:
    """The waitlist-returned email's "what happened", in the program's language."""
    with program_language(program):
        return str(_WHY_IT_ENDED.get(status, gettext_lazy("it ended")))


def back_in_line(
    requests: Sequence[tuple[int, str]], *, now: datetime, email: bool = True
) -> set[int]:
    """Requests a seat's offer made, ended without a pairing: their mentees are back
    on the waitlist where they were (the place and the mentors they named were kept).

    requests: (request id, its new status). Returns the ids that were offers, so
    the caller does not also pass them on or ask the mentee to choose again.
    email: the mentee is told (not when they withdrew it themselves).
    """
    status = dict(requests)
    held = list(
        WaitlistEntry.every.filter(offer_id__in=list(status)).select_related(
            "mentee", "offer__mentor", "program__organization"
        )
    )
    if not held:
        return set()
    WaitlistEntry.every.filter(pk__in=[e.pk for e in held]).update(offer=None)
    # Another mentor may have room for them now: offered right after this
    # commits, as an event of its own (this one's email says they are back in
    # line).
    for program_id in {entry.program_id for entry in held}:
        offer_program_waitlist.delay_on_commit(program_id)
    if email:
        by_program: dict[int, list[WaitlistEntry]] = defaultdict(list)
        for entry in held:
            by_program[entry.program_id].append(entry)
        for program_entries in by_program.values():
            program = program_entries[0].program
            links = new_links(
                Purpose.PREFERENCES,
                [
                    (program.pk, e.mentee_id, None, now + PREFERENCES_VALID_FOR)
                    for e in program_entries
                ],
            )
            outbox_add(
                [
                    Draft(
                        kind=EmailKind.WAITLIST_RETURNED,
                        key=f"waitlist-returned:{entry.offer_id}",
                        to_email=entry.mentee.email,
                        to_name=entry.mentee.full_name,
                        values={
                            **common_values(program, entry.mentee),
                            "mentor_name": entry.offer.mentor.full_name,
                            "what_happened": _why_it_ended(program, status[entry.offer_id]),
                            "preferences_link": link,
                        },
                    )
                    for entry, link in zip(program_entries, links, strict=True)
                ],
                program=program,
            )
    return {entry.offer_id for entry in held}


# --- Offering seats ---------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    mentee_id: int
    mentor_id: int
    request_id: int | None = None
    pairing_id: int | None = None


def _offers_on(program: Program) -> bool:
    return program.pairing_enabled and program.is_user_led and program.waitlist_on


def seats_offer(
    *,
    program: Program,
    mentor_ids: Iterable[int] | None = None,
    now: datetime | None = None,
    new_requests: list[MentorRequest] | None = None,
    skip_mentees: Iterable[int] = (),
) -> list[Offer]:
    """Offer the free seats of these mentors (None: every mentor of the program) to the
    waitlist, longest-waiting eligible mentee first, each mentee their best-scoring seat.

    The mentors' rows are locked with SKIP LOCKED: a caller that freed the
    seats already holds them (a transaction never skips its own locks), and a
    mentor someone else holds right now is theirs to offer, or the next sweep's.
    new_requests: the caller writes the mentors' emails for the requests made
    (with the others of its event); without it they are written here.
    skip_mentees: not offered a seat in this event.
    """
    if not _offers_on(program):
        return []
    now = now or timezone.now()
    with transaction.atomic():
        if not WaitlistEntry.objects.filter(program=program).exists():
            return []
        if mentor_ids is None:
            mentor_ids = offerable_seats(program)
        locked = (
            Participant.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(pk__in=sorted(mentor_ids))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        # Counted under the locks: nobody can take these seats meanwhile.
        seats = offerable_seats(program, list(locked))
        offers = _match(program, seats, skip=set(skip_mentees)) if seats else []
        return _make(program, offers, now, new_requests) if offers else []


def _engaged(mentee: str = "pk") -> Exists:
    """True for a mentee (the row's `mentee` field) with an active pairing or a pending
    request: an annotation, so the rows that need it say it in their own statement."""
    return Exists(Pairing.objects.filter(mentee=OuterRef(mentee)).active()) | Exists(
        PendingRequest.objects.filter(mentee=OuterRef(mentee))
    )


def _match(
    program: Program, seats: dict[int, int], *, skip: set[int] = frozenset()
) -> list[tuple[int, int]]:
    """(mentee id, mentor id) for the free seats: the waitlist in order, each mentee
    their best-scoring free seat among the mentors they may have.

    Only the mentees chosen are locked (SKIP LOCKED), and checked again under
    the lock: one that someone else holds (another seat's offer, their own
    submit) is passed over and the seat goes to the next in line. Locking
    more than the chosen would make a second offer running at the same
    moment skip mentees this one does not take.
    """
    scheme = scheme_of(program)
    mentor_ids = sorted(seats)
    mentors = list(Participant.objects.filter(pk__in=mentor_ids).order_by("pk").values(*PROFILE))
    attach_answers(mentors)
    column = {m["id"]: j for j, m in enumerate(mentors)}
    left = np.asarray([seats[m["id"]] for m in mentors], dtype=np.int64)
    remaining = int(left.sum())
    # Who may not have whom, for the whole line at once (joined on the
    # waitlist, for these mentors only: a handful of index lookups).
    blocked: dict[int, list[int]] = defaultdict(list)
    for mentee_id, mentor_id in _blocked_pairs(program, mentor_ids):
        blocked[mentee_id].append(column[mentor_id])
    # Read a few more mentees than seats: most are eligible.
    chunk = min(OFFER_CHUNK, max(64, remaining + remaining // 2))
    chosen: list[tuple[int, int]] = []
    queue = entries(program).filter(mentee__role=Role.MENTEE).annotate(engaged=_engaged("mentee"))
    fields = ("pk", "priority", "joined_at", "engaged", *(f"mentee__{f}" for f in PROFILE))
    last = None
    while remaining:
        page = queue if last is None else queue.filter(_behind(*last))
        rows = list(page.values_list(*fields)[:chunk])
        if not rows:
            break
        last = (rows[-1][1], rows[-1][2], rows[-1][0])
        people = [dict(zip(PROFILE, row[4:], strict=True)) for row in rows if not row[3]]
        if not people:
            continue
        order = [person["id"] for person in people]
        attach_answers(people)
        matrix = matching.score_matrix(people, mentors, scheme)
        # Whom each waits for (no row: any suitable mentor).
        wanted: dict[int, list[int]] = defaultdict(list)
        for mentee_id, mentor_id in (
            WaitlistEntry.wanted_mentors.through.objects.filter(
                waitlistentry_id__in=[row[0] for row in rows]
            )
            .order_by()
            .values_list("waitlistentry__mentee_id", "participant_id")
        ):
            wanted[mentee_id].append(column.get(mentor_id, -1))
        passed: set[int] = set()  # taken by someone else meanwhile, or chosen already
        while remaining:
            tentative = _assign(order, matrix, left, passed, blocked, wanted, remaining)
            if not tentative:
                break
            # A mentee skipped in this event keeps their turn: the seat they would
            # get stays free for the offer made to them after the commit, rather
            # than going to someone behind them.
            for mentee_id, j in [t for t in tentative if t[0] in skip]:
                passed.add(mentee_id)
                left[j] -= 1
                remaining -= 1
            tentative = [t for t in tentative if t[0] not in skip]
            if not tentative:
                continue
            got = set(
                Participant.objects.select_for_update(skip_locked=True, no_key=True)
                .filter(pk__in=[mentee_id for mentee_id, _ in tentative])
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            # Checked again in a statement of its own, begun after the locks were
            # granted: one that locked and checked together could read a snapshot
            # older than the commit that just released a mentee.
            if got:
                got -= set(
                    Participant.objects.filter(pk__in=got)
                    .filter(_engaged())
                    .values_list("pk", flat=True)
                )
            for mentee_id, j in tentative:
                passed.add(mentee_id)
                if mentee_id in got:
                    chosen.append((mentee_id, mentors[j]["id"]))
                    left[j] -= 1
                    remaining -= 1
    return chosen


def _assign(order, matrix, left, passed, blocked, wanted, limit) -> list[tuple[int, int]]:
    """Greedy in waitlist order: (mentee id, mentor column) for up to `limit` seats."""
    left = left.copy()
    out = []
    for i, mentee_id in enumerate(order):
        if mentee_id in passed:
            continue
        ok = matrix.eligible[i] & (left > 0)
        if mentee_id in wanted:
            named = np.zeros(len(left), dtype=bool)
            named[[j for j in wanted[mentee_id] if j >= 0]] = True
            ok &= named
        if mentee_id in blocked:
            ok[blocked[mentee_id]] = False
        if not ok.any():
            continue
        # Best score; between equals the lowest mentor id (argmax takes the first).
        j = int(np.argmax(np.where(ok, matrix.scores[i], -1.0)))
        out.append((mentee_id, j))
        left[j] -= 1
        if len(out) == limit:
            break
    return out


def _blocked_pairs(program: Program, mentor_ids: Sequence[int]) -> set[tuple[int, int]]:
    """(mentee, mentor) pairs never offered, between these mentors and anyone on the
    program's waitlist: the mentor declined them or let their request lapse, the
    request was withdrawn or cancelled, or their pairing ended (that includes "do not
    pair again")."""
    declined = (
        MentorRequest.objects.filter(
            mentor_id__in=mentor_ids,
            mentee__waitlist_entry__program=program,
            # Nor one who let a request lapse, nor one the mentee (or the program
            # team) took a request back from: the waitlist does not offer them again.
            status__in=[
                MentorRequest.Status.DECLINED,
                MentorRequest.Status.EXPIRED,
                MentorRequest.Status.WITHDRAWN,
                MentorRequest.Status.CANCELLED,
            ],
        )
        .order_by()
        .values_list("mentee_id", "mentor_id")
    )
    before = (
        Pairing.objects.filter(
            mentor_id__in=mentor_ids,
            mentee__waitlist_entry__program=program,
            status=Pairing.Status.ENDED,
        )
        .order_by()
        .values_list("mentee_id", "mentor_id")
    )
    return set(declined) | set(before)


def _make(
    program: Program,
    pairs: list[tuple[int, int]],
    now: datetime,
    new_requests: list[MentorRequest] | None = None,
) -> list[Offer]:
    """Requests (with Approval) or pairings (without) for the chosen pairs, and their emails."""
    ids = {pk for pair in pairs for pk in pair}
    mentee_ids = [mentee_id for mentee_id, _ in pairs]
    people = Participant.objects.only(
        "program_id", "first_name", "last_name", "email", "title", "department", "location",
    ).in_bulk(ids)  # fmt: skip
    prime_answers(people.values())
    drafts: list[Draft] = []
    offers: list[Offer] = []
    if program.pairing_process == Program.Process.USER_LED:
        leave_on_engagement(mentee_ids)
        created = Pairing.objects.bulk_create(
            [
                Pairing(
                    program=program,
                    mentee_id=mentee_id,
                    mentor_id=mentor_id,
                    origin=Pairing.Origin.WAITLIST,
                )
                for mentee_id, mentor_id in pairs
            ]
        )
        drafts += assignments_drafts(
            program,
            [(p.pk, people[p.mentee_id], people[p.mentor_id]) for p in created],
            now,
            event=f"waitlist-{created[0].pk}",
        )
        offers += [Offer(p.mentee_id, p.mentor_id, pairing_id=p.pk) for p in created]
        # Seats a staged auto-pair run held for these mentees elsewhere are free now.
        release_held(program=program, mentee_ids=[p.mentee_id for p in created], now=now)
    else:
        expires_at = deadline_for_program(now, program)
        created = MentorRequest.objects.bulk_create(
            [
                MentorRequest(
                    program=program,
                    mentee_id=mentee_id,
                    mentor_id=mentor_id,
                    rank=1,
                    expires_at=expires_at,
                )
                for mentee_id, mentor_id in pairs
            ]
        )
        for request in created:
            request.program = program
            request.mentee, request.mentor = people[request.mentee_id], people[request.mentor_id]
        # Each mentee's place is kept while their offer waits for the mentor:
        # their one pending request is the offer (one UPDATE, an index lookup each).
        WaitlistEntry.objects.filter(mentee_id__in=mentee_ids).update(
            offer_id=Subquery(
                PendingRequest.objects.filter(mentee_id=OuterRef("mentee_id")).values("request_id")
            )
        )
        if new_requests is not None:
            new_requests += created
        else:
            drafts += request_drafts(created, event=f"waitlist-{created[0].pk}")
        deadline = deadline_label_for(expires_at, program)
        links = new_links(
            Purpose.PREFERENCES,
            [(program.pk, r.mentee_id, None, now + PREFERENCES_VALID_FOR) for r in created],
        )
        for request, link in zip(created, links, strict=True):
            mentee = request.mentee
            drafts.append(
                Draft(
                    kind=EmailKind.WAITLIST_OFFER,
                    key=f"waitlist-offer:{request.pk}",
                    to_email=mentee.email,
                    to_name=mentee.full_name,
                    values={
                        **common_values(program, mentee),
                        "mentor_name": request.mentor.full_name,
                        "deadline": deadline,
                        "preferences_link": link,
                    },
                )
            )
            offers.append(Offer(request.mentee_id, request.mentor_id, request_id=request.pk))
    outbox_add(drafts, program=program)
    return offers


def release_held(*, program: Program, mentee_ids: Sequence[int], now: datetime) -> None:
    """These mentees were just paired: a seat a staged auto-pair run held for them with
    another mentor holds nothing any more, so it goes to the waitlist."""
    mentor_ids = list(
        AutoPairProposal.objects.filter(
            mentee_id__in=list(mentee_ids), run__status=AutoPairRun.Status.STAGED
        ).values_list("mentor_id", flat=True)
    )
    if mentor_ids:
        seats_offer(program=program, mentor_ids=mentor_ids, now=now)


def waitlist_sweep(
    *, now: datetime | None = None, program_ids: Sequence[int] | None = None
) -> dict[str, int]:
    """Offer every free seat of every program with a waitlist (a safety net run by beat:
    a seat freed where no offer could run at once, e.g. its mentor was locked, waits
    at most one sweep)."""
    now = now or timezone.now()
    waiting = WaitlistEntry.objects.order_by()
    if program_ids is not None:
        waiting = waiting.filter(program_id__in=list(program_ids))
    program_ids = waiting.values_list("program_id", flat=True).distinct()
    offered = 0
    for program in Program.objects.filter(pk__in=list(program_ids)).select_related("organization"):
        offered += len(seats_offer(program=program, now=now))
    return {"offered": offered}
