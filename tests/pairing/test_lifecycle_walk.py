"""A seeded random walk through the whole pairing lifecycle, checking its invariants
after every step.

Each step is one thing a mentee, a mentor or an admin can do (submit preferences,
approve, decline, let a request expire, withdraw, cancel, pair by hand, end a
pairing, change a mentor's capacity or availability, auto-pair, join or leave the
waitlist, register, be invited), called through the services with arguments
drawn from a random.Random(seed). A call the rules refuse raises DomainError:
that is the rules working, so the walk counts it and goes on. After every step
the invariants are read back from the database:

  (a) no pending request waits for a mentor who is full, unavailable, or not a mentor;
  (b) no mentee is two of: paired, pending, waitlisted;
  (c) every unpaired mentee is exactly one of not invited / invited / pending /
      waitlisted, and the Unpaired tab and the invitations app count them alike;
  (d) one outbox row per cause, one email per mentor per event, and everyone
      who is asked, paired or let down is told;
  (e) a mentor's active pairings fit their capacity, a mentee has at most one;
  (f) no seat stays free while a waitlisted mentee who may take it waits.

Replay a failure: the message names the seed and prints the whole walk; run again
with LIFECYCLE_WALK_SEED=<seed> (LIFECYCLE_WALK_STEPS changes the length). Ids
differ from run to run, but every choice is made by position in id order, so the
same seed walks the same path (on the same day: deadlines count business days
from today, and a sweep "some hours later" may catch more or fewer requests).

Single-threaded, so one transaction per test (plain django_db) is enough: the
services' atomic blocks become savepoints, a refused call rolls back its own,
and the outbox rows are written in the same transaction as their cause, which
is where (d) reads them. Races are tests/pairing/test_concurrency.py's job.
"""

import os
import random
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from invitations import selectors as invite_selectors
from invitations.models import Invitation
from invitations.services import invitation_send_selected
from pairing import autopair
from pairing import selectors as pairing_selectors
from pairing.autopair import Options
from pairing.email_kinds import EmailKind
from pairing.models import (
    AutoPairProposal,
    AutoPairRun,
    MentorRequest,
    Pairing,
    PendingRequest,
    WaitlistEntry,
)
from pairing.services import (
    NextStep,
    pairing_create_by_admin,
    pairing_end,
    preferences_submit,
    request_approve,
    request_cancel,
    request_decline,
    request_withdraw,
    requests_expire_due,
)
from pairing.tasks import offer_program_waitlist
from pairing.waitlist import waitlist_join, waitlist_leave, waitlist_sweep
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.models import OutboundEmail
from programs.match_weights import scheme_of
from programs.models import Participant, Program
from programs.registration import registration_submit
from programs.services import pairing_turn_on, participant_update, program_update
from tests import factories

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db]

SEED = int(os.environ.get("LIFECYCLE_WALK_SEED", "20250611"))
STEPS_OVERRIDE = os.environ.get("LIFECYCLE_WALK_STEPS")

Role = Participant.Role
RS = MentorRequest.Status
TOPICS = ["python", "sql", "design", "leadership", "data", "writing"]
MAX_MENTEES, MAX_MENTORS, MAX_CAPACITY = 40, 10, 4

# Emails that, for one person and one event, must be a single email (drafts.py:
# "one email per person per event"): a mentor given two requests or two mentees
# at once gets one email listing both.
FAMILY = {
    EmailKind.MENTOR_REQUEST: "request",
    EmailKind.MENTOR_REQUESTS: "request",
    EmailKind.ASSIGNMENT: "assignment",
    EmailKind.ASSIGNMENTS: "assignment",
    EmailKind.PAIRING_ENDED: "ended",
    EmailKind.PAIRINGS_ENDED: "ended",
}
# The email that tells a mentee their pending request ended, by how it ended.
ENDED_KEY = {
    RS.DECLINED: "request-declined",
    RS.EXPIRED: "request-expired",
    RS.CANCELLED: "request-cancelled",
    RS.CLOSED: "request-closed",
}


class Skip(Exception):
    """The step found nothing to act on (counted apart from refusals)."""


def _table(model) -> str:
    return model._meta.db_table


