import secrets
from functools import cached_property

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from programs.activity import check_verb, verb_label

# The languages participant pages and default emails are shipped in.
PARTICIPANT_LANGUAGES = [("en", "English"), ("fr", "Français")]


def _registration_token() -> str:
    return secrets.token_urlsafe(16)


def default_match_weights() -> dict[str, int]:
    """The fixed-profile weights programs had before match rules (migration 0005 names
    this; 0022 turns a program's stored weights into its MatchRule rows)."""
    return {"skills_for_goals": 5, "shared_interests": 2, "department": 1, "location": 2}


# A brand's accent colour: "#rrggbb" in lower case, or "" for the product's own.
ACCENT_PATTERN = r"^#[0-9a-f]{6}$"


class BrandLogo(models.Model):
    """An uploaded logo's bytes, kept in the database (no media volume to run).

    Keyed by the SHA-256 of its content, so a row never changes: the public
    URL names the hash and can be cached for a year, and a new upload is a new
    row. Only PNG, JPEG and WebP checked by programs.branding get here.
    """

    sha256 = models.CharField(max_length=64, primary_key=True)
    content_type = models.CharField(max_length=16)
    data = models.BinaryField()
    width = models.PositiveSmallIntegerField()
    height = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(content_type__in=["image/png", "image/jpeg", "image/webp"]),
                name="brand_logo_type",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.content_type} {self.width}x{self.height} ({self.sha256[:12]})"


