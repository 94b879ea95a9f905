from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy

from programs.models import Participant, Program


class MentorPreference(models.Model):
    """A mentee's ranked choice of mentor (1 = first choice)."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    mentee = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="preferences")
    mentor = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["mentee", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["mentee", "rank"], name="preference_rank_unique"),
            models.UniqueConstraint(fields=["mentee", "mentor"], name="preference_mentor_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.mentee_id} -> {self.mentor_id} (#{self.rank})"


class MentorRequest(models.Model):
    """A mentee asks a mentor. Pending until decided, expired, withdrawn or cancelled.

    The database holds the rules: one pending request per mentee (on
    PendingRequest, which its triggers keep), and a decided request carries
    its decision time. Status changes are
    compare-and-set (UPDATE ... WHERE status = 'pending'), so a decided or
    expired request never changes again.
    """

    # Labels translated: participants read a request's status in their program's language.
    class Status(models.TextChoices):
        PENDING = "pending", gettext_lazy("Pending")
        APPROVED = "approved", gettext_lazy("Approved")
        DECLINED = "declined", gettext_lazy("Declined")
        EXPIRED = "expired", gettext_lazy("Expired")
        WITHDRAWN = "withdrawn", gettext_lazy("Withdrawn")
        CANCELLED = "cancelled", gettext_lazy("Cancelled by an admin")
        # The mentor's last free seat went (an approval, a pairing by hand or
        # auto-pair, a lower capacity, "unavailable for now"): their other
        # pending requests end at once instead of waiting out the deadline.
        CLOSED = "closed", gettext_lazy("Closed: mentor full")

    # No index of this table mentions status, so deciding or expiring a
    # request is a HOT update (the row changes in place, no index is written):
    # what keeps the expiry of thousands of requests cheap. Where a request is
    # pending is in PendingRequest, which the database keeps.
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="mentor_requests")
    mentee = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="requests_made")
    mentor = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="requests_received"
    )
    rank = models.PositiveSmallIntegerField(default=1)
    note = models.TextField(blank=True, max_length=1000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decline_message = models.TextField(blank=True, max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_at__isnull=False)),
                name="request_decided_at_matches_status",
            ),
        ]
        indexes = [
            # The admin's requests list, newest first: a walk that stops at the
            # page. created_at never changes, so decisions stay HOT updates.
            models.Index(
                F("program"), F("created_at").desc(), F("id").desc(), name="request_list_idx"
            ),
            # Only people decide; the sweep's expiries leave it empty.
            models.Index(
                fields=["decided_by"],
                name="request_decided_by_idx",
                condition=Q(decided_by__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mentee_id} -> {self.mentor_id} ({self.status})"


class RequestCount(models.Model):
    """How many requests a program has in each status: the sum of its rows.

    Written only by the triggers on the requests table (pairing.request_counts;
    pairing_admin.lib.kept_counts says how): the requests list's figures and
    its count, without counting every request of the program on each view.
    """

    # No foreign key: rows of a deleted program sum to nothing and fold away.
    program = models.ForeignKey(
        Program, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    status = models.CharField(max_length=16, choices=MentorRequest.Status.choices)
    n = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["program", "status"], include=["n"], name="request_count_idx")
        ]

    def __str__(self) -> str:
        return f"{self.program_id}: {self.status} {self.n:+d}"


class PendingRequest(models.Model):
    """One row per pending request, written only by the database's triggers.

    Migration 0005 installs them: making a pending request inserts its row
    here; any change of its status from pending, or deleting the request,
    deletes it; a decided request can never become pending again (the
    trigger raises). Code reads this table (who is waiting, by program,
    mentee, mentor or deadline) and never writes it.

    Why a table of its own: if the requests table indexed status, every
    decision and expiry would write a new entry into each of its indexes
    (one random page each). With pending-ness here, the expiry sweep changes
    its rows in place and deletes these narrow rows instead.
    """

    request = models.OneToOneField(
        MentorRequest, primary_key=True, on_delete=models.DO_NOTHING, related_name="waiting"
    )
    program = models.ForeignKey(Program, on_delete=models.DO_NOTHING, related_name="+")
    # The unique constraint below is the mentee's index.
    mentee = models.ForeignKey(
        Participant, on_delete=models.DO_NOTHING, related_name="pending_as_mentee", db_index=False
    )
    mentor = models.ForeignKey(Participant, on_delete=models.DO_NOTHING, related_name="+")
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mentee"], name="one_pending_request_per_mentee"),
        ]
        indexes = [
            # The expiry and reminder sweeps read by deadline.
            models.Index(fields=["expires_at"], name="request_pending_deadline_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.mentee_id} -> {self.mentor_id} (pending)"


class MenteeStanding(models.Model):
    """Where a participant stands as a mentee, one row each, written only by triggers.

    Migration 0009 installs them (pairing.standing_triggers says how they stay
    right under concurrency): `paired`, `pending` and `invited` follow the
    active pairing, the pending request and the invitation; program, role and
    names follow the participant row. Code reads it (the Unpaired Mentees
    sub-tabs and their counts, who is unpaired: pairing.unpaired) and never
    writes it.

    Why a table: "who is unpaired and invited" asked of the pairings, requests
    and invitations is three anti-joins over every mentee of the program; here
    it is `state`, and a sub-tab is a walk of one index in name order that
    stops at the page's rows, its count an index-only count.
    """

    class State(models.TextChoices):
        NOT_MENTEE = "", "Not a mentee"
        PAIRED = "paired", "Paired"
        PENDING = "pending", "Request pending"
        INVITED = "invited", "Invited"
        NOT_INVITED = "not_invited", "Not Invited by Admin"

    participant = models.OneToOneField(
        Participant, primary_key=True, on_delete=models.DO_NOTHING, related_name="standing"
    )
    # The list index below starts with the program.
    program = models.ForeignKey(
        Program, on_delete=models.DO_NOTHING, related_name="+", db_index=False
    )
    role = models.CharField(max_length=10)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    paired = models.BooleanField(default=False)
    pending = models.BooleanField(default=False)
    invited = models.BooleanField(default=False)
    state = models.GeneratedField(
        expression=models.Case(
            models.When(~Q(role="mentee"), then=models.Value(State.NOT_MENTEE)),
            models.When(paired=True, then=models.Value(State.PAIRED)),
            models.When(pending=True, then=models.Value(State.PENDING)),
            models.When(invited=True, then=models.Value(State.INVITED)),
            default=models.Value(State.NOT_INVITED),
        ),
        output_field=models.CharField(max_length=12, choices=State.choices),
        db_persist=True,
    )

    class Meta:
        indexes = [
            # A sub-tab in the order it is shown; its count reads only this index.
            models.Index(
                fields=["program", "state", "last_name", "first_name", "participant"],
                name="standing_list_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant_id}: {self.state or 'not a mentee'}"


class StandingCount(models.Model):
    """How many participants of a program stand in each state: the sum of its rows.

    Written only by the triggers on MenteeStanding (pairing.standing_triggers):
    each statement that changes standings adds its change as a row, and folds
    in the rows no other transaction holds (SKIP LOCKED), so a program keeps
    about one row per state and nobody waits on a shared counter row. The
    Unpaired Mentees tab reads its counts here instead of counting mentees.
    """

    # No foreign key: rows of a deleted program sum to nothing and fold away.
    program = models.ForeignKey(
        Program, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    state = models.CharField(max_length=12, choices=MenteeStanding.State.choices)
    n = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["program", "state"], include=["n"], name="standing_count_idx")
        ]

    def __str__(self) -> str:
        return f"{self.program_id}: {self.state or 'not a mentee'} {self.n:+d}"


def last_session_order() -> Coalesce:
    """A pairing's last session as its sort key: one without a session sorts first going up,
    last going down, as NULLS FIRST would, in an index that SQLite can build too."""
    return Coalesce(F("last_session"), Value(date.min))


class PairingQuerySet(models.QuerySet):
    def active(self) -> "PairingQuerySet":
        return self.filter(status=Pairing.Status.ACTIVE)


class Pairing(models.Model):
    """A mentee and a mentor working together in a program."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"

    class Origin(models.TextChoices):
        REQUEST = "request", "Request"
        ADMIN = "admin", "Admin"
        AUTO_PAIR = "auto_pair", "Auto-pair"
        WAITLIST = "waitlist", "Waitlist"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="pairings")
    mentee = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="pairings_as_mentee"
    )
    mentor = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="pairings_as_mentor"
    )
    origin = models.CharField(max_length=16, choices=Origin.choices)
    request = models.OneToOneField(
        MentorRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="pairing"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    started_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    end_reason = models.TextField(blank=True, max_length=2000)
    do_not_pair_again = models.BooleanField(default=False)
    # Kept by the database (pairing.pairing_figures), never written by code: the held
    # sessions and the two people's names, so the tabs sort and count from this row alone.
    sessions_done = models.PositiveIntegerField(default=0, editable=False)
    last_session = models.DateField(null=True, blank=True, editable=False)
    mentee_last_name = models.CharField(max_length=100, blank=True, editable=False)
    mentee_first_name = models.CharField(max_length=100, blank=True, editable=False)
    mentor_last_name = models.CharField(max_length=100, blank=True, editable=False)
    mentor_first_name = models.CharField(max_length=100, blank=True, editable=False)

    objects = PairingQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mentee"],
                condition=Q(status="active"),
                name="one_active_pairing_per_mentee",
            ),
            models.CheckConstraint(
                condition=Q(status="active", ended_at__isnull=True)
                | Q(status="ended", ended_at__isnull=False),
                name="pairing_ended_at_matches_status",
            ),
            models.CheckConstraint(
                condition=~Q(mentee=models.F("mentor")), name="pairing_two_people"
            ),
            # The health rules read "no session held" as "no last session".
            models.CheckConstraint(
                condition=Q(sessions_done=0, last_session__isnull=True)
                | Q(sessions_done__gt=0, last_session__isnull=False),
                name="pairing_last_session_matches_count",
            ),
        ]
        indexes = [
            models.Index(fields=["program", "status"], name="pairing_program_status_idx"),
            models.Index(fields=["mentor", "status"], name="pairing_mentor_status_idx"),
            # One per sort of the Active Pairings tab (pairing.health.SORTS), walked
            # either way up to the page shown: no page sorts the program's pairings.
            # Started also holds the figures of health, so counts and filters by health
            # read this index alone.
            models.Index(
                fields=["program", "started_at", "id"],
                include=["sessions_done", "last_session"],
                name="pairing_active_started_idx",
                condition=Q(status="active"),
            ),
            # The Health tab's chart reads the pairings ended in its last weeks.
            models.Index(
                fields=["program", "ended_at"],
                include=["started_at", "sessions_done"],
                name="pairing_ended_idx",
                condition=Q(status="ended"),
            ),
            # The health sort walks each status by id (pairing.health._PagePaginator).
            models.Index(
                fields=["program", "id"],
                include=["started_at", "last_session"],
                name="pairing_active_id_idx",
                condition=Q(status="active"),
            ),
            *(
                models.Index(*key, "id", name=name, condition=Q(status="active"))
                for name, key in [
                    ("pairing_active_sessions_idx", ("program", "sessions_done")),
                    ("pairing_active_last_idx", (F("program"), last_session_order())),
                    (
                        "pairing_active_mentee_idx",
                        ("program", "mentee_last_name", "mentee_first_name"),
                    ),
                    (
                        "pairing_active_mentor_idx",
                        ("program", "mentor_last_name", "mentor_first_name"),
                    ),
                ]
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mentee_id} with {self.mentor_id} ({self.status})"


class WaitingManager(models.Manager):
    """The entries of mentees waiting now: not those holding an offer."""

    def get_queryset(self):
        return super().get_queryset().filter(offer__isnull=True)


class WaitlistEntry(models.Model):
    """A mentee's place on the waitlist.

    Order: priority first (a mentee whose pairing ended early may be put
    first), then who joined earliest. When a seat frees, pairing.waitlist
    offers it to the first mentee in that order who may take it (named
    mentors, must-match rules, nobody who said no). With Approval the offer
    is a request, and the row keeps the mentee's place while it waits
    (`offer`): approved, the row goes with the pairing; declined, lapsed or
    closed, the mentee is back in line where they were. Without Approval the
    offer is a pairing and the row goes at once. `objects` reads only the
    mentees waiting now; `every` reads all rows. Every change of a row
    happens under its mentee's participant lock
    (programs.services.lock_participants), so a mentee is never offered two
    seats at once.
    """

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    mentee = models.OneToOneField(
        Participant, on_delete=models.CASCADE, related_name="waitlist_entry"
    )
    joined_at = models.DateTimeField()
    # 1: put first by an admin (an early end); 0: in order of joining.
    priority = models.PositiveSmallIntegerField(default=0)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Empty: any mentor with room who suits the program's rules.
    wanted_mentors = models.ManyToManyField(Participant, blank=True, related_name="+")
    # The request a seat's offer made for the mentee, while it waits for the mentor.
    offer = models.OneToOneField(
        MentorRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # The first manager is the default one Django uses for relations and deletes.
    every = models.Manager()
    objects = WaitingManager()

    class Meta:
        ordering = ["-priority", "joined_at", "id"]
        indexes = [
            models.Index(
                F("program"),
                F("priority").desc(),
                F("joined_at"),
                F("id"),
                name="waitlist_order_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.mentee_id} waiting since {self.joined_at:%Y-%m-%d}"


class MentoringSession(models.Model):
    """A meeting of a pairing, logged by the mentee or mentor from their link, or by an admin.

    A session dated today or earlier counts as held; one dated later is
    upcoming (status "scheduled") until its day comes, when a beat sweep marks it
    "logged" (pairing.services.sessions_hold_due). Ending the pairing cancels
    upcoming ones. The database keeps the held ones' figures on the pairing
    (pairing.pairing_figures).
    """

    class Status(models.TextChoices):
        LOGGED = "logged", "Held"
        SCHEDULED = "scheduled", "Upcoming"
        CANCELLED = "cancelled", "Cancelled"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    pairing = models.ForeignKey(Pairing, on_delete=models.CASCADE, related_name="sessions")
    date = models.DateField()
    minutes = models.PositiveSmallIntegerField()
    note = models.TextField(blank=True, max_length=2000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.LOGGED)
    logged_by_participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    logged_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes__gte=5, minutes__lte=600), name="session_minutes_range"
            ),
            models.CheckConstraint(
                condition=Q(status="cancelled", cancelled_at__isnull=False)
                | (~Q(status="cancelled") & Q(cancelled_at__isnull=True)),
                name="session_cancelled_at_matches_status",
            ),
        ]
        indexes = [
            models.Index(fields=["pairing", "status", "date"], name="session_pairing_idx"),
            models.Index(fields=["program", "date"], name="session_program_date_idx"),
            # Upcoming sessions whose day has come (pairing.services.sessions_hold_due).
            models.Index(
                fields=["program", "date"],
                name="session_upcoming_idx",
                condition=Q(status="scheduled"),
            ),
        ]

    def __str__(self) -> str:
        return f"Session of {self.pairing_id} on {self.date}"


class HealthRules(models.Model):
    """A program's own health rules; without a row the defaults apply (see pairing.health)."""

    program = models.OneToOneField(Program, on_delete=models.CASCADE, related_name="health_rules")
    early_days = models.PositiveSmallIntegerField(default=14)
    first_session_days = models.PositiveSmallIntegerField(default=14)
    recent_days = models.PositiveSmallIntegerField(default=30)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(early_days__gte=1, early_days__lte=365)
                & Q(first_session_days__gte=1, first_session_days__lte=365)
                & Q(recent_days__gte=1, recent_days__lte=365)
                & Q(early_days__lte=models.F("first_session_days")),
                name="health_rules_ranges",
            )
        ]

    def __str__(self) -> str:
        return f"Health rules of {self.program_id}"