# Everything the invariants read, in one statement: the walk reads it after every
# step, and a dozen ORM queries a step would cost more than the steps themselves.
# Columns: tag, three numbers, three texts, a time.
SNAPSHOT = f"""
SELECT 'person', id, capacity, accepting_requests::int, role, email, NULL, NULL::timestamptz
  FROM {_table(Participant)} WHERE program_id = %(program)s
UNION ALL SELECT 'active', id, mentee_id, mentor_id, NULL, NULL, NULL, NULL
  FROM {_table(Pairing)} WHERE program_id = %(program)s AND status = %(active)s
UNION ALL SELECT 'pending', request_id, mentee_id, mentor_id, NULL, NULL, NULL, expires_at
  FROM {_table(PendingRequest)} WHERE program_id = %(program)s
UNION ALL SELECT 'pending_status', id, NULL, NULL, NULL, NULL, NULL, NULL
  FROM {_table(MentorRequest)} WHERE program_id = %(program)s AND status = %(pending)s
UNION ALL SELECT 'waitlisted', id, mentee_id, NULL, NULL, NULL, NULL, NULL
  FROM {_table(WaitlistEntry)} WHERE program_id = %(program)s AND offer_id IS NULL
UNION ALL SELECT 'wanted', w.id, w.mentee_id, m.participant_id, NULL, NULL, NULL, NULL
  FROM {_table(WaitlistEntry)} w
  JOIN {_table(WaitlistEntry.wanted_mentors.through)} m ON m.waitlistentry_id = w.id
  WHERE w.program_id = %(program)s AND w.offer_id IS NULL
UNION ALL SELECT 'invited', id, mentee_id, NULL, NULL, NULL, NULL, NULL
  FROM {_table(Invitation)} WHERE program_id = %(program)s
UNION ALL SELECT 'staged', r.id, p.mentee_id, p.mentor_id, NULL, NULL, NULL, NULL
  FROM {_table(AutoPairRun)} r LEFT JOIN {_table(AutoPairProposal)} p ON p.run_id = r.id
  WHERE r.program_id = %(program)s AND r.status = %(staged)s
UNION ALL SELECT 'said_no', id, mentee_id, mentor_id, NULL, NULL, NULL, NULL
  FROM {_table(MentorRequest)} WHERE program_id = %(program)s AND status = %(declined)s
UNION ALL SELECT 'said_no', id, mentee_id, mentor_id, NULL, NULL, NULL, NULL
  FROM {_table(Pairing)} WHERE program_id = %(program)s AND status = %(ended)s
UNION ALL SELECT 'no_reoffer', id, mentee_id, mentor_id, NULL, NULL, NULL, NULL
  FROM {_table(MentorRequest)}
  WHERE program_id = %(program)s AND status IN (%(expired)s, %(withdrawn)s, %(cancelled)s)
UNION ALL SELECT 'email', id, NULL, NULL, kind, idempotency_key, to_email, NULL
  FROM {_table(OutboundEmail)} WHERE id > %(last_email)s
UNION ALL SELECT 'new_request', id, mentee_id, mentor_id, status, NULL, NULL, NULL
  FROM {_table(MentorRequest)} WHERE program_id = %(program)s AND id > %(last_request)s
UNION ALL SELECT 'new_pairing', id, mentee_id, mentor_id, NULL, NULL, NULL, NULL
  FROM {_table(Pairing)} WHERE program_id = %(program)s AND id > %(last_pairing)s
UNION ALL SELECT 'stopped_waiting', id, mentee_id, mentor_id, status, NULL, NULL, NULL
  FROM {_table(MentorRequest)} WHERE id = ANY(%(was_pending)s)
"""


@dataclass
class State:
    """The program as the database has it after a step."""

    # pk -> (capacity, accepting requests)
    mentors: dict[int, tuple[int, bool]] = field(default_factory=dict)
    mentees: list[int] = field(default_factory=list)
    emails: dict[int, str] = field(default_factory=dict)  # participant pk -> address
    active: dict[int, tuple[int, int]] = field(default_factory=dict)  # pk -> (mentee, mentor)
    # request pk -> (mentee, mentor, expires at)
    pending: dict[int, tuple[int, int, datetime]] = field(default_factory=dict)
    pending_status: set[int] = field(default_factory=set)  # requests whose status is pending
    waitlisted: set[int] = field(default_factory=set)
    wanted: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    invited: set[int] = field(default_factory=set)
    staged_run: int | None = None
    proposals: list[tuple[int, int]] = field(default_factory=list)  # of the staged run
    said_no: set[tuple[int, int]] = field(default_factory=set)  # declined, or pairing ended
    # Requests that lapsed or were taken back: the waitlist does not offer those pairs.
    no_reoffer: set[tuple[int, int]] = field(default_factory=set)
    # Since the last snapshot:
    new_emails: list[tuple[int, str, str, str]] = field(default_factory=list)  # pk, kind, key, to
    new_requests: list[tuple[int, int, int, str]] = field(default_factory=list)
    new_pairings: list[tuple[int, int, int]] = field(default_factory=list)
    stopped_waiting: list[tuple[int, int, int, str]] = field(default_factory=list)

    @property
    def paired(self) -> set[int]:
        return {mentee for mentee, _ in self.active.values()}

    @property
    def pending_mentees(self) -> set[int]:
        return {mentee for mentee, _, _ in self.pending.values()}

    def load(self, mentor: int) -> int:
        return sum(1 for _, m in self.active.values() if m == mentor)

    @property
    def held(self) -> Counter:
        """Seats of each mentor the staged auto-pair run holds: its proposals for
        mentees not paired since (pairing.services.held_seats_of)."""
        paired = self.paired
        return Counter(mentor for mentee, mentor in self.proposals if mentee not in paired)


