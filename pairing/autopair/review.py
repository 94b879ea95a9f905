"""A staged run under review: remove or swap proposals, confirm, discard."""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from pairing import matching
from pairing.autopair.options import Options, Reason, RunStatus
from pairing.autopair.problem import _lower
from pairing.drafts import assignments_drafts
from pairing.models import (
    AutoPairProposal,
    AutoPairRun,
    AutoPairUnpaired,
    MentorPreference,
    MentorRequest,
    Pairing,
    PendingRequest,
)
from pairing.request_selectors import (
    declined_pairs,
    do_not_pair_again,
    do_not_pair_again_pairs,
)
from pairing.seats import mentor_load, seats_free
from pairing.services import requests_close_full
from pairing.verbs import Verb
from pairing.waitlist import leave_on_engagement, seats_offer
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.outbox import outbox_add
from programs.match_weights import scheme_of
from programs.models import Participant, Program
from programs.services import activity_record


def _staged_run(program: Program, run_id: int) -> AutoPairRun:
    run = AutoPairRun.objects.select_for_update().filter(program=program, pk=run_id).first()
    if run is None:
        raise DomainError("There is no such auto-pair run.")
    if run.status != RunStatus.STAGED:
        raise DomainError(f"This run is {run.get_status_display().lower()}; it cannot change.")
    return run


@transaction.atomic
def proposal_remove(*, program: Program, run_id: int, mentee_id: int) -> None:
    """Take a mentee out of the proposals; they join the unpaired list."""
    run = _staged_run(program, run_id)
    proposal = AutoPairProposal.objects.filter(run=run, mentee_id=mentee_id).first()
    if proposal is None:
        raise DomainError("That mentee has no proposal in this run.")
    proposal.delete()
    AutoPairUnpaired.objects.create(run=run, mentee_id=mentee_id, reason=Reason.REMOVED)
    # The seat it held is free again: the waitlist's, where offers are made.
    seats_offer(program=program, mentor_ids=[proposal.mentor_id])


def blocked_mentor_ids(mentee: Participant) -> set[int]:
    """Mentors auto-pair must not propose for this mentee: marked "do not pair again"
    (the rule requests keep too), or who declined the mentee's request."""
    declined = MentorRequest.objects.filter(mentee=mentee, status=MentorRequest.Status.DECLINED)
    return set(do_not_pair_again(mentee.pk).values_list("mentor_id", flat=True)) | set(
        declined.order_by().values_list("mentor_id", flat=True)
    )


def paired_before_with(mentee: Participant) -> dict[int, datetime]:
    """Mentors this mentee was paired with before in the program -> when that pairing ended
    (the latest, if more than one).

    A run leaves these pairs out unless it allows them; an admin may still
    choose one by hand in the review, with a warning (pair_problems does not
    refuse them).
    """
    rows = (
        Pairing.objects.filter(
            program=mentee.program_id, mentee=mentee, status=Pairing.Status.ENDED
        )
        .order_by("ended_at")
        .values_list("mentor_id", "ended_at")
    )
    return dict(rows)


def pair_problems(
    run: AutoPairRun,
    mentee: Participant,
    mentor: Participant,
    options: Options,
    *,
    blocked: set[int] | None = None,
    check_score: bool = True,
) -> str | None:
    """Why this mentor cannot be proposed for this mentee in this run (None: they can).

    `blocked` (from blocked_mentor_ids) saves a query per mentor when checking many.
    Having been paired before is not a problem here, only a warning
    (paired_before_with).
    """
    if mentor.role != Participant.Role.MENTOR or mentor.program_id != run.program_id:
        return "That person is not a mentor in this program."
    if not mentor.accepting_requests and not options.include_not_accepting:
        return f"{mentor.full_name} is not accepting new mentees."
    if blocked is None:
        blocked = blocked_mentor_ids(mentee)
    if mentor.pk in blocked:
        return (
            f"{mentee.full_name} and {mentor.full_name} were marked “do not pair again”, or "
            f"{mentor.full_name} declined {mentee.full_name}'s request. Pair them by hand "
            "(Requests → Pair by hand) if you mean to."
        )

    manager = _lower(mentee.manager_email)
    if manager and manager == _lower(mentor.email):
        return f"{mentor.full_name} is {mentee.full_name}'s manager."
    if options.avoid_shared_manager and manager and manager == _lower(mentor.manager_email):
        return f"{mentor.full_name} and {mentee.full_name} have the same manager."
    if options.different_department:
        dept = matching.normalise(mentee.department)
        if dept and dept == matching.normalise(mentor.department):
            return f"This run pairs across departments; both are in {mentor.department}."
    if check_score and matching.score_pair(mentee, mentor, scheme_of(run.program)) is None:
        return f"{mentor.full_name} does not share a must-match field with {mentee.full_name}."
    return None


