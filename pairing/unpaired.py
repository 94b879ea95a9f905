"""Who is an unpaired mentee: one rule for the tab, the export, the manual-pair
list, auto-pair and (through programs.hooks) the invitations.

A mentee is unpaired without an active pairing. Some callers also leave out
those waiting on a pending request (`waiting=False`): auto-pair and the
invitations, for whom such a mentee is taken; the tab, the export and the
manual-pair list keep them (the tab shows them under "Request pending").
"""

from django.db.models import Exists, OuterRef, Q, QuerySet

from pairing.models import Pairing, PendingRequest
from programs.models import Participant, Program

# Pairings and requests are in their mentee's program; saying so lets the
# database read only this program's rows (through the program-first indexes)
# instead of every active pairing of every program.
_SAME_MENTEE = {"mentee": OuterRef("pk"), "program": OuterRef("program")}


def in_active_pairing() -> Exists:
    """True for a Participant row that is the mentee of an active pairing."""
    return Exists(Pairing.objects.filter(**_SAME_MENTEE).active())


def waiting_on_request() -> Exists:
    """True for a Participant row that is the mentee of a pending request."""
    return Exists(PendingRequest.objects.filter(**_SAME_MENTEE))


def not_engaged() -> Q:
    """A condition on Participant rows: neither paired nor waiting on a request
    (registered as programs.hooks' engaged filter)."""
    return Q(~in_active_pairing(), ~waiting_on_request())


def unpaired_mentees(program: Program, *, waiting: bool = True) -> QuerySet[Participant]:
    """The program's mentees without an active pairing; `waiting=False` also leaves
    out those with a pending request."""
    mentees = Participant.objects.mentees().filter(program=program)
    if not waiting:
        return mentees.filter(not_engaged())
    return mentees.filter(~in_active_pairing())