def read_state(program: Program, *, last: tuple[int, int, int], was_pending) -> State:
    """The snapshot after a step; `last`: the newest email, request and pairing seen before it."""
    params = {
        "program": program.pk,
        "active": Pairing.Status.ACTIVE,
        "ended": Pairing.Status.ENDED,
        "pending": RS.PENDING,
        "declined": RS.DECLINED,
        "expired": RS.EXPIRED,
        "withdrawn": RS.WITHDRAWN,
        "cancelled": RS.CANCELLED,
        "staged": AutoPairRun.Status.STAGED,
        "last_email": last[0],
        "last_request": last[1],
        "last_pairing": last[2],
        "was_pending": sorted(was_pending),
    }
    with connection.cursor() as cursor:
        cursor.execute(SNAPSHOT, params)
        rows = cursor.fetchall()
    s = State()
    for tag, a, b, c, t, u, v, when in sorted(rows, key=lambda row: (row[0], row[1])):
        if tag == "person":
            s.emails[a] = u
            if t == Role.MENTOR:
                s.mentors[a] = (b, bool(c))
            else:
                s.mentees.append(a)
        elif tag == "active":
            s.active[a] = (b, c)
        elif tag == "pending":
            s.pending[a] = (b, c, when)
        elif tag == "pending_status":
            s.pending_status.add(a)
        elif tag == "waitlisted":
            s.waitlisted.add(b)
        elif tag == "wanted":
            s.wanted[b].add(c)
        elif tag == "invited":
            s.invited.add(b)
        elif tag == "staged":
            s.staged_run = a
            if b is not None:
                s.proposals.append((b, c))
        elif tag == "said_no":
            s.said_no.add((b, c))
        elif tag == "no_reoffer":
            s.no_reoffer.add((b, c))
        elif tag == "email":
            s.new_emails.append((a, t, u, v))
        elif tag == "new_request":
            s.new_requests.append((a, b, c, t))
        elif tag == "new_pairing":
            s.new_pairings.append((a, b, c))
        elif tag == "stopped_waiting":
            s.stopped_waiting.append((a, b, c, t))
    return s


