from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Concat
from django.template.defaultfilters import pluralize

from pairing_admin.lib.search import search_words, words_filter
from programs.access import programs_for
from programs.models import (
    ActivityEvent,
    Answer,
    Integration,
    LaunchStep,
    Organization,
    Participant,
    ParticipantCount,
    Program,
    Question,
    SupportRequest,
)


def _per_program(role: str, aggregate=None) -> Coalesce:
    """A subquery of the annotated program's participants of one role: how many
    (COUNT(*): the (program, role, ...) index answers it without reading a row),
    or `aggregate` of their rows."""
    rows = Participant.objects.filter(program=OuterRef("pk"), role=role).order_by()
    value = rows.values("program").annotate(n=aggregate or Count("*")).values("n")
    return Coalesce(Subquery(value, output_field=IntegerField()), 0)


def program_list_for(user) -> QuerySet[Program]:
    return (
        programs_for(user)
        .select_related("organization")
        .annotate(
            mentee_count=_per_program(Participant.Role.MENTEE),
            mentor_count=_per_program(Participant.Role.MENTOR),
        )
        .order_by("organization__name", "name", "id")
    )


def program_headcount(program: Program) -> dict[str, int]:
    """Mentees, mentors and the mentors' total capacity, in one query (the mentees
    counted from an index alone; only the mentors' rows are read, for capacity)."""
    return (
        Program.objects.filter(pk=program.pk)
        .values(
            mentees=_per_program(Participant.Role.MENTEE),
            mentors=_per_program(Participant.Role.MENTOR),
            capacity=_per_program(Participant.Role.MENTOR, Sum("capacity")),
        )
        .get()
    )


# What the search boxes look in (pairing_admin.lib.search.words_filter).
NAME_FIELDS = ("first_name", "last_name", "email")
PERSON_FIELDS = (*NAME_FIELDS, "department")
PARTICIPANT_SEARCH_FIELDS = (*PERSON_FIELDS, "location", "title")
# Either side of a pairing, request or proposal: each word may match the mentee or the mentor.
PAIR_NAME_FIELDS = tuple(
    f"{side}__{field}" for side in ("mentee", "mentor") for field in NAME_FIELDS
)


@dataclass(frozen=True)
class AnswerFilter:
    """Keep the people who answered `question` so: picked `option_id` (a choice), or
    gave a number from `low` to `high` (either may be open)."""

    question: Question
    option_id: int | None = None
    low: int | None = None
    high: int | None = None

    def condition(self) -> Exists:
        """An EXISTS over the person's answer rows to the question, which the answer
        table's unique indexes find by (participant, question[, option])."""
        rows = Answer.objects.filter(
            program_id=self.question.program_id,
            participant=OuterRef("pk"),
            question=self.question,
        )
        if self.option_id is not None:
            return Exists(rows.filter(option_id=self.option_id))
        rows = rows.filter(option__isnull=True, number__isnull=False)
        if self.low is not None:
            rows = rows.filter(number__gte=self.low)
        if self.high is not None:
            rows = rows.filter(number__lte=self.high)
        return Exists(rows)


def participant_search(
    program: Program,
    *,
    query: str = "",
    role: str = "",
    answers: Sequence[AnswerFilter] = (),
) -> QuerySet[Participant]:
    """The participants list's rows in name order: a search (every word must match),
    one role, and answers to the program's questions (all must hold)."""
    qs = Participant.objects.filter(program=program)
    if role in Participant.Role.values:
        qs = qs.filter(role=role)
    for answer in answers:
        qs = qs.filter(answer.condition())
    if not search_words(query):
        return qs.order_by("last_name", "first_name", "id")
    # A search finds its few rows through the trigram index (programs.search_pg).
    # Ordered by the bare columns, PostgreSQL would rather walk the name index and
    # test every participant until the page is full; `last_name || ''` sorts the
    # same and leaves it the index that finds the rows.
    qs = qs.filter(words_filter(query, PARTICIPANT_SEARCH_FIELDS))
    return qs.order_by(Concat("last_name", Value("")), "first_name", "id")


def participant_count(program: Program, *, role: str = "") -> int:
    """How many participants the program has (of one role), from the kept counts."""
    counted = ParticipantCount.objects.filter(program=program)
    if role in Participant.Role.values:
        counted = counted.filter(role=role)
    return counted.aggregate(total=Sum("n"))["total"] or 0


# --- The Pairing page ------------------------------------------------------------


