"""Reads for the auto-pair pages: runs, the staged proposals, mentors to swap in."""

from django.core.paginator import Page, Paginator
from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet, Subquery, Window

from pairing import matching, seats
from pairing.autopair.options import Options
from pairing.autopair.review import blocked_mentor_ids, pair_problems, paired_before_with
from pairing.models import AutoPairProposal, AutoPairRun, AutoPairUnpaired, Pairing
from pairing_admin.lib.search import words_filter
from programs.match_weights import scheme_of
from programs.models import Participant, Program
from programs.selectors import NAME_FIELDS, PERSON_FIELDS

PER_PAGE = 50
SORTS = {
    "score": ("score", "id"),
    "-score": ("-score", "id"),
    "mentee": ("mentee__last_name", "mentee__first_name", "id"),
    "mentor": ("mentor__last_name", "mentor__first_name", "id"),
}
SORT_LABELS = {
    "-score": "Best match first",
    "score": "Weakest match first",
    "mentee": "Mentee name",
    "mentor": "Mentor name",
}
SWAP_RESULTS = 20
SWAP_POOL = 20_000


def run_for(program: Program, run_id: int) -> AutoPairRun | None:
    return (
        AutoPairRun.objects.filter(program=program, pk=run_id)
        .select_related("created_by", "closed_by")
        .first()
    )


def recent_runs(program: Program, limit: int = 10) -> list[AutoPairRun]:
    return list(AutoPairRun.objects.filter(program=program).select_related("created_by")[:limit])


def _name_filter(prefix: str, query: str) -> Q:
    return words_filter(query, [f"{prefix}__{field}" for field in NAME_FIELDS])


def _earlier_pairings(run: AutoPairRun) -> QuerySet[Pairing]:
    """The ended pairings, in the run's program, of a proposal's mentee and mentor."""
    return Pairing.objects.filter(
        program=run.program_id,
        mentee=OuterRef("mentee_id"),
        mentor=OuterRef("mentor_id"),
        status=Pairing.Status.ENDED,
    )


# A mentor given this many mentees or more is pointed out in the review.
MANY_MENTEES = 3
MANY_MENTEES_NAMED = 5
# A proposal scoring below this is pointed out, and the list can show only those.
LOW_SCORE = 20.0


def proposal_summary(run: AutoPairRun) -> dict:
    """Live figures of a staged run (the admin may have removed or swapped pairs).

    Three queries whatever the run's size: the proposals' figures, the
    unpaired mentees per reason, and the mentors given MANY_MENTEES or more.
    """
    figures = run.proposals.aggregate(
        pairs=Count("id"),
        average=Avg("score"),
        swapped=Count("id", filter=Q(swapped=True)),
        preferences=Count("id", filter=Q(preference_rank__isnull=False)),
        paired_before=Count("id", filter=Exists(_earlier_pairings(run))),
        low=Count("id", filter=Q(score__lt=LOW_SCORE)),
    )
    by_reason = dict(
        run.unpaired.order_by().values("reason").annotate(c=Count("id")).values_list("reason", "c")
    )
    figures["unpaired"] = sum(by_reason.values())
    figures["by_reason"] = [
        (value, label, by_reason[value])
        for value, label in AutoPairUnpaired.Reason.choices
        if by_reason.get(value)
    ]
    figures["busy_mentors"], figures["busy_count"] = _busy_mentors(run)
    figures["busy_more"] = figures["busy_count"] - len(figures["busy_mentors"])
    return figures


def _busy_mentors(run: AutoPairRun) -> tuple[list[dict], int]:
    """The mentors given MANY_MENTEES or more (most first, at most MANY_MENTEES_NAMED)
    and how many there are, in one query: a window counts the groups, and the names
    are looked up for the few rows kept (PostgreSQL evaluates them after the LIMIT;
    joining every mentor first took three times as long at 50,000 proposals)."""
    mentor = Participant.objects.filter(pk=OuterRef("mentor_id"))
    rows = list(
        run.proposals.order_by()
        .values("mentor_id")
        .annotate(mentees=Count("id"), busy=Window(Count("*")))
        .filter(mentees__gte=MANY_MENTEES)
        .order_by("-mentees", "mentor_id")
        .annotate(
            first_name=Subquery(mentor.values("first_name")),
            last_name=Subquery(mentor.values("last_name")),
            capacity=Subquery(mentor.values("capacity")),
        )[:MANY_MENTEES_NAMED]
    )
    named = [
        {
            "name": f"{row['first_name']} {row['last_name']}".strip(),
            "mentees": row["mentees"],
            "capacity": row["capacity"],
        }
        for row in rows
    ]
    return named, (rows[0]["busy"] if rows else 0)