@dataclass
class Walk:
    program: Program
    admin: object
    seed: int
    steps: int
    weights: dict[str, float]
    rng: random.Random = field(init=False)
    log: list[str] = field(default_factory=list)
    done: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    # Problems that leave the state sound (an email too many or missing, a seat
    # left idle): gathered over the whole walk and asserted at the end, so one
    # finding does not hide the others.
    findings: list[tuple[str, str, str]] = field(default_factory=list)  # invariant, step, text
    idle: set = field(default_factory=set)
    state: State = field(default_factory=State)
    last: tuple[int, int, int] = (0, 0, 0)  # newest email, request, pairing seen
    registered: int = 0
    step_no: int = 0
    step_start: int = 0
    kind: str = "setup"
    joining: set = field(default_factory=set)  # mentees this step puts on the waitlist
    offers_queued: bool = False  # the step queued offers for after its commit

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    # --- Running ---------------------------------------------------------------------------

    def run(self) -> None:
        self.last = (
            OutboundEmail.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
            MentorRequest.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
            Pairing.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
        )
        self._read()
        self.check("setup", None)
        # The offers a service queues for after its commit (End Pairing's mentees
        # first in line, offers that ended back in line): on-commit callbacks do
        # not run inside this test's transaction, so the walk runs them after the
        # step, as an event of their own, and checks again.
        queued: list[int] = []
        with mock.patch.object(
            offer_program_waitlist, "delay_on_commit", side_effect=queued.append
        ):
            self._steps(queued)

    def _steps(self, queued: list[int]) -> None:
        for step_no in range(1, self.steps + 1):
            self.step_no = step_no
            self.kind = kind = self._choose_kind()
            self.step_start = len(self.log)
            self.joining = set()
            try:
                what = getattr(self, f"step_{kind}")()
            except Skip as exc:
                self.skipped[kind] += 1
                self.log.append(f"#{self.step_no} {kind}: skipped ({exc})")
                continue
            except DomainError as exc:
                self.refused[kind] += 1
                self.log.append(f"#{self.step_no} {kind}: refused: {exc}")
            except Exception:
                self.fail(f"step {kind} raised\n{traceback.format_exc()}")
            else:
                self.done[kind] += 1
                self.log.append(f"#{self.step_no} {kind}: {what}")
            before = self.state
            self._read(was_pending=before.pending)
            self.offers_queued = bool(queued)
            self.check(kind, before)
            self.offers_queued = False
            if queued:
                program_ids = sorted(set(queued))
                queued.clear()
                self.kind = "after_commit"
                self.joining = set()
                self.log.append(f"   after commit: offer the waitlist of {program_ids}")
                waitlist_sweep(program_ids=program_ids)
                before = self.state
                self._read(was_pending=before.pending)
                self.check("after_commit", before)

    def _read(self, was_pending=()) -> None:
        self.state = s = read_state(self.program, last=self.last, was_pending=was_pending)
        self.last = (
            s.new_emails[-1][0] if s.new_emails else self.last[0],
            s.new_requests[-1][0] if s.new_requests else self.last[1],
            s.new_pairings[-1][0] if s.new_pairings else self.last[2],
        )

    def fail(self, message: str) -> None:
        print(f"\nLIFECYCLE WALK FAILED: seed={self.seed} step={self.step_no}; the whole walk:")
        print("\n".join(self.log))
        tail = "\n".join(self.log[-40:])
        pytest.fail(
            f"seed {self.seed}, step {self.step_no}: {message}\n"
            f"replay: LIFECYCLE_WALK_SEED={self.seed}\nlast steps:\n{tail}",
            pytrace=False,
        )

    def found(self, text: str) -> None:
        """Note a finding; `text` starts with its invariant, "(d)" or "(f)"."""
        self.findings.append((text[:3], self.kind, text))

    def step_text(self) -> str:
        """What the current step did, as the log says it."""
        return " | ".join(line.strip() for line in self.log[self.step_start :])

    def _choose_kind(self) -> str:
        s = self.state
        possible = {
            "submit": bool(s.mentors),
            "approve": bool(s.pending),
            "decline": bool(s.pending),
            "expire": bool(s.pending),
            "withdraw": bool(s.pending),
            "cancel": bool(s.pending),
            "stale_decision": self.last[1] > 0,
            "pair_by_hand": bool(s.mentors),
            "end": bool(s.active),
            "capacity": bool(s.mentors),
            "available_again": any(not acc for _, acc in s.mentors.values()),
            "unavailable": any(acc for _, acc in s.mentors.values()),
            "autopair_stage": s.staged_run is None,
            "autopair_confirm": s.staged_run is not None,
            "autopair_discard": s.staged_run is not None,
            "waitlist_join": True,
            "waitlist_add": True,
            "waitlist_leave": bool(s.waitlisted),
            "register_mentee": len(s.mentees) < MAX_MENTEES,
            "register_mentor": len(s.mentors) < MAX_MENTORS,
            "invite": len(s.invited) < len(s.mentees),
            "after_decline": True,
        }
        kinds = [k for k, w in self.weights.items() if w > 0 and possible[k]]
        return self.rng.choices(kinds, [self.weights[k] for k in kinds])[0]

    # --- Choosing ----------------------------------------------------------------------------

    def _pick(self, items):
        items = sorted(items)
        if not items:
            raise Skip("nobody to choose")
        return self.rng.choice(items)

    def _mentee(self, *, free_bias: float = 0.85) -> int:
        """Mostly a mentee who is neither paired nor waiting on a request."""
        busy = self.state.paired | self.state.pending_mentees
        free = [m for m in self.state.mentees if m not in busy]
        if free and self.rng.random() < free_bias:
            return self._pick(free)
        return self._pick(self.state.mentees)

    def _open_mentors_for(self, mentee: int) -> list[int]:
        """Mentors who have not turned the mentee down (most choices aim there)."""
        return [m for m in sorted(self.state.mentors) if (mentee, m) not in self.state.said_no]

    def _person(self, pk: int) -> Participant:
        # Fresh, as a view would load it: participant_update saves the instance it is given.
        return Participant.objects.get(pk=pk)

    def _name(self, pk: int) -> str:
        return f"{'M' if pk in self.state.mentors else 'e'}{pk}"

    # --- The steps -----------------------------------------------------------------------------

    def step_submit(self) -> str:
        mentee = self._mentee()
        pool = self._open_mentors_for(mentee) if self.rng.random() < 0.8 else []
        pool = pool or sorted(self.state.mentors)
        chosen = self.rng.sample(pool, min(len(pool), self.rng.randint(1, 3)))
        self.log.append(f"   submit {self._name(mentee)} ranks {[self._name(m) for m in chosen]}")
        result = preferences_submit(mentee=self._person(mentee), mentor_ids=chosen)
        if result.pairing is not None:
            return f"paired with {self._name(result.pairing.mentor_id)}"
        return f"request {result.request.pk} to {self._name(result.request.mentor_id)}"

    def _pending_request(self) -> tuple[int, int, int]:
        pk = self._pick(self.state.pending)
        mentee, mentor, _ = self.state.pending[pk]
        return pk, mentee, mentor

    def step_approve(self) -> str:
        pk, mentee, mentor = self._pending_request()
        self.log.append(f"   approve request {pk} ({self._name(mentee)} -> {self._name(mentor)})")
        pairing = request_approve(request_id=pk)
        return f"pairing {pairing.pk}"

    def step_decline(self) -> str:
        pk, mentee, mentor = self._pending_request()
        unavailable = self.rng.random() < 0.25
        self.log.append(
            f"   decline request {pk} ({self._name(mentee)} -> {self._name(mentor)}), "
            f"unavailable={unavailable}"
        )
        request_decline(request_id=pk, message="Not this term.", unavailable=unavailable)
        return "declined"

    def step_expire(self) -> str:
        if self.rng.random() < 0.8:
            pk = self._pick(self.state.pending)
            now = self.state.pending[pk][2] + timedelta(seconds=1)
            self.log.append(f"   sweep at the deadline of request {pk} + 1s ({now:%Y-%m-%d %H:%M})")
        else:
            now = timezone.now() + timedelta(hours=self.rng.randint(1, 120))
            self.log.append(f"   sweep at {now:%Y-%m-%d %H:%M}")
        return f"{requests_expire_due(now=now)['expired']} expired"

    def step_withdraw(self) -> str:
        pk, mentee, _ = self._pending_request()
        self.log.append(f"   {self._name(mentee)} withdraws request {pk}")
        request_withdraw(mentee=self._person(mentee), request_id=pk)
        return "withdrawn"

    def step_cancel(self) -> str:
        pk, _, _ = self._pending_request()
        self.log.append(f"   admin cancels request {pk}")
        request_cancel(program=self.program, request_id=pk, user=self.admin)
        return "cancelled"

    def step_stale_decision(self) -> str:
        """Act on a request that is no longer pending: every service must refuse."""
        settled = sorted(
            MentorRequest.objects.filter(program=self.program)
            .exclude(status=RS.PENDING)
            .values_list("pk", "mentee_id")
        )
        if not settled:
            raise Skip("no settled request")
        pk, mentee = self.rng.choice(settled)
        action = self.rng.choice(["approve", "decline", "withdraw", "cancel"])
        self.log.append(f"   {action} settled request {pk}")
        try:
            if action == "approve":
                request_approve(request_id=pk)
            elif action == "decline":
                request_decline(request_id=pk)
            elif action == "withdraw":
                request_withdraw(mentee=self._person(mentee), request_id=pk)
            else:
                request_cancel(program=self.program, request_id=pk, user=self.admin)
        except DomainError:
            return f"{action} refused, as it must be"
        self.fail(f"{action} of settled request {pk} succeeded")
        return ""  # not reached

    def step_pair_by_hand(self) -> str:
        mentee = self._mentee(free_bias=0.9)
        mentor = self._pick(self.state.mentors)
        # Half the time the admin has seen "they said no before" and confirms anyway.
        anyway = self.rng.random() < 0.5
        self.log.append(
            f"   admin pairs {self._name(mentee)} with {self._name(mentor)}, anyway={anyway}"
        )
        pairing = pairing_create_by_admin(
            program=self.program, mentee_id=mentee, mentor_id=mentor, user=self.admin, anyway=anyway
        )
        return f"pairing {pairing.pk}"

    def step_end(self) -> str:
        pk = self._pick(self.state.active)
        next_step = self.rng.choice(NextStep.values)
        notify = next_step == NextStep.INVITE or self.rng.random() < 0.7
        again = self.rng.random() < 0.1
        mentee, mentor = self.state.active[pk]
        if next_step == NextStep.WAITLIST:
            self.joining.add(mentee)
        self.log.append(
            f"   end pairing {pk} ({self._name(mentee)} with {self._name(mentor)}), "
            f"next_step={next_step}, notify={notify}, do_not_pair_again={again}"
        )
        pairing_end(
            program=self.program,
            pairing_id=pk,
            user=self.admin,
            reason="Walk",
            notify=notify,
            do_not_pair_again=again,
            next_step=next_step,
        )
        return "ended"

    def step_capacity(self) -> str:
        mentor = self._pick(self.state.mentors)
        capacity, _ = self.state.mentors[mentor]
        # Never below what they mentor now (the rule would refuse it, tested elsewhere).
        choices = [c for c in range(self.state.load(mentor), MAX_CAPACITY + 1) if c != capacity]
        if not choices:
            raise Skip("no other capacity")
        new = self.rng.choice(choices)
        self.log.append(f"   capacity of {self._name(mentor)} {capacity} -> {new}")
        participant_update(participant=self._person(mentor), user=self.admin, capacity=new)
        return "changed"

    def step_available_again(self) -> str:
        mentor = self._pick(pk for pk, (_, acc) in self.state.mentors.items() if not acc)
        self.log.append(f"   {self._name(mentor)} accepting requests again")
        participant_update(
            participant=self._person(mentor), user=self.admin, accepting_requests=True
        )
        return "accepting"

    def step_unavailable(self) -> str:
        mentor = self._pick(pk for pk, (_, acc) in self.state.mentors.items() if acc)
        self.log.append(f"   admin marks {self._name(mentor)} unavailable")
        participant_update(
            participant=self._person(mentor), user=self.admin, accepting_requests=False
        )
        return "unavailable"

    def step_autopair_stage(self) -> str:
        options = Options(
            objective=self.rng.choice(list(AutoPairRun.Objective.values)),
            waitlist_only=self.rng.random() < 0.3,
            allow_paired_before=self.rng.random() < 0.4,
            include_not_accepting=self.rng.random() < 0.2,
        )
        self.log.append(f"   auto-pair {options}")
        run = autopair.autopair_start(program=self.program, user=self.admin, options=options)
        # The task is enqueued on commit, which never comes in this test: run it here.
        autopair.autopair_execute(run_id=run.pk)
        run.refresh_from_db()
        if run.status != AutoPairRun.Status.STAGED:
            self.fail(f"auto-pair run {run.pk} ended {run.status}: {run.error}")
        return f"run {run.pk} staged {run.proposals.count()} proposals"

    def step_autopair_confirm(self) -> str:
        run = self.state.staged_run
        self.log.append(f"   confirm auto-pair run {run}")
        result = autopair.autopair_confirm(program=self.program, run_id=run, user=self.admin)
        return f"created {result.created}, skipped {len(result.skipped)}"

    def step_autopair_discard(self) -> str:
        run = self.state.staged_run
        self.log.append(f"   discard auto-pair run {run}")
        autopair.autopair_discard(program=self.program, run_id=run, user=self.admin)
        return "discarded"

    def _wanted(self, mentee: int) -> list[int]:
        if self.rng.random() < 0.5:
            return []
        pool = self._open_mentors_for(mentee) or sorted(self.state.mentors)
        return self.rng.sample(pool, min(len(pool), self.rng.randint(1, 2)))

    def step_waitlist_join(self) -> str:
        mentee = self._mentee()
        self.joining.add(mentee)
        wanted = self._wanted(mentee)
        self.log.append(f"   {self._name(mentee)} joins the waitlist for {wanted or 'anyone'}")
        waitlist_join(mentee=self._person(mentee), mentor_ids=wanted)
        return "joined"

    def step_waitlist_add(self) -> str:
        mentee = self._mentee()
        self.joining.add(mentee)
        wanted = self._wanted(mentee)
        first = self.rng.random() < 0.3
        self.log.append(
            f"   admin adds {self._name(mentee)} to the waitlist for {wanted or 'anyone'}, "
            f"first={first}"
        )
        waitlist_join(mentee=self._person(mentee), mentor_ids=wanted, user=self.admin, first=first)
        return "added"

    def step_waitlist_leave(self) -> str:
        mentee = self._pick(self.state.waitlisted)
        by_admin = self.rng.random() < 0.5
        self.log.append(f"   {self._name(mentee)} leaves the waitlist (admin={by_admin})")
        left = waitlist_leave(mentee=self._person(mentee), user=self.admin if by_admin else None)
        if not left:
            self.fail(f"waitlisted mentee {mentee} was not on the waitlist")
        return "left"

    def _register(self, role: str, **extra) -> Participant:
        self.registered += 1
        person, created = registration_submit(
            program=self.program,
            email=f"walk{self.seed}-{self.registered}@example.org",
            role=role,
            first_name=f"Walker{self.registered}",
            last_name="Example",
            answers={
                "skills": self.rng.sample(TOPICS, 2) if role == Role.MENTOR else [],
                "goals": self.rng.sample(TOPICS, 2) if role == Role.MENTEE else [],
                "interests": self.rng.sample(TOPICS, 1),
            },
            **extra,
        )
        assert created
        return person

    def step_register_mentee(self) -> str:
        return f"mentee {self._register(Role.MENTEE).pk} registered"

    def step_register_mentor(self) -> str:
        capacity = self.rng.randint(1, 3)
        person = self._register(Role.MENTOR, capacity=capacity)
        return f"mentor {person.pk} registered with capacity {capacity}"

    def step_invite(self) -> str:
        s = self.state
        not_invited = [m for m in s.mentees if m not in s.invited]
        free = [m for m in not_invited if m not in s.paired | s.pending_mentees]
        # Mostly those Invite to Pair offers; a paired one now and then (it must refuse).
        pool = free if free and self.rng.random() < 0.85 else not_invited
        chosen = self.rng.sample(pool, min(len(pool), self.rng.randint(1, 3)))
        self.log.append(f"   invite {[self._name(m) for m in chosen]}")
        batch = invitation_send_selected(
            program=self.program, user=self.admin, mentee_ids=chosen, expected=None
        )
        return f"{batch.total} invited"

    def step_after_decline(self) -> str:
        value = self.rng.choice(Program.AfterDecline.values)
        self.log.append(f"   program: after_decline = {value}")
        program_update(program=self.program, user=self.admin, after_decline=value)
        return value

    # --- The invariants ----------------------------------------------------------------------

    def check(self, kind: str, before: State | None) -> None:
        s = self.state
        load = Counter(mentor for _, mentor in s.active.values())
        # (e) capacity, and one pairing per mentee (the database holds the second too).
        for mentor, n in load.items():
            capacity = s.mentors.get(mentor, (0, False))[0]
            if mentor not in s.mentors or n > capacity:
                self.fail(f"(e) {self._name(mentor)} has {n} active pairings, capacity {capacity}")
        mentees = [mentee for mentee, _ in s.active.values()]
        if len(mentees) != len(set(mentees)):
            self.fail(f"(e) a mentee has two active pairings: {Counter(mentees).most_common(2)}")
        # (a) every pending request could still be approved as far as the mentor goes.
        for pk, (_, mentor, _) in s.pending.items():
            if mentor not in s.mentors:
                self.fail(f"(a) request {pk} waits for {mentor}, who is not a mentor")
            capacity, accepting = s.mentors[mentor]
            if not accepting:
                self.fail(f"(a) request {pk} waits for M{mentor}, who is not accepting requests")
            if load[mentor] >= capacity:
                self.fail(
                    f"(a) request {pk} waits for M{mentor}, who is full "
                    f"({load[mentor]} active, capacity {capacity})"
                )
        if s.pending_status != set(s.pending):
            self.fail(
                f"PendingRequest rows and pending statuses differ: {s.pending_status ^ set(s.pending)}"
            )
        # (b) paired, pending, waitlisted: at most one of them.
        paired, pending, waiting = s.paired, s.pending_mentees, s.waitlisted
        if len(pending) != len(s.pending):
            self.fail("(b) a mentee has two pending requests")
        for label, both in (
            ("paired and pending", paired & pending),
            ("paired and waitlisted", paired & waiting),
            ("pending and waitlisted", pending & waiting),
        ):
            if both:
                self.fail(f"(b) mentees {sorted(both)} are {label}")
        if not (paired | pending | waiting) <= set(s.mentees):
            self.fail("(b) someone who is not a mentee is paired, pending or waitlisted")
        # (c) every unpaired mentee is in exactly one state. An invitation stays
        # when its mentee asks a mentor or waits, so pending and waitlisted come first.
        unpaired = [m for m in s.mentees if m not in paired]
        states = Counter()
        for mentee in unpaired:
            if mentee in pending and mentee in waiting:
                self.fail(f"(c) e{mentee} is both pending and waitlisted")
            if mentee in pending:
                states["pending"] += 1
            elif mentee in waiting:
                states["waitlisted"] += 1
            elif mentee in s.invited:
                states["invited"] += 1
            else:
                states["not_invited"] += 1
        if sum(states.values()) != len(unpaired):
            self.fail(f"(c) {len(unpaired)} unpaired mentees but states {states}")
        # The Unpaired tab does not know the waitlist: there a waitlisted mentee
        # is Invited or Not Invited, as the invitations app counts them too.
        rows = {
            "pending": states["pending"],
            "invited": sum(1 for m in unpaired if m not in pending and m in s.invited),
            "not_invited": sum(1 for m in unpaired if m not in pending and m not in s.invited),
        }
        tab = pairing_selectors.unpaired_counts(self.program)
        if tab != rows:
            self.fail(f"(c) the Unpaired tab counts {tab}, the rows say {rows}")
        if self.step_no % 10 == 0 or kind == "invite":
            apps = (
                invite_selectors.mentees_not_invited(self.program).count(),
                invite_selectors.mentees_invited(self.program).count(),
            )
            if apps != (rows["not_invited"], rows["invited"]):
                self.fail(f"(c) the invitations app counts {apps}, the rows say {rows}")
        if before is not None:
            self._check_emails(before)
        if not self.offers_queued:
            self._check_idle_seats()

    def _check_emails(self, before: State) -> None:
        """(d) for the emails this step wrote."""
        s = self.state
        new = s.new_emails
        keys = {key for _, _, key, _ in new}
        where = f"step {self.step_no} ({self.step_text()})"
        # The database refuses a second row for a key and the outbox then skips it
        # silently (ignore_conflicts): so the checks below look for the emails that
        # must exist rather than trusting counts.
        if self.step_no % 50 == 0:
            dup = (
                OutboundEmail.objects.values("idempotency_key")
                .annotate(n=Count("pk"))
                .filter(n__gt=1)
            )
            if dup.exists():
                self.fail(f"(d) duplicate idempotency keys: {list(dup[:3])}")
        # One email per mentor per event: two requests or two mentees at once make one email.
        mentor_of = {s.emails[m]: m for m in s.mentors}
        per_mentor = defaultdict(list)
        for _, kind, key, to in new:
            if to in mentor_of and kind in FAMILY:
                per_mentor[to, FAMILY[kind]].append(key)
        for (to, family), got in sorted(per_mentor.items()):
            if len(got) > 1:
                self.found(
                    f"(d) {where}: M{mentor_of[to]} got {len(got)} '{family}' emails in one "
                    f"event: {got}"
                )
        # A waitlist offer is for a request just made for a mentee who was waiting; one per
        # mentee per event. Its key names the request, so an offer made again for an
        # older request would be dropped silently: hence "just made".
        made_for = {pk: mentee for pk, mentee, _, _ in s.new_requests}
        offered = Counter()
        for _, kind, key, to in new:
            if kind != EmailKind.WAITLIST_OFFER:
                continue
            offered[to] += 1
            mentee = made_for.get(int(key.rsplit(":", 1)[1]))
            if mentee is None or s.emails[mentee] != to:
                self.found(f"(d) {where}: offer {key} to {to} is for no request just made for them")
            elif mentee not in before.waitlisted | self.joining:
                self.found(f"(d) {where}: offer {key} to e{mentee}, who was not on the waitlist")
        for to, n in offered.items():
            if n > 1:
                self.found(f"(d) {where}: {to} got {n} waitlist offers in one event")
        # Everyone asked is told: the mentor of each new request.
        user_led = self.program.pairing_process == Program.Process.USER_LED
        for pk, _, mentor, status in s.new_requests:
            if user_led:  # without approval a request is made approved, with its pairing
                if status != RS.APPROVED:
                    self.found(f"(d) {where}: request {pk} without approval is {status}")
                continue
            if f"mentor-request:{pk}" not in keys and not any(
                kind == EmailKind.MENTOR_REQUESTS and to == s.emails[mentor]
                for _, kind, _, to in new
            ):
                self.found(f"(d) {where}: M{mentor} was not told of request {pk}")
        # Everyone paired is told: both people of each new pairing.
        for pk, mentee, mentor in s.new_pairings:
            if f"assignment:{pk}:{mentee}" not in keys:
                self.found(f"(d) {where}: e{mentee} was not told of pairing {pk}")
            if f"assignment:{pk}:{mentor}" not in keys and not any(
                kind == EmailKind.ASSIGNMENTS and to == s.emails[mentor] for _, kind, _, to in new
            ):
                self.found(f"(d) {where}: M{mentor} was not told of pairing {pk}")
        # Everyone let down is told: a request that stopped waiting (unless withdrawn by
        # the mentee, or settled by pairing them) has its email, or went to the next choice.
        for pk, mentee, _, status in s.stopped_waiting:
            if status == RS.PENDING:
                continue
            if status in (RS.WITHDRAWN, RS.APPROVED) or mentee in s.paired:
                continue
            told = {
                f"{ENDED_KEY[status]}:{pk}",
                f"request-forwarded:{pk}",
                f"waitlist-returned:{pk}",
            }
            if not told & keys:
                self.found(f"(d) {where}: e{mentee} was not told request {pk} {status}")

    def _check_idle_seats(self) -> None:
        """(f) A free seat is offered at once to a waitlisted mentee who may take it.

        The program's match weights have no must-match field (asserted at the
        start), so the waitlist offers every pair but those who said no (the mentor
        declined the mentee, or their pairing ended) and those whose request lapsed
        or was taken back. A pair found idle is reported once, at the step that left
        it so. A step that queued offers for after its commit is judged after them.
        """
        s = self.state
        idle: set[tuple[int, int]] = set()
        if s.waitlisted:
            waiting_for = Counter(mentor for _, mentor, _ in s.pending.values())
            held = s.held
            free = [
                mentor
                for mentor, (capacity, accepting) in s.mentors.items()
                if accepting and capacity > s.load(mentor) + waiting_for[mentor] + held[mentor]
            ]
            idle = {
                (mentee, mentor)
                for mentee in s.waitlisted
                for mentor in free
                if (mentee, mentor) not in s.said_no
                and (mentee, mentor) not in s.no_reoffer
                and (not s.wanted[mentee] or mentor in s.wanted[mentee])
            }
        if fresh := sorted(idle - self.idle):
            pairs = ", ".join(f"e{mentee}/M{mentor}" for mentee, mentor in fresh)
            self.found(
                f"(f) step {self.step_no} ({self.step_text()}): free seats left while a "
                f"waitlisted mentee who may take them waits (mentee/mentor): {pairs}"
            )
        self.idle = idle

    # --- The end -----------------------------------------------------------------------------

    def report(self) -> str:
        kinds = sorted(set(self.done) | set(self.refused) | set(self.skipped))
        lines = [
            f"seed {self.seed}, {self.steps} steps",
            f"{'step':<18}{'ok':>6}{'refused':>9}{'skipped':>9}",
            *(f"{k:<18}{self.done[k]:>6}{self.refused[k]:>9}{self.skipped[k]:>9}" for k in kinds),
        ]
        s = self.state
        lines.append(
            f"at the end: {len(s.mentees)} mentees, {len(s.mentors)} mentors, {len(s.active)} "
            f"active, {len(s.pending)} pending, {len(s.waitlisted)} waitlisted"
        )
        return "\n".join(lines)