# --- Auto-pair ---------------------------------------------------------------------


class AutoPairRun(models.Model):
    """One auto-pair run: its settings, its progress, and (once staged) its result.

    A program has at most one open run (queued, running or staged), held in
    the database: staged proposals hold their mentors' capacity, and two
    open runs would promise the same seats twice.
    """

    class Objective(models.TextChoices):
        MOST_PAIRS = "most_pairs", "Pair as many mentees as possible"
        QUALITY = "quality", "Highest match quality"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        STAGED = "staged", "Ready for review"
        CONFIRMED = "confirmed", "Confirmed"
        DISCARDED = "discarded", "Discarded"
        FAILED = "failed", "Failed"

    OPEN = (Status.QUEUED, Status.RUNNING, Status.STAGED)

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="autopair_runs")
    objective = models.CharField(
        max_length=16, choices=Objective.choices, default=Objective.MOST_PAIRS
    )
    # The rules of this run (see pairing.autopair.Options).
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    progress_label = models.CharField(max_length=120, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    staged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Seconds per phase: {"load", "score", "solve", "stage", "total"}.
    timings = models.JSONField(default=dict, blank=True)
    # Figures of the result: mentees, mentors, seats, pairs, total/average score,
    # unpaired by reason, greedy baseline, confirmation outcome.
    totals = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["program"],
                condition=Q(status__in=["queued", "running", "staged"]),
                name="one_open_autopair_run_per_program",
            ),
        ]

    def __str__(self) -> str:
        return f"Auto-pair run {self.pk} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def is_working(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class AutoPairProposal(models.Model):
    """A pair the run proposes; becomes a Pairing when the admin confirms."""

    run = models.ForeignKey(AutoPairRun, on_delete=models.CASCADE, related_name="proposals")
    mentee = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    mentor = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    reasons = models.JSONField(default=list, blank=True)
    # The mentee's rank for this mentor in their submitted preferences, if any.
    preference_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    # True when an admin swapped in this mentor by hand.
    swapped = models.BooleanField(default=False)

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "mentee"], name="autopair_one_proposal_per_mentee"
            )
        ]
        indexes = [models.Index(fields=["run", "mentor"], name="autopair_proposal_mentor_idx")]

    def __str__(self) -> str:
        return f"{self.mentee_id} -> {self.mentor_id} ({self.score:.1f})"


class AutoPairUnpaired(models.Model):
    """A mentee the run leaves unpaired, and why."""

    class Reason(models.TextChoices):
        NO_CANDIDATE = "no_candidate", "No mentor passes the must-match fields"
        ALL_FULL = "all_full", "Every matching mentor is full or not accepting mentees"
        RULE_EXCLUDED = "rule_excluded", "Every matching mentor is ruled out by a pairing rule"
        NOT_CHOSEN = "not_chosen", "Their candidates went to other mentees"
        NO_SCORE = "no_score", "No candidate adds any match score"
        REMOVED = "removed", "Removed from the proposals by an admin"

    run = models.ForeignKey(AutoPairRun, on_delete=models.CASCADE, related_name="unpaired")
    mentee = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=16, choices=Reason.choices)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "mentee"], name="autopair_one_unpaired_per_mentee"
            )
        ]

    def __str__(self) -> str:
        return f"{self.mentee_id}: {self.reason}"