def proposals_page(
    run: AutoPairRun, *, query: str = "", sort: str = "-score", page_number=None, low: bool = False
) -> Page:
    """One page of proposals; each carries `paired_before`, when the pair's earlier
    pairing in this program ended (None: never paired), in the same query."""
    ended = _earlier_pairings(run).order_by("-ended_at").values("ended_at")[:1]
    qs: QuerySet = run.proposals.select_related("mentee", "mentor").annotate(
        paired_before=Subquery(ended)
    )
    if query:
        qs = qs.filter(_name_filter("mentee", query) | _name_filter("mentor", query))
    if low:
        qs = qs.filter(score__lt=LOW_SCORE)
    qs = qs.order_by(*SORTS.get(sort, SORTS["-score"]))
    return Paginator(qs, PER_PAGE).get_page(page_number)


def unpaired_page(run: AutoPairRun, *, reason: str = "", query: str = "", page_number=None) -> Page:
    qs = run.unpaired.select_related("mentee").order_by(
        "mentee__last_name", "mentee__first_name", "id"
    )
    if reason in AutoPairUnpaired.Reason.values:
        qs = qs.filter(reason=reason)
    if query:
        qs = qs.filter(_name_filter("mentee", query))
    return Paginator(qs, PER_PAGE).get_page(page_number)


def run_mentee(run: AutoPairRun, mentee_id: int) -> tuple[Participant, AutoPairProposal | None]:
    """The mentee (in this run) and their current proposal; (None, None) if not in the run."""
    proposal = run.proposals.select_related("mentee", "mentor").filter(mentee_id=mentee_id).first()
    if proposal is not None:
        return proposal.mentee, proposal
    row = run.unpaired.select_related("mentee").filter(mentee_id=mentee_id).first()
    return (row.mentee if row else None), None


def mentors_to_swap_in(run: AutoPairRun, mentee: Participant, *, query: str = "") -> list[dict]:
    """Mentors with a free seat (this run's proposals held) who may take this mentee, best first.

    Each: {"mentor", "free", "score", "reasons", "paired_before"} (when an earlier
    pairing of the two in this program ended, or None: such a mentor may be
    chosen, with a warning). Searches by name, email or department; at most
    SWAP_RESULTS.
    """
    options = Options.from_json(run.options)
    qs = Participant.objects.mentors().filter(program=run.program_id)
    if not options.include_not_accepting:
        qs = qs.filter(accepting_requests=True)
    qs = qs.filter(words_filter(query, PERSON_FIELDS))
    # Every matching mentor is ranked, so the best free one is found without a search.
    mentors = list(qs.order_by("last_name", "first_name", "id")[:SWAP_POOL])
    ids = [m.pk for m in mentors]
    named = ids if len(ids) <= 1000 else None  # past that, every mentor: a shorter query
    load = seats.mentor_load(run.program, named)
    held = seats.run_holds(run, named, except_mentee=mentee)
    free = {m.pk: m.capacity - load.get(m.pk, 0) - held.get(m.pk, 0) for m in mentors}
    open_mentors = [m for m in mentors if free[m.pk] > 0]
    # rank_mentors_for leaves out mentors failing a must-match field.
    ranked = matching.rank_mentors_for(mentee, open_mentors, scheme_of(run.program))
    blocked = blocked_mentor_ids(mentee)
    paired_before = paired_before_with(mentee)
    out = []
    for match in ranked:
        if pair_problems(run, mentee, match.mentor, options, blocked=blocked, check_score=False):
            continue
        out.append(
            {
                "mentor": match.mentor,
                "free": free[match.mentor.pk],
                "score": match.score,
                "reasons": match.reasons,
                "paired_before": paired_before.get(match.mentor.pk),
            }
        )
        if len(out) >= SWAP_RESULTS:
            break
    return out