@transaction.atomic
def proposal_set_mentor(
    *, program: Program, run_id: int, mentee_id: int, mentor_id: int
) -> AutoPairProposal:
    """Swap in another mentor for a proposal, or propose one for a mentee left unpaired.

    The proposal returned carries `paired_before`: when an earlier pairing of
    the two in this program ended (None if they never were paired), so the
    admin can be warned; it is allowed either way.
    """
    run = _staged_run(program, run_id)
    options = Options.from_json(run.options)
    mentee = Participant.objects.filter(pk=mentee_id, program=program).first()
    in_run = mentee is not None and (
        AutoPairProposal.objects.filter(run=run, mentee=mentee).exists()
        or AutoPairUnpaired.objects.filter(run=run, mentee=mentee).exists()
    )
    if not in_run:
        raise DomainError("That mentee is not part of this run.")
    # Lock the mentor so two swaps cannot both take their last seat.
    mentor = (
        Participant.objects.select_for_update(no_key=True)
        .filter(pk=mentor_id, program=program)
        .first()
    )
    if mentor is None:
        raise DomainError("There is no such mentor in this program.")
    problem = pair_problems(run, mentee, mentor, options)
    if problem:
        raise DomainError(problem)
    ended_at = paired_before_with(mentee).get(mentor.pk)
    current = AutoPairProposal.objects.filter(run=run, mentee=mentee).first()
    if current is not None and current.mentor_id == mentor.pk:
        current.paired_before = ended_at
        return current
    if seats_free(run, [mentor.pk]).get(mentor.pk, 0) <= 0:
        raise DomainError(f"{mentor.full_name} has no free seat left.")
    scheme = scheme_of(program)
    score = matching.score_pair(mentee, mentor, scheme) or 0.0
    rank = (
        MentorPreference.objects.filter(mentee=mentee, mentor=mentor)
        .values_list("rank", flat=True)
        .first()
    )
    fields = {
        "mentor": mentor,
        "score": score,
        "reasons": matching.explain(mentee, mentor, scheme),
        "preference_rank": rank,
        "swapped": True,
    }
    if current is None:
        AutoPairUnpaired.objects.filter(run=run, mentee=mentee).delete()
        current = AutoPairProposal.objects.create(run=run, mentee=mentee, **fields)
    else:
        freed = current.mentor_id
        for key, value in fields.items():
            setattr(current, key, value)
        current.save()
        seats_offer(program=program, mentor_ids=[freed])
    current.paired_before = ended_at
    return current


@dataclass
class ConfirmResult:
    created: int
    skipped: list[dict]


def autopair_confirm(*, program: Program, run_id: int, user) -> ConfirmResult:
    """Create the proposed pairings in one transaction, re-checking every seat.

    Mentor and mentee rows are locked in id order (the same order request
    approvals and submits lock them in, so they cannot deadlock), then each proposal is checked
    again: the mentee may have been paired or asked someone meanwhile, a
    mentor may have filled up. Those are skipped and listed, never dropped
    silently; the rest become pairings and Mentorship Assignments emails.
    """
    try:
        with transaction.atomic():
            return _confirm(program=program, run_id=run_id, user=user)
    except IntegrityError:
        # A mentee was paired by a concurrent approval between our check and insert.
        raise DomainError(
            "Someone paired one of these mentees while confirming. Nothing was created; "
            "confirm again and that proposal will be listed as skipped."
        ) from None