class Branded(models.Model):
    """What participants see of an organization or a program: name, logo, colour, contact.

    Every field may be blank; programs.branding.brand_of falls back from the
    program to its organization, then to the program's name.
    """

    brand_name = models.CharField(
        "display name", max_length=120, blank=True, default="", db_default=""
    )
    brand_accent = models.CharField(
        "accent colour", max_length=7, blank=True, default="", db_default=""
    )
    brand_contact_email = models.EmailField(
        "program team's contact address", blank=True, default="", db_default=""
    )
    brand_logo = models.ForeignKey(
        BrandLogo, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True


class Organization(Branded):
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
        constraints = [
            models.CheckConstraint(
                condition=Q(brand_accent="") | Q(brand_accent__regex=ACCENT_PATTERN),
                name="organization_brand_accent",
            ),
        ]

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


class Program(Branded):
    class Type(models.TextChoices):
        COHORT = "cohort", "Cohort"
        # Rolling enrollment: registration stays open, and while pairing is on
        # each new mentee is invited at once (invitations registers that hook).
        EVERGREEN = "evergreen", "Evergreen (rolling enrollment)"

    class Process(models.TextChoices):
        USER_LED_APPROVAL = "user_led_approval", "User-led with Approval"
        USER_LED = "user_led", "User-led (without Approval)"
        ADMIN_LED = "admin_led", "Admin-led"

    class AfterDecline(models.TextChoices):
        CHOOSE_AGAIN = "choose_again", "Ask the mentee to choose again"
        NEXT_CHOICE = "next_choice", "Send to the mentee's next choice"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="programs"
    )
    name = models.CharField(max_length=200)
    program_type = models.CharField(max_length=16, choices=Type.choices, default=Type.COHORT)
    pairing_process = models.CharField(
        max_length=32, choices=Process.choices, default=Process.USER_LED_APPROVAL
    )
    default_mentor_capacity = models.PositiveSmallIntegerField(default=2)
    request_expiry_business_days = models.PositiveSmallIntegerField(default=3)
    max_preferences = models.PositiveSmallIntegerField(
        default=3, help_text="How many mentors a mentee may rank"
    )
    # What happens to a request a mentor declined or let expire.
    after_decline = models.CharField(
        max_length=16, choices=AfterDecline.choices, default=AfterDecline.CHOOSE_AGAIN
    )
    request_reminders = models.BooleanField(
        default=True, help_text="Remind mentors one business day before a request expires"
    )
    waitlist_enabled = models.BooleanField(
        default=True,
        help_text=(
            "Mentees who find no mentor with room can join a waitlist; "
            "seats that free up are offered to them in order"
        ),
    )
    pairing_enabled = models.BooleanField(default=False)
    pairing_changed_at = models.DateTimeField(null=True, blank=True)
    pairing_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    registration_token = models.CharField(
        max_length=32, unique=True, default=_registration_token, editable=False
    )
    # Off: the registration link says registration is closed, and registrations
    # still waiting for their email confirmation apply nothing.
    registration_open = models.BooleanField(default=True, db_default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Bumped by every change to the program's questions, options or match rules
    # (programs.questions): whoever keeps answers or scores prepared compares it.
    questions_version = models.PositiveIntegerField(default=0, db_default=0)
    # The language of the pages and default emails mentees and mentors see
    # (admin pages stay in the site's language); settings.PARTICIPANT_LANGUAGES.
    language = models.CharField(
        max_length=8, choices=PARTICIPANT_LANGUAGES, default="en", db_default="en"
    )

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
            # Rolling enrollment keeps adding mentees: those who find no mentor
            # with room must have somewhere to wait.
            models.CheckConstraint(
                condition=~Q(program_type="evergreen") | Q(waitlist_enabled=True),
                name="program_evergreen_waitlist",
            ),
            # Rolling enrollment means people can always join.
            models.CheckConstraint(
                condition=~Q(program_type="evergreen") | Q(registration_open=True),
                name="program_evergreen_registration",
                violation_error_message="An Evergreen program keeps its registration open.",
            ),
            models.CheckConstraint(
                condition=Q(brand_accent="") | Q(brand_accent__regex=ACCENT_PATTERN),
                name="program_brand_accent",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_user_led(self) -> bool:
        return self.pairing_process != self.Process.ADMIN_LED

    @property
    def is_evergreen(self) -> bool:
        return self.program_type == self.Type.EVERGREEN

    @property
    def waitlist_on(self) -> bool:
        return self.is_evergreen or self.waitlist_enabled


# What a person's record holds beyond name, email and role: the fields a CSV
# import, the registration form and the admin's form share. The rest of a
# profile is the answers to the program's questions (Question, Answer).
PROFILE_FIELDS = ("title", "department", "location", "bio")


class ParticipantQuerySet(models.QuerySet):
    def mentees(self) -> "ParticipantQuerySet":
        return self.filter(role=Participant.Role.MENTEE)

    def mentors(self) -> "ParticipantQuerySet":
        return self.filter(role=Participant.Role.MENTOR)


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
    bio = models.TextField(blank=True, max_length=2000)
    manager_email = models.EmailField(blank=True)
    capacity = models.PositiveSmallIntegerField(
        default=0, help_text="How many mentees this mentor can take at once"
    )
    # A mentor who said "I'm unavailable for now" gets no new requests; their
    # current pairings go on. A database default too: set-based imports insert
    # rows without naming every column.
    accepting_requests = models.BooleanField(default=True, db_default=True)
    # "Unavailable until <date>" from their personal page: no new requests
    # until that day (in the organization's zone), when accepting_requests
    # comes back by itself; current pairings go on.
    unavailable_until = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.ADMIN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ParticipantQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["program", "email"], name="participant_email_unique"),
            # The target of Answer's same-program foreign key (migration 0021).
            models.UniqueConstraint(fields=["id", "program"], name="participant_id_program"),
            models.CheckConstraint(
                condition=Q(email=Lower("email")), name="participant_email_lower"
            ),
            models.CheckConstraint(condition=Q(capacity__lte=50), name="participant_capacity_max"),
        ]
        indexes = [
            # The participants list in its order, all or one role: a walk that
            # stops at the page (and the mentors' and mentees' reads by program).
            models.Index(
                fields=["program", "role", "last_name", "first_name", "id"],
                name="participant_role_name_idx",
            ),
            models.Index(
                fields=["program", "last_name", "first_name", "id"], name="participant_name_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @cached_property
    def answer_values(self) -> dict[int, object]:
        """{question id: answer} as programs.questions describes them (read once)."""
        rows = Answer.objects.filter(participant=self).order_by("id").values_list(*ANSWER_COLUMNS)
        return fold_answers(rows, {}).get(self.pk, {})


class Question(models.Model):
    """One question a program asks at registration (and the admin's form and the import).

    Who answers it (mentees, mentors or everyone), what kind of answer it takes,
    and where it stands in the list. Department and Location are answered on the
    person's record (`profile_field`): the directory fills them, the "different
    department" rule of auto-pair reads them. Everything else is an Answer row.
    The rules: programs.questions; how answers are matched: MatchRule.
    """

    class Audience(models.TextChoices):
        MENTEES = "mentee", "Mentees"
        MENTORS = "mentor", "Mentors"
        EVERYONE = "everyone", "Everyone"

    class Kind(models.TextChoices):
        SINGLE = "single", "Single choice"
        MULTIPLE = "multiple", "Multiple choice"
        NUMBER = "number", "Number or scale"
        SHORT_TEXT = "short_text", "Short text"
        LONG_TEXT = "long_text", "Long text (shown, never matched)"

    class ProfileField(models.TextChoices):
        NONE = "", "An answer of its own"
        DEPARTMENT = "department", "The person's department"
        LOCATION = "location", "The person's location"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="questions")
    # The CSV column and the form field: lower case, digits and underscores.
    key = models.CharField(max_length=40)
    # Short: the match reasons, export columns and filters name the question by it.
    label = models.CharField(max_length=60)
    text = models.CharField(max_length=200)
    help_text = models.CharField(max_length=300, blank=True)
    audience = models.CharField(max_length=10, choices=Audience.choices)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    required = models.BooleanField(default=False)
    # Multiple choice: how many options one person may pick (null: no limit).
    max_choices = models.PositiveSmallIntegerField(null=True, blank=True)
    # Choices: people (and imports) may add an option the list does not have yet.
    open_options = models.BooleanField(default=False)
    # Number: the range accepted (both set: a scale).
    min_value = models.IntegerField(null=True, blank=True)
    max_value = models.IntegerField(null=True, blank=True)
    profile_field = models.CharField(
        max_length=16, choices=ProfileField.choices, blank=True, default=""
    )
    position = models.PositiveIntegerField(default=0)
    # A new required question is asked of people from their next edit on.
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["program", "key"], name="question_key_unique"),
            # The target of Answer's and MatchRule's same-program foreign keys.
            models.UniqueConstraint(fields=["id", "program"], name="question_id_program"),
            models.CheckConstraint(
                condition=Q(key__regex=r"^[a-z][a-z0-9_]{0,39}$"), name="question_key_format"
            ),
            models.CheckConstraint(
                condition=Q(kind="multiple") | Q(max_choices__isnull=True),
                name="question_max_choices_multiple_only",
            ),
            models.CheckConstraint(
                condition=Q(max_choices__isnull=True) | Q(max_choices__gte=1, max_choices__lte=50),
                name="question_max_choices_range",
            ),
            models.CheckConstraint(
                condition=Q(kind="number") | Q(min_value__isnull=True, max_value__isnull=True),
                name="question_range_number_only",
            ),
            models.CheckConstraint(
                condition=Q(min_value__isnull=True)
                | Q(max_value__isnull=True)
                | Q(min_value__lte=F("max_value")),
                name="question_range_order",
            ),
            models.CheckConstraint(
                condition=Q(profile_field="") | Q(kind="short_text"),
                name="question_profile_field_short_text",
            ),
            models.UniqueConstraint(
                fields=["program", "profile_field"],
                condition=~Q(profile_field=""),
                name="question_profile_field_once",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def is_choice(self) -> bool:
        return self.kind in (self.Kind.SINGLE, self.Kind.MULTIPLE)

    def asks(self, role: str) -> bool:
        return self.audience in (self.Audience.EVERYONE, role)


class QuestionOption(models.Model):
    """One option of a choice question. Answers point at it, so renaming keeps them;
    it cannot be deleted while answers point at it (RESTRICT: the questions editor
    asks where they go first), except with the program or person that holds them."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options")
    label = models.CharField(max_length=120)
    # The list's order; for a single choice also its levels ("mentor's level above").
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                "question", Lower("label"), name="question_option_label_unique"
            ),
            models.UniqueConstraint(fields=["id", "question"], name="question_option_id_question"),
            models.CheckConstraint(condition=~Q(label=""), name="question_option_label_set"),
        ]

    def __str__(self) -> str:
        return self.label


class Answer(models.Model):
    """One person's answer to one question: an option (a row per option picked), a
    number or a text. The database keeps them coherent: the option belongs to the
    question, person and question belong to the same program (composite foreign
    keys, migration 0021), one value per row, one row per single answer."""

    # No single-column foreign keys in the database: the three composite ones of migration
    # 0021 check the same and more (option of the question, all of one program), and an
    # import writing 100,000 answers checks each key once at commit. Deletes cascade in
    # Django, as for every model here.
    program = models.ForeignKey(
        Program, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="answers", db_constraint=False
    )
    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="answers", db_constraint=False
    )
    option = models.ForeignKey(
        QuestionOption,
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="answers",
        db_constraint=False,
    )
    number = models.IntegerField(null=True, blank=True)
    text = models.TextField(null=True, blank=True, max_length=2000)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(option__isnull=False, number__isnull=True, text__isnull=True)
                | Q(option__isnull=True, number__isnull=False, text__isnull=True)
                | Q(option__isnull=True, number__isnull=True, text__isnull=False),
                name="answer_one_value",
            ),
            models.CheckConstraint(
                condition=Q(text__isnull=True) | ~Q(text=""), name="answer_text_set"
            ),
            models.UniqueConstraint(
                fields=["participant", "question", "option"],
                condition=Q(option__isnull=False),
                name="answer_option_once",
            ),
            models.UniqueConstraint(
                fields=["participant", "question"],
                condition=Q(option__isnull=True),
                name="answer_value_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant_id}/{self.question_id}"


# What an answer is read as, and how rows fold into {participant: {question: value}}.
ANSWER_COLUMNS = ("participant_id", "question_id", "option_id", "number", "text")


def fold_answers(rows, out: dict[int, dict[int, object]]) -> dict[int, dict[int, object]]:
    """Rows of ANSWER_COLUMNS in id order -> {participant id: {question id: value}}:
    a tuple of option ids for a choice, an int for a number, a str for a text."""
    for pid, qid, option, number, text in rows:
        mine = out.setdefault(pid, {})
        if option is not None:
            mine[qid] = (*mine.get(qid, ()), option)
        else:
            mine[qid] = number if number is not None else text
    return out


class MatchRule(models.Model):
    """How one mentee question is matched against one mentor question, and its weight.

    0 ignores the rule, 1-9 count that much in the 0-100 score, 10 must match
    (the pair is no candidate otherwise). The measures: pairing.matching.
    """

    class Measure(models.TextChoices):
        OVERLAP = "overlap", "Overlap of choices"
        SAME = "same", "Same value"
        WITHIN = "within", "Numbers within a distance"
        ABOVE = "above", "Mentor's level above the mentee's"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="match_rules")
    mentee_question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    mentor_question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    measure = models.CharField(max_length=10, choices=Measure.choices)
    # WITHIN: how far apart the two numbers may be.
    distance = models.PositiveIntegerField(null=True, blank=True)
    weight = models.PositiveSmallIntegerField()
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(weight__lte=10), name="match_rule_weight_range"),
            models.CheckConstraint(
                condition=Q(measure="within", distance__isnull=False)
                | (~Q(measure="within") & Q(distance__isnull=True)),
                name="match_rule_distance_within_only",
            ),
            models.UniqueConstraint(
                fields=["program", "mentee_question", "mentor_question", "measure"],
                name="match_rule_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mentee_question_id} {self.measure} {self.mentor_question_id}"


class ParticipantCount(models.Model):
    """How many participants a program has in each role: the sum of its rows.

    Written only by the triggers on the participants table (migration 0018,
    programs.participant_counts, pairing_admin.lib.kept_counts says how): the
    participants list reads its count here instead of counting the program.
    """

    # No foreign key: rows of a deleted program sum to nothing and fold away.
    program = models.ForeignKey(
        Program, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    role = models.CharField(max_length=10, choices=Participant.Role.choices)
    n = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["program", "role"], include=["n"], name="participant_count_idx")
        ]

    def __str__(self) -> str:
        return f"{self.program_id}: {self.role} {self.n:+d}"


class PendingRegistration(models.Model):
    """A registration waiting for its email address to be confirmed (double opt-in).

    The details the person typed wait here, not in the link, and only the
    SHA-256 of the emailed token is stored. One open row per program and
    address: a second submission reuses it (new details, new token, the old
    link stops working) and counts the emails it caused, so a stranger typing
    someone's address again and again cannot flood them. Confirming applies
    the stored details once (confirmed_at) and forgets them.
    """

    program = models.ForeignKey(
        Program, on_delete=models.CASCADE, related_name="pending_registrations"
    )
    email = models.EmailField()
    token_hash = models.CharField(max_length=64)
    # The cleaned form: role, names, profile fields and capacity.
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Emails sent for this row since window_started_at (the per-address limit).
    emails_sent = models.PositiveSmallIntegerField(default=0)
    window_started_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["token_hash"], name="pending_registration_token_unique"
            ),
            models.UniqueConstraint(
                fields=["program", "email"],
                condition=Q(confirmed_at__isnull=True),
                name="pending_registration_one_open",
            ),
            models.CheckConstraint(
                condition=Q(email=Lower("email")), name="pending_registration_email_lower"
            ),
        ]
        indexes = [models.Index(fields=["expires_at"], name="pending_reg_expiry_idx")]

    def __str__(self) -> str:
        return f"Registration of {self.email} waiting for confirmation"


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


# --- Launching pairing -------------------------------------------------------------


class LaunchStep(models.Model):
    """A launch checklist step an admin marked done; no row means not done."""

    class Step(models.TextChoices):
        INTEGRATIONS = "integrations", "Check Your Integrations"
        SUPPORT_ADVISOR = "support_advisor", "Contact Your Customer Support Advisor"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="launch_steps")
    step = models.CharField(max_length=32, choices=Step.choices)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "step"], name="launch_step_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_step_display()} done for {self.program}"


class Integration(models.Model):
    """How far one of an organization's integrations is; no row means not started."""

    class Kind(models.TextChoices):
        SSO = "sso", "SSO / SAML"
        HRIS = "hris", "HRIS or directory sync"
        SLACK = "slack", "Slack"
        TEAMS = "teams", "Microsoft Teams"
        GOOGLE_CALENDAR = "google_calendar", "Google Calendar"
        OUTLOOK_CALENDAR = "outlook_calendar", "Outlook Calendar"
        EMAIL_PROVIDER = "email_provider", "Email provider"

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        CONNECTED = "connected", "Connected"
        NOT_APPLICABLE = "not_applicable", "Not applicable"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="integrations"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NOT_STARTED)
    notes = models.TextField(blank=True, max_length=2000)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind"], name="integration_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.organization}: {self.get_status_display()}"


