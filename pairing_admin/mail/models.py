"""The email layer's tables: the outbox, suppressions, provider events, templates, links."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from pairing_admin.mail.kinds import check_kind
from pairing_admin.mail.kinds import label as kind_label


class OutboundEmail(models.Model):
    """The outbox: one row per email, written in the transaction that causes it.

    A worker claims rows (queued -> sending) with a conditional update, sends
    them, and marks each one sent as soon as the provider accepted it. The
    unique idempotency key means the same cause can never produce two rows.
    Program (and Participant) by string: mail never imports programs.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Suppressed"
        BOUNCED = "bounced", "Bounced"
        # An admin stopped the batch before this email went out; never sent.
        STOPPED = "stopped", "Stopped before sending"

    # Indexes are chosen for the write path too: an Invite all writes 50,000
    # rows and every "sent" mark rewrites a row's index entries, so no index
    # is kept that another one covers (program: outbox_log_status_idx).
    program = models.ForeignKey(
        "programs.Program",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="emails",
        db_index=False,
    )
    # No choices: each app registers its kinds and labels (mail.kinds).
    kind = models.CharField(max_length=32)
    # Unique through Meta.constraints: a plain unique=True would add a second,
    # LIKE-only index on PostgreSQL that nothing uses.
    idempotency_key = models.CharField(max_length=200)
    batch_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    to_email = models.EmailField()
    to_name = models.CharField(max_length=200, blank=True)
    reply_to = models.EmailField(blank=True)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the row was last handed to the broker, claimed by a worker, or (while
    # "sending") last renewed by that worker's lease: the sweeper only touches
    # rows that have sat longer than its threshold.
    touched_at = models.DateTimeField(auto_now_add=True)
    # The claim a worker holds on a "sending" row (random per batch run): its
    # lease renewals and marks only apply to rows still carrying it.
    claim = models.CharField(max_length=32, blank=True, default="", db_default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "invitations_outboundemail"  # the table kept its name when the model moved
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweeper's scan: only unfinished rows are in this index.
            models.Index(
                fields=["touched_at"],
                name="outbox_unfinished_idx",
                condition=Q(status__in=["queued", "sending"]),
            ),
            # The email log, newest first. A page's ids come from one of these
            # alone (pairing_admin.lib.pagination): all of a program's emails or
            # a search from the first (the recipient is carried in it, so no
            # row is read), one status or one kind from the others; the status
            # one also counts the status tabs by itself.
            models.Index(
                fields=["program", "created_at", "id"],
                include=["to_email", "to_name"],
                name="outbox_log_idx",
            ),
            models.Index(
                fields=["program", "status", "created_at", "id"], name="outbox_log_status_idx"
            ),
            models.Index(
                fields=["program", "kind", "created_at", "id"], name="outbox_log_kind_idx"
            ),
            # One person's emails, newest first (a pairing's page shows its two people's).
            models.Index(
                fields=["program", "to_email", "created_at", "id"], name="outbox_recipient_idx"
            ),
            # Webhooks look rows up by the provider's id; unsent rows have none.
            models.Index(
                fields=["provider_message_id"],
                name="outbox_provider_id_idx",
                condition=~Q(provider_message_id=""),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"], name="outbox_idempotency_key_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to_email} ({self.status})"

    def save(self, *args, **kwargs) -> None:
        check_kind(self.kind)
        super().save(*args, **kwargs)

    def get_kind_display(self) -> str:
        return kind_label(self.kind)


class Suppression(models.Model):
    """An address the provider told us not to send to again (bounce, complaint)."""

    email = models.EmailField(unique=True)
    reason = models.CharField(max_length=64)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "invitations_suppression"  # the table kept its name when the model moved

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"


class ProviderEvent(models.Model):
    """A webhook event from the email provider, stored once (replays are ignored)."""

    event_id = models.CharField(max_length=200, unique=True)
    event_type = models.CharField(max_length=32)
    recipient = models.EmailField(blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "invitations_providerevent"  # the table kept its name when the model moved

    def __str__(self) -> str:
        return f"{self.event_type} {self.recipient}"


class EmailTemplate(models.Model):
    """A program's own version of one kind of email (absent: our default).

    Program by string: mail never imports programs.
    """

    program = models.ForeignKey(
        "programs.Program", on_delete=models.CASCADE, related_name="email_templates"
    )
    # No choices: each app registers its kinds and labels (mail.kinds).
    kind = models.CharField(max_length=32)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "invitations_emailtemplate"  # the table kept its name when the model moved
        constraints = [
            models.UniqueConstraint(fields=["program", "kind"], name="email_template_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.program}"

    def save(self, *args, **kwargs) -> None:
        check_kind(self.kind)
        super().save(*args, **kwargs)

    def get_kind_display(self) -> str:
        return kind_label(self.kind)


class AccessLink(models.Model):
    """A personal link in an email: only the SHA-256 of its token is stored.

    Bound to one person, one purpose and (for requests and pairings) one
    object. Links that decide something act at most once (used_at, set with a
    conditional update); preference links stay usable until they expire.
    Program (and Participant) by string: mail never imports programs.
    """

    class Purpose(models.TextChoices):
        PREFERENCES = "preferences", "Mentor preferences"
        APPROVE = "approve", "Approve a request"
        DECLINE = "decline", "Decline a request"
        SESSION = "session", "Log a mentoring session"
        # A participant's own page ("My mentoring"): reusable until it expires.
        HOME = "home", "Personal page"

    # Unique through Meta.constraints (no unused LIKE index); program and
    # participant have no index of their own: (participant, purpose) covers
    # the lookups, and a program is deleted rarely enough to scan.
    token_hash = models.CharField(max_length=64)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    program = models.ForeignKey(
        "programs.Program", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    participant = models.ForeignKey(
        "programs.Participant",
        on_delete=models.CASCADE,
        related_name="access_links",
        db_index=False,
    )
    object_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "invitations_accesslink"  # the table kept its name when the model moved
        indexes = [
            models.Index(fields=["participant", "purpose"], name="invitations_partici_b44492_idx")
        ]
        constraints = [
            models.UniqueConstraint(fields=["token_hash"], name="accesslink_token_hash_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} link for {self.participant_id}"
