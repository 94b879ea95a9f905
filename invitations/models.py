from django.conf import settings
from django.db import models
from django.db.models import Q

from programs.models import Program


class InvitationBatch(models.Model):
    """One click of Invite all Mentees / Invite to Pair / a bulk invite or resend."""

    class Kind(models.TextChoices):
        ALL = "all", "Invite all Mentees"
        SELECTED = "selected", "Invite selected"
        SINGLE = "single", "Invite to Pair"
        RESEND = "resend", "Resend invitation"

    program = models.ForeignKey(
        Program, on_delete=models.CASCADE, related_name="invitation_batches"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    total = models.PositiveIntegerField(default=0)

    class State(models.TextChoices):
        PREPARING = "preparing", "Preparing"
        READY = "ready", "Ready"
        STOPPED = "stopped", "Stopped"

    # A large Invite all commits only the batch with the mentees it covers;
    # a worker then writes their invitations, links and outbox rows a chunk
    # (one transaction) at a time, from `prepared` on. Small batches are
    # written in the click's own transaction and start out ready.
    state = models.CharField(max_length=16, choices=State.choices, default=State.READY)
    planned = models.PositiveIntegerField(default=0)  # the count the admin confirmed
    mentee_ids = models.JSONField(default=list, blank=True)  # emptied once prepared
    prepared = models.PositiveIntegerField(default=0)  # how many of mentee_ids are done
    touched_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=300, blank=True)
    # The invitation template as it was when the admin clicked Send Emails
    # ({"subject", "text", "html"}): every chunk of the batch renders from it,
    # so an edit saved meanwhile never changes emails halfway through a batch.
    # Empty for batches written before it existed (they use the current one).
    template = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One batch at a time is prepared per program: invite clicks wait
            # for it, so a mentee is never counted into two batches.
            models.UniqueConstraint(
                fields=["program"],
                condition=Q(state="preparing"),
                name="invitation_batch_one_preparing",
            ),
            models.CheckConstraint(
                condition=Q(prepared__lte=models.F("planned")),
                name="invitation_batch_prepared_lte_planned",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.total})"


class Invitation(models.Model):
    """An admin invited this mentee to pair. Until one exists: Not Invited by Admin."""

    # program: covered by the (program, invited_at) index; invited_by: only
    # looked up when a user is deleted (rare), so neither has its own index.
    program = models.ForeignKey(
        Program, on_delete=models.CASCADE, related_name="invitations", db_index=False
    )
    mentee = models.OneToOneField(
        "programs.Participant", on_delete=models.CASCADE, related_name="invitation"
    )
    batch = models.ForeignKey(InvitationBatch, on_delete=models.PROTECT, related_name="invitations")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    invited_at = models.DateTimeField()
    # How many times the invitation email was asked for (1 + resends); part of
    # each email's idempotency key, so a resend is a new email on purpose.
    sends = models.PositiveSmallIntegerField(default=1)
    last_sent_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["program", "invited_at"])]

    def __str__(self) -> str:
        return f"Invitation of {self.mentee_id}"
