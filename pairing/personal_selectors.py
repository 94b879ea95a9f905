"""What a person's own page ("My mentoring") shows: their requests, sent or received, their
pairings, their room to mentor. A handful of small queries, all of them this one person's.
"""

from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from pairing.deadlines import deadline_label
from pairing.drafts import mentee_profile_text
from pairing.models import MentorRequest, Pairing, WaitlistEntry
from pairing.request_selectors import mentee_state
from programs.models import Participant, Program
from programs.questions import described, prime_answers, questions_of

Status = MentorRequest.Status


@dataclass(frozen=True)
class Received:
    """A request waiting for this mentor's answer."""

    request: MentorRequest
    deadline: str
    profile: str


@dataclass(frozen=True)
class Together:
    """One of this person's active pairings, seen from their side."""

    pairing: Pairing
    partner: Participant
    since: date


@dataclass
class Overview:
    person: Participant
    program: Program
    received: list[Received] = field(default_factory=list)
    sent: MentorRequest | None = None
    sent_deadline: str = ""
    last_ended: MentorRequest | None = None
    pairings: list[Together] = field(default_factory=list)
    mentoring: int = 0
    open_for_choices: bool = False
    waiting: WaitlistEntry | None = None
    # (question, answer) of the questions this person answered, in the program's order.
    answers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_mentor(self) -> bool:
        return self.person.role == Participant.Role.MENTOR

    @property
    def seats_free(self) -> int:
        return max(self.person.capacity - self.mentoring, 0)


def overview(person: Participant) -> Overview:
    program = person.program
    zone = program.organization.timezone
    found = Overview(person=person, program=program)
    asked = [q for q in questions_of(program, role=person.role) if not q.profile_field]
    found.pairings = _pairings(person, zone)
    received = []
    if person.role == Participant.Role.MENTOR:
        received = list(
            MentorRequest.objects.filter(mentor=person, status=Status.PENDING)
            .select_related("mentee")
            .order_by("expires_at", "pk")
        )
    # The person's answers and those of the mentees asking them, in one read.
    prime_answers([person, *(r.mentee for r in received)])
    found.answers = described(asked, person, person.answer_values)
    if person.role == Participant.Role.MENTOR:
        found.mentoring = sum(1 for t in found.pairings if t.pairing.mentor_id == person.pk)
        found.received = [
            Received(r, deadline_label(r.expires_at, zone), mentee_profile_text(r.mentee, program))
            for r in received
        ]
        return found
    state = mentee_state(person)
    found.sent, found.last_ended = state.pending, state.last_ended
    if state.pending:
        found.sent_deadline = deadline_label(state.pending.expires_at, zone)
    found.open_for_choices = (
        state.pairing is None
        and state.pending is None
        and program.pairing_enabled
        and program.is_user_led
    )
    if state.pairing is None and state.pending is None:
        found.waiting = WaitlistEntry.objects.filter(mentee=person).first()
    return found


def _pairings(person: Participant, zone: str) -> list[Together]:
    mine = Pairing.objects.filter(program_id=person.program_id).active()
    rows = (
        mine.filter(mentor=person).select_related("mentee")
        if person.role == Participant.Role.MENTOR
        else mine.filter(mentee=person).select_related("mentor")
    )
    here = ZoneInfo(zone)
    return [
        Together(
            pairing=p,
            partner=p.mentee if p.mentor_id == person.pk else p.mentor,
            since=p.started_at.astimezone(here).date(),
        )
        for p in rows.order_by("started_at", "pk")
    ]