class SupportRequest(models.Model):
    """An admin's message to the customer support advisor (the email is in the outbox)."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="support_requests")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject = models.CharField(max_length=150)
    message = models.TextField(max_length=5000)
    to_email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)
    # The one-time token of the form page it was sent from: a second submit of the same
    # page (a double click, a resent POST, two at once) finds this row instead of writing
    # another request and another email. Null for requests sent without one.
    form_token = models.CharField(max_length=64, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["program", "-created_at"], name="support_program_recent_idx")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "form_token"], name="support_request_once_per_form"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} ({self.program})"


class ActivityEvent(models.Model):
    """One line of a program's activity log: who did what, and when."""

    class Verb(models.TextChoices):
        # programs' own; the apps above declare theirs (programs.activity).
        PAIRING_ON = "pairing_on", "Turned on pairing"
        PAIRING_OFF = "pairing_off", "Turned off pairing"
        STEP_DONE = "step_done", "Marked a step done"
        STEP_UNDONE = "step_undone", "Marked a step not done"
        INTEGRATION_CHANGED = "integration_changed", "Changed an integration"
        SUPPORT_REQUEST_SENT = "support_request_sent", "Sent a support request"
        MATCH_WEIGHTS_CHANGED = "match_weights_changed", "Changed the match weights"
        PARTICIPANT_EDITED = "participant_edited", "Edited a participant"
        PARTICIPANTS_IMPORTED = "participants_imported", "Imported participants"
        PROGRAM_SETTINGS_CHANGED = "program_settings_changed", "Changed the program settings"
        # A failed email resent from the email log (recorded for the program it was for).
        EMAIL_RESENT = "email_resent", "Resent a failed email"
        # The questions editor (programs.question_admin).
        QUESTION_ADDED = "question_added", "Added a question"
        QUESTION_EDITED = "question_edited", "Edited a question"
        QUESTION_DELETED = "question_deleted", "Deleted a question"
        QUESTION_MOVED = "question_moved", "Reordered the questions"
        QUESTION_OPTIONS_CHANGED = "question_options_changed", "Changed a question's options"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="activity")
    # Null when the account was removed, or for changes the system made itself.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # No choices: each app registers its verbs and labels (programs.activity).
    verb = models.CharField(max_length=40)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["program", "-created_at"], name="activity_program_recent_idx")
        ]

    def __str__(self) -> str:
        return f"{self.get_verb_display()} ({self.program})"

    def save(self, *args, **kwargs) -> None:
        check_verb(self.verb)
        super().save(*args, **kwargs)

    def get_verb_display(self) -> str:
        return verb_label(self.verb)
