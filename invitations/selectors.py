"""Reads for inviting mentees: who can be invited or re-invited, and a batch's progress."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from invitations.models import Invitation, InvitationBatch
from pairing_admin.mail.models import OutboundEmail, Suppression
from pairing_admin.mail.sweep import abandoned
from programs import hooks
from programs.models import Participant, Program

Status = OutboundEmail.Status


def _mentees(program: Program) -> QuerySet[Participant]:
    return Participant.objects.mentees().filter(program=program)


def _free_mentees(program: Program, *, invited: bool) -> QuerySet[Participant]:
    """Mentees nobody is pairing: neither paired nor waiting for a mentor's answer;
    with an invitation or without one.

    Pairing sits above this app and registers the rule (pairing.unpaired) in
    programs.hooks; tests/pairing/test_unpaired.py checks both apps agree. Told
    `invited`, pairing's filter narrows to those mentees on its own kept row,
    so the join on invitations below reads only them.
    """
    has_one = Exists(Invitation.objects.filter(mentee=OuterRef("pk")))
    return _mentees(program).filter(
        hooks.not_engaged(invited=invited), has_one if invited else ~has_one
    )


def mentees_not_invited(program: Program) -> QuerySet[Participant]:
    """Not Invited by Admin: no invitation, not paired, no pending request; by name."""
    return _free_mentees(program, invited=False).order_by("last_name", "first_name", "id")


def mentees_invited(program: Program) -> QuerySet[Participant]:
    """Invited, and still neither paired nor waiting on a request; by name."""
    return _free_mentees(program, invited=True).order_by("last_name", "first_name", "id")


# An address that bounced or complained is never sent to (the outbox would
# mark the email "suppressed"). Its mentee is left out of invitations
# altogether: no email, no Invitation, so they stay Not Invited by Admin (or
# keep their earlier invitation on a resend) and every count an admin sees,
# from the prompt to the progress bar and the outbox, is of emails that go.
# Participant emails are stored lower-cased, as suppressions are.
def _suppressed() -> Exists:
    return Exists(Suppression.objects.filter(email=OuterRef("email")))


def sendable(pool: QuerySet[Participant]) -> QuerySet[Participant]:
    """The mentees of `pool` whose address we still send to."""
    return pool.filter(~_suppressed())


def prompt_counts(pool: QuerySet[Participant]) -> tuple[int, int]:
    """(emails that will go, mentees skipped for a suppressed address), in one query."""
    # An uncorrelated IN, which PostgreSQL hashes once: as a per-row EXISTS in the
    # select list it took 0.1 - 0.6 s for 50,000 mentees (the click's budget is 1 s).
    row = pool.order_by().aggregate(
        total=Count("pk"),
        skipped=Count("pk", filter=Q(email__in=Suppression.objects.values("email"))),
    )
    return (row["total"] or 0) - (row["skipped"] or 0), row["skipped"] or 0


def stoppable(batch_id: int) -> Q:
    """The batch's emails that Stop sending can still stop."""
    return Q(batch_id=batch_id) & (Q(status=Status.QUEUED) | abandoned())


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    failed: int
    pending: int  # not finished yet: every kind below, and emails not written yet
    stopped: int = 0  # an admin stopped the batch before these went out
    # A large batch a worker is still writing: `prepared` of `total` mentees so far.
    preparing: bool = False
    prepared: int = 0
    # Why the pending ones wait:
    sending: int = 0  # a live worker is handing them to the email service now
    abandoned: int = 0  # their worker stopped mid-batch; the next sweep re-queues them
    retrying: int = 0  # refused for now by the email service; tried again at `retry_at`
    retry_at: datetime | None = None
    unwritten: int = 0  # mentees of a batch still being prepared whose email is not written

    @property
    def done(self) -> bool:
        return not self.preparing and self.pending == 0

    @property
    def in_line(self) -> int:
        """Written and waiting for a worker to take them."""
        return self.pending - self.unwritten - self.sending - self.abandoned - self.retrying

    @property
    def can_stop(self) -> bool:
        """Whether Stop sending has anything left to stop."""
        return self.preparing or self.pending > self.sending

    @property
    def finished(self) -> int:
        return self.sent + self.failed + self.stopped

    @property
    def percent(self) -> int:
        return round(100 * self.finished / self.total) if self.total else 100


def batch_progress(batch: InvitationBatch) -> Progress:
    """Sent / failed / waiting emails of one batch, and why they wait, in one query."""
    now = timezone.now()
    waiting = Q(status=Status.QUEUED)
    later = Q(next_attempt_at__gt=now)
    row = OutboundEmail.objects.filter(batch_id=batch.pk).aggregate(
        total=Count("id"),
        sent=Count("id", filter=Q(status=Status.SENT)),
        failed=Count("id", filter=Q(status__in=[Status.FAILED, Status.BOUNCED, Status.SUPPRESSED])),
        pending=Count("id", filter=Q(status__in=[Status.QUEUED, Status.SENDING])),
        stopped=Count("id", filter=Q(status=Status.STOPPED)),
        sending=Count("id", filter=Q(status=Status.SENDING) & ~abandoned()),
        abandoned=Count("id", filter=abandoned()),
        retrying=Count("id", filter=waiting & later),
        retry_at=Min("next_attempt_at", filter=waiting & later),
    )
    counts = {
        k: row[k] or 0
        for k in (
            "total",
            "sent",
            "failed",
            "pending",
            "stopped",
            "sending",
            "abandoned",
            "retrying",
        )
    }
    counts["retry_at"] = row["retry_at"]
    if batch.state != InvitationBatch.State.PREPARING:
        return Progress(**counts)
    # Emails not written yet count as waiting, so the bar never looks finished early.
    unwritten = max(batch.planned - counts["total"], 0)
    counts["total"] += unwritten
    counts["pending"] += unwritten
    return Progress(**counts, preparing=True, prepared=batch.prepared, unwritten=unwritten)


def preparing_batch(program: Program) -> tuple[int, int] | None:
    """(id, mentees planned) of the program's batch a worker is still writing, if any."""
    return (
        InvitationBatch.objects.filter(program=program, state=InvitationBatch.State.PREPARING)
        .values_list("pk", "planned")
        .first()
    )


def batch_for_program(program: Program, batch_id: int) -> InvitationBatch | None:
    return (
        InvitationBatch.objects.filter(program=program, pk=batch_id)
        .select_related("created_by")
        .defer("mentee_ids", "template")  # up to a few hundred kB while a batch is prepared
        .first()
    )
