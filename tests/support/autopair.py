"""People and runs for the auto-pair tests: python-skilled mentors for python-curious mentees."""

from pairing import autopair
from pairing.autopair import Options
from pairing.models import AutoPairProposal, AutoPairRun, AutoPairUnpaired
from tests import factories


def skilled_mentee(program, **kw):
    kw.setdefault("goals", ["python"])
    return factories.ParticipantFactory(program=program, **kw)


def skilled_mentor(program, capacity=1, **kw):
    kw.setdefault("skills", ["python"])
    return factories.MentorFactory(program=program, capacity=capacity, **kw)


def run_autopair(program, user, django_capture_on_commit_callbacks, **options) -> AutoPairRun:
    """Start a run and let its task run on commit: the run, as it ended."""
    with django_capture_on_commit_callbacks(execute=True):
        run = autopair.autopair_start(program=program, user=user, options=Options(**options))
    run.refresh_from_db()
    return run


def proposed_pairs(run) -> set[tuple[int, int]]:
    return {(p.mentee_id, p.mentor_id) for p in run.proposals.all()}


def staged_run(program, user, mentees, mentors) -> AutoPairRun:
    """A staged run written directly: `mentees` proposals over `mentors` mentors, 3 unpaired."""
    run = AutoPairRun.objects.create(
        program=program, created_by=user, status=AutoPairRun.Status.STAGED,
        totals={"mentees": mentees, "seats": mentees, "pairs": mentees, "all_pairs": True,
                "candidate_edges": mentees, "total_score": 0, "k": mentors},
        timings={"total": 1.0, "score": 0.5, "solve": 0.1},
    )  # fmt: skip
    people = [skilled_mentee(program) for _ in range(mentees)]
    coaches = [skilled_mentor(program, capacity=min(mentees, 50)) for _ in range(mentors)]
    AutoPairProposal.objects.bulk_create(
        AutoPairProposal(run=run, mentee=m, mentor=coaches[i % mentors], score=50.0,
                         reasons=["Skills: python"])
        for i, m in enumerate(people)
    )  # fmt: skip
    AutoPairUnpaired.objects.bulk_create(
        AutoPairUnpaired(
            run=run, mentee=skilled_mentee(program), reason=AutoPairUnpaired.Reason.NO_CANDIDATE
        )
        for _ in range(3)
    )
    return run
