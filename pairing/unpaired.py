"""Who is an unpaired mentee: one rule for the tab, the export, the manual-pair
list, auto-pair and (through programs.hooks) the invitations.

A mentee is unpaired without an active pairing. Some callers also leave out
those waiting on a pending request (`waiting=False`): auto-pair and the
invitations, for whom such a mentee is taken; the tab, the export and the
manual-pair list keep them (the tab shows them under "Request pending").

The rule reads each participant's MenteeStanding, which the database keeps
from the pairings, pending requests and invitations as they change, so
asking it is a join on one row per mentee instead of anti-joins over the
program's pairings and requests.
"""

from django.db.models import F, Q, QuerySet

from pairing.models import MenteeStanding
from programs.models import Participant, Program

State = MenteeStanding.State
UNPAIRED = (State.NOT_INVITED, State.INVITED, State.PENDING)
FREE = (State.NOT_INVITED, State.INVITED)


def not_engaged(*, invited: bool | None = None) -> Q:
    """A condition on Participant rows: neither paired nor waiting on a request
    (registered as programs.hooks' engaged filter); `invited` True / False: and
    with / without an invitation (the standing knows both)."""
    states = FREE if invited is None else [State.INVITED if invited else State.NOT_INVITED]
    # The standing's program is the participant's: naming it lets the database
    # walk the program's part of the standings' index.
    return Q(standing__state__in=states, standing__program=F("program"))


def unpaired_mentees(program: Program, *, waiting: bool = True) -> QuerySet[Participant]:
    """The program's mentees without an active pairing; `waiting=False` also leaves
    out those with a pending request."""
    return Participant.objects.mentees().filter(
        program=program,
        standing__program=program,
        standing__state__in=UNPAIRED if waiting else FREE,
    )