def _confirm(*, program: Program, run_id: int, user) -> ConfirmResult:
    run = _staged_run(program, run_id)
    proposals = list(
        AutoPairProposal.objects.filter(run=run)
        .order_by("-score", "id")
        .values_list("mentee_id", "mentor_id")
    )
    mentor_ids = sorted({mentor_id for _, mentor_id in proposals})
    mentee_ids = [mentee_id for mentee_id, _ in proposals]
    # Mentors and mentees in one statement, in id order (pairing.services'
    # lock order): no request or pairing can be made for these mentees, nor
    # a mentor's capacity or anyone's role changed, until this commits.
    locked = list(
        Participant.objects.select_for_update(no_key=True)
        .filter(pk__in={*mentor_ids, *mentee_ids}, program=program)
        .order_by("pk")
        .values_list("pk", "role", "capacity")
    )
    roles = {pk: role for pk, role, _ in locked}
    seats = {pk: cap for pk, role, cap in locked if role == Participant.Role.MENTOR}
    for pk, used in mentor_load(program, mentor_ids).items():
        seats[pk] = seats.get(pk, 0) - used
    busy = set(
        Pairing.objects.filter(mentee_id__in=mentee_ids)
        .active()
        .values_list("mentee_id", flat=True)
    ) | set(
        PendingRequest.objects.filter(mentee_id__in=mentee_ids).values_list("mentee_id", flat=True)
    )
    blocked = do_not_pair_again_pairs(program)
    declined = declined_pairs(program)
    people = {
        p.pk: p
        for p in Participant.objects.filter(pk__in=set(mentee_ids) | set(mentor_ids)).only(
            "first_name", "last_name", "email", "program_id"
        )
    }
    keep, skipped = [], []
    for mentee_id, mentor_id in proposals:
        why = None
        if roles.get(mentee_id) != Participant.Role.MENTEE:
            why = "the mentee is no longer a mentee in the program"
        elif mentee_id in busy:
            why = "the mentee was paired or requested a mentor meanwhile"
        elif mentor_id not in seats:
            why = "the mentor is no longer in the program"
        elif (mentee_id, mentor_id) in blocked:
            why = "the pair was marked “do not pair again”"
        elif (mentee_id, mentor_id) in declined:
            why = "the mentor declined this mentee's request"
        elif seats[mentor_id] <= 0:
            why = "the mentor has no free seat left"
        if why:
            skipped.append(
                {
                    "mentee": people[mentee_id].full_name if mentee_id in people else "",
                    "mentor": people[mentor_id].full_name if mentor_id in people else "",
                    "why": why,
                }
            )
            continue
        seats[mentor_id] -= 1
        keep.append((mentee_id, mentor_id))
    created = Pairing.objects.bulk_create(
        [
            Pairing(
                program=program,
                mentee_id=mentee_id,
                mentor_id=mentor_id,
                origin=Pairing.Origin.AUTO_PAIR,
                created_by=user,
            )
            for mentee_id, mentor_id in keep
        ],
        batch_size=2000,
    )
    now = timezone.now()
    pairs = [(p.pk, p.mentee_id, p.mentor_id) for p in created]
    program = Program.objects.select_related("organization").get(pk=program.pk)
    # One email per person for the whole confirm: a mentor given four mentees
    # gets one email naming them all (keyed by this run, so never twice).
    outbox_add(
        assignments_drafts(
            program,
            [(pid, people[mentee_id], people[mentor_id]) for pid, mentee_id, mentor_id in pairs],
            now,
            event=f"autopair-{run.pk}",
        ),
        program=program,
    )
    leave_on_engagement([mentee_id for mentee_id, _ in keep])
    # The mentors whose last seat went: their other requests end now.
    requests_close_full(mentor_ids=sorted({m for _, m in keep}), now=now)
    run.status = RunStatus.CONFIRMED
    run.closed_at = now
    run.closed_by = user
    run.totals = {**run.totals, "confirmed": len(created), "skipped": skipped[:1000]}
    run.totals["skipped_count"] = len(skipped)
    run.save(update_fields=["status", "closed_at", "closed_by", "totals"])
    # The run holds no seat now: those its skipped proposals held are free again.
    if skipped:
        seats_offer(program=program, mentor_ids={m for _, m in proposals}, now=now)
    detail = f"Created {len(created)} pairing{'s' if len(created) != 1 else ''}"
    if skipped:
        detail += f"; skipped {len(skipped)} that no longer fit"
    activity_record(program=program, actor=user, verb=Verb.AUTOPAIR_CONFIRMED, detail=detail)
    return ConfirmResult(created=len(created), skipped=skipped)


@transaction.atomic
def autopair_discard(*, program: Program, run_id: int, user) -> AutoPairRun:
    """Drop a run (queued, running or staged): its proposals release their seats."""
    run = AutoPairRun.objects.select_for_update().filter(program=program, pk=run_id).first()
    if run is None:
        raise DomainError("There is no such auto-pair run.")
    if run.status not in AutoPairRun.OPEN:
        raise DomainError(f"This run is {run.get_status_display().lower()}; it cannot change.")
    pairs = run.proposals.count()
    held = set(run.proposals.values_list("mentor_id", flat=True))
    run.proposals.all().delete()
    run.unpaired.all().delete()
    run.status = RunStatus.DISCARDED
    run.closed_at = timezone.now()
    run.closed_by = user
    run.save(update_fields=["status", "closed_at", "closed_by"])
    activity_record(
        program=program,
        actor=user,
        verb=Verb.AUTOPAIR_DISCARDED,
        detail=f"Discarded {pairs} proposed pair{'s' if pairs != 1 else ''}",
    )
    # The seats the run held are free again.
    if held:
        seats_offer(program=program, mentor_ids=held)
    return run