def _setup(process: str, *, mentees: int, mentors: int, seed: int) -> tuple[Program, object]:
    rng = random.Random(seed)
    org = factories.OrganizationFactory()
    admin = factories.MembershipFactory(organization=org).user
    program = factories.ProgramFactory(
        organization=org, pairing_process=process, waitlist_enabled=True
    )
    pairing_turn_on(program=program, user=admin)
    program.refresh_from_db()
    # (f) relies on it: a must-match field would rule some pairs out of the waitlist.
    assert all(weight < 10 for weight in scheme_of(program).weights)
    people = [
        factories.ParticipantFactory(
            program=program, goals=rng.sample(TOPICS, 2), interests=rng.sample(TOPICS, 1)
        )
        for _ in range(mentees)
    ]
    for _ in range(mentors):
        factories.MentorFactory(
            program=program,
            capacity=rng.randint(1, 3),
            skills=rng.sample(TOPICS, 2),
            interests=rng.sample(TOPICS, 1),
        )
    # Most mentees are invited, as an admin would; the rest (and everyone who
    # registers during the walk) start Not Invited, so (c) sees all four states.
    invitation_send_selected(
        program=program, user=admin, mentee_ids=[p.pk for p in people[2:]], expected=None
    )
    return program, admin


# How often each step is chosen, among those with something to act on.
WITH_APPROVAL = {
    "submit": 14,
    "approve": 8,
    "decline": 6,
    "expire": 5,
    "withdraw": 3,
    "cancel": 3,
    "stale_decision": 1.5,
    "pair_by_hand": 5,
    "end": 8,
    "capacity": 5,
    "available_again": 3,
    "unavailable": 1,
    "autopair_stage": 1.5,
    "autopair_confirm": 5,
    "autopair_discard": 4,
    "waitlist_join": 6,
    "waitlist_add": 4,
    "waitlist_leave": 3,
    "register_mentee": 1.2,
    "register_mentor": 0.5,
    "invite": 1.5,
    "after_decline": 0.7,
}
# Without approval a submit pairs at once: no request ever waits.
WITHOUT_APPROVAL = {
    k: v
    for k, v in WITH_APPROVAL.items()
    if k not in ("approve", "decline", "expire", "withdraw", "cancel", "after_decline")
}


