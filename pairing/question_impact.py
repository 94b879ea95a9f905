"""What a change to a program's questions would do to the mentors suggested now, before
it is made: the questions editor's preview (programs.hooks.register_candidate_impact).

Programs cannot read pairing (the layers), so it asks here. The same comparison as the
Match weights page's (pairing.rule_preview), with each person's answers as the change
would leave them (its scheme and answers, built in memory). Nothing is written.
"""

from pairing.rule_preview import candidates_change
from programs.hooks import CandidateImpact
from programs.match_weights import scheme_of
from programs.models import Program


def candidate_impact(*, program: Program, change) -> CandidateImpact:
    """How many unpaired mentees would lose every candidate mentor, find one, or get a
    different best match, were the change made."""
    found = candidates_change(
        program=program,
        before=scheme_of(program),
        after=change.scheme,
        answers_after=change.answers_after,
    )
    return CandidateImpact(
        mentees=found.mentees,
        mentors=found.mentors,
        lose_all=found.lost,
        gain=found.gained,
        best_changed=found.different,
    )
