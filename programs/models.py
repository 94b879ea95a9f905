import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower


def _registration_token() -> str:
    return secrets.token_urlsafe(16)


class Organization(models.Model):
    """The tenant: every admin query is scoped to the admin's organizations."""

    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC")
    country = models.CharField(
        max_length=2, default="GB", help_text="ISO 3166 code; its public holidays are skipped"
    )
    support_advisor_email = models.EmailField(blank=True)
    success_manager_email = models.EmailField(
        blank=True,
        help_text="Customer Success or Implementation Manager; receives support requests if set",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """An admin user belongs to one or more organizations."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization}"


class Program(models.Model):
    class Process(models.TextChoices):
        USER_LED_APPROVAL = "user_led_approval", "User-led with Approval"
        USER_LED = "user_led", "User-led (without Approval)"
        ADMIN_LED = "admin_led", "Admin-led"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="programs"
    )
    name = models.CharField(max_length=200)
    pairing_process = models.CharField(
        max_length=32, choices=Process.choices, default=Process.USER_LED_APPROVAL
    )
    default_mentor_capacity = models.PositiveSmallIntegerField(default=2)
    request_expiry_business_days = models.PositiveSmallIntegerField(default=3)
    max_preferences = models.PositiveSmallIntegerField(
        default=3, help_text="How many mentors a mentee may rank"
    )
    pairing_enabled = models.BooleanField(default=False)
    pairing_changed_at = models.DateTimeField(null=True, blank=True)
    pairing_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    registration_token = models.CharField(
        max_length=32, unique=True, default=_registration_token, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(default_mentor_capacity__gte=1, default_mentor_capacity__lte=50),
                name="program_capacity_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    request_expiry_business_days__gte=1, request_expiry_business_days__lte=30
                ),
                name="program_expiry_range",
            ),
            models.CheckConstraint(
                condition=Q(max_preferences__gte=1, max_preferences__lte=10),
                name="program_max_preferences_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_user_led(self) -> bool:
        return self.pairing_process != self.Process.ADMIN_LED


class Participant(models.Model):
    class Role(models.TextChoices):
        MENTEE = "mentee", "Mentee"
        MENTOR = "mentor", "Mentor"

    class Source(models.TextChoices):
        IMPORT = "import", "CSV import"
        REGISTRATION = "registration", "Registration link"
        ADMIN = "admin", "Added by an admin"
        DEMO = "demo", "Demo data"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="participants")
    role = models.CharField(max_length=10, choices=Role.choices)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    # Stored lower-cased: one person per email per program.
    email = models.EmailField()
    department = models.CharField(max_length=120, blank=True)
    location = models.CharField(max_length=120, blank=True)
    title = models.CharField(max_length=120, blank=True)
    skills = models.JSONField(default=list, blank=True)
    interests = models.JSONField(default=list, blank=True)
    goals = models.JSONField(default=list, blank=True)
    bio = models.TextField(blank=True, max_length=2000)
    manager_email = models.EmailField(blank=True)
    capacity = models.PositiveSmallIntegerField(
        default=0, help_text="How many mentees this mentor can take at once"
    )
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.ADMIN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["program", "email"], name="participant_email_unique"),
            models.CheckConstraint(
                condition=Q(email=Lower("email")), name="participant_email_lower"
            ),
            models.CheckConstraint(condition=Q(capacity__lte=50), name="participant_capacity_max"),
        ]
        indexes = [models.Index(fields=["program", "role", "last_name"])]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class ParticipantImport(models.Model):
    """An uploaded CSV held between preview and confirm.

    The upload (a POST) stores the file; the preview (a GET) only reads it;
    the confirm (a POST) applies it in one transaction.
    """

    class Status(models.TextChoices):
        PREVIEW = "preview", "Waiting for confirmation"
        APPLIED = "applied", "Imported"
        DISCARDED = "discarded", "Discarded"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="imports")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=255)
    content = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREVIEW)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"


class WorkerPing(models.Model):
    """A round trip through the broker and a worker, asked for by an admin.

    Lets `make demo` and the System page show that background work really
    runs (every email depends on it).
    """

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"Worker check {self.pk}"