def _walk(process: str, *, steps: int, seed: int, weights: dict[str, float], **sizes) -> Walk:
    program, admin = _setup(process, seed=seed, **sizes)
    walk = Walk(program=program, admin=admin, seed=seed, steps=steps, weights=weights)
    walk.run()
    print(walk.report())
    return walk


def _assert_exercised(walk: Walk, kinds, *, at_least: int) -> None:
    """The walk really went everywhere: each step succeeded a few times at least."""
    thin = {k: walk.done[k] for k in kinds if walk.done[k] < at_least}
    assert not thin, f"seed {walk.seed}: these steps rarely succeeded: {thin}\n{walk.report()}"


def _assert_no_findings(walk: Walk) -> None:
    """Each kind of finding (invariant, step) once, with how often it came up."""
    kinds: dict[tuple[str, str], list[str]] = defaultdict(list)
    for invariant, step, text in walk.findings:
        kinds[invariant, step].append(text)
    shown = "\n".join(
        f"{len(texts)}x {invariant} after {step}; the first: {texts[0]}"
        for (invariant, step), texts in sorted(kinds.items())
    )
    assert not walk.findings, (
        f"seed {walk.seed}: {len(walk.findings)} findings (replay: "
        f"LIFECYCLE_WALK_SEED={walk.seed})\n{shown}\n{walk.report()}"
    )


def test_random_walk_with_approval_keeps_every_invariant():
    walk = _walk(
        Program.Process.USER_LED_APPROVAL,
        steps=int(STEPS_OVERRIDE or 2000),
        seed=SEED,
        weights=WITH_APPROVAL,
        mentees=12,
        mentors=4,
    )
    _assert_exercised(walk, WITH_APPROVAL, at_least=3)
    _assert_no_findings(walk)


def test_random_walk_without_approval_keeps_every_invariant():
    walk = _walk(
        Program.Process.USER_LED,
        steps=int(STEPS_OVERRIDE or 400),
        seed=SEED + 1,
        weights=WITHOUT_APPROVAL,
        mentees=10,
        mentors=4,
    )
    _assert_exercised(walk, WITHOUT_APPROVAL, at_least=3)
    _assert_no_findings(walk)