def support_recipient(organization: Organization) -> str:
    """Who answers this organization: its success manager if it has one, else the advisor."""
    return organization.success_manager_email or organization.support_advisor_email


ACTIVITY_PAGE_SIZE = 20


@dataclass
class Readiness:
    mentees: int
    mentors: int
    capacity: int
    warnings: list[str] = field(default_factory=list)


def program_readiness(program: Program) -> Readiness:
    """Headcount and whether the mentors can take every mentee (one query)."""
    count = program_headcount(program)
    readiness = Readiness(**count)
    mentees, mentors, capacity = count["mentees"], count["mentors"], count["capacity"]
    if mentees == 0:
        readiness.warnings.append(
            "No mentees are registered yet: import them or share the registration link."
        )
    if mentors == 0:
        readiness.warnings.append(
            "No mentors are registered yet: import them or share the registration link."
        )
    elif capacity < mentees:
        readiness.warnings.append(
            f"{mentors} mentor{pluralize(mentors)} can take {capacity} "
            f"mentee{pluralize(capacity)}; {mentees} mentee{pluralize(mentees)} "
            f"{pluralize(mentees, 'is,are')} registered."
        )
    return readiness


@dataclass
class StepState:
    key: str
    label: str
    done: LaunchStep | None
    warnings: list[str] = field(default_factory=list)


@dataclass
class Checklist:
    steps: list[StepState]
    support_to: str
    last_support_request: SupportRequest | None

    @property
    def incomplete(self) -> list[str]:
        return [step.label for step in self.steps if step.done is None]

    def step(self, key: str) -> StepState:
        return next(step for step in self.steps if step.key == key)


def integrations_in_progress(organization: Organization) -> list[str]:
    kinds = Integration.objects.filter(
        organization=organization, status=Integration.Status.IN_PROGRESS
    ).values_list("kind", flat=True)
    return sorted(Integration.Kind(kind).label for kind in kinds)


def launch_checklist(program: Program) -> Checklist:
    """The launch steps with who did them and what still needs attention (3 queries)."""
    done = {
        row.step: row
        for row in LaunchStep.objects.filter(program=program).select_related("done_by")
    }
    in_progress = integrations_in_progress(program.organization)
    steps = []
    for step in LaunchStep.Step:
        state = StepState(key=step.value, label=step.label, done=done.get(step.value))
        if step == LaunchStep.Step.INTEGRATIONS and in_progress:
            state.warnings.append(f"Still in progress: {', '.join(in_progress)}.")
        steps.append(state)
    last_request = SupportRequest.objects.filter(program=program).select_related("sent_by").first()
    return Checklist(
        steps=steps,
        support_to=support_recipient(program.organization),
        last_support_request=last_request,
    )


def activity_page(program: Program, page_number) -> Page:
    """One page of the activity log, newest first (2 queries whatever its length)."""
    events = ActivityEvent.objects.filter(program=program).select_related("actor")
    return Paginator(events.order_by("-created_at", "-id"), ACTIVITY_PAGE_SIZE).get_page(
        page_number
    )


# --- Integrations ----------------------------------------------------------------

_PROVIDER_NAMES = {
    "amazon_ses": "Amazon SES",
    "brevo": "Brevo",
    "mailersend": "MailerSend",
    "mailgun": "Mailgun",
    "mailjet": "Mailjet",
    "mandrill": "Mandrill",
    "postal": "Postal",
    "postmark": "Postmark",
    "resend": "Resend",
    "sendgrid": "SendGrid",
    "sparkpost": "SparkPost",
}


def email_provider_in_use() -> str:
    """What this deployment sends email through, from settings (never a secret)."""
    provider = settings.EMAIL_PROVIDER
    if not provider:
        return "Emails are kept in the outbox and printed (no provider configured)"
    if provider == "smtp":
        return f"SMTP via {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    return f"{_PROVIDER_NAMES.get(provider, provider)} (through django-anymail)"


def integration_rows(organization: Organization) -> list[Integration]:
    """Every kind of integration, in a fixed order; kinds never saved show "Not started".

    The missing ones are unsaved instances: reading the page writes nothing.
    """
    saved = {
        row.kind: row
        for row in Integration.objects.filter(organization=organization).select_related(
            "updated_by"
        )
    }
    return [
        saved.get(kind) or Integration(organization=organization, kind=kind)
        for kind in Integration.Kind.values
    ]
