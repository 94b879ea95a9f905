"""factory_boy factories, one per model, plus a few builders.

A factory makes a row as the database would hold it, with no side effect:
no email, no activity line, no lock. Tests of a behaviour go through its
service; these are for the state a test starts from and for tests of reads.
PendingRequest has none: only the database's triggers write it.
"""

import hashlib
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from invitations.email_kinds import EmailKind
from invitations.models import Invitation, InvitationBatch
from pairing.models import (
    AutoPairProposal,
    AutoPairRun,
    AutoPairUnpaired,
    HealthRules,
    MentoringSession,
    MentorPreference,
    MentorRequest,
    Pairing,
    WaitlistEntry,
)
from pairing_admin.mail.models import (
    AccessLink,
    EmailTemplate,
    OutboundEmail,
    ProviderEvent,
    Suppression,
)
from programs.models import (
    ActivityEvent,
    Answer,
    BrandLogo,
    Integration,
    LaunchStep,
    MatchRule,
    Membership,
    Organization,
    Participant,
    ParticipantImport,
    PendingRegistration,
    Program,
    Question,
    QuestionOption,
    SupportRequest,
    WorkerPing,
)
from programs.questions import answer_questions, create_defaults
from tests.support.branding import image_bytes

# A participant of the same program as the row being built.
SAME_PROGRAM = factory.SelfAttribute("..program")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"admin{n}@example.org")
    email = factory.SelfAttribute("username")
    password = factory.django.Password("correct horse battery staple")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    timezone = "Europe/London"
    country = "GB"
    support_advisor_email = "advisor@support.example.com"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Cohort {n}")

    @factory.post_generation
    def questions(obj, create, extracted, **kwargs):
        """Every program has the default questions and rules, as program_create gives
        them (questions=False: none)."""
        if create and extracted is not False:
            create_defaults(obj)


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant
        skip_postgeneration_save = True

    program = factory.SubFactory(ProgramFactory)
    role = Participant.Role.MENTEE
    first_name = factory.Sequence(lambda n: f"Person{n}")
    last_name = "Example"
    email = factory.Sequence(lambda n: f"person{n}@example.org")
    department = "Engineering"
    location = "London"
    capacity = factory.LazyAttribute(
        lambda p: p.program.default_mentor_capacity if p.role == Participant.Role.MENTOR else 0
    )

    # Answers to the default questions: ParticipantFactory(skills=["Python"], goals=[...]).
    @factory.post_generation
    def skills(obj, create, extracted, **kwargs):
        _answer(obj, create, "skills", extracted)

    @factory.post_generation
    def interests(obj, create, extracted, **kwargs):
        _answer(obj, create, "interests", extracted)

    @factory.post_generation
    def goals(obj, create, extracted, **kwargs):
        _answer(obj, create, "goals", extracted)


class QuestionFactory(factory.django.DjangoModelFactory):
    """A custom question (a single choice asked of everyone, two options)."""

    class Meta:
        model = Question
        skip_postgeneration_save = True

    program = factory.SubFactory(ProgramFactory)
    key = factory.Sequence(lambda n: f"question_{n}")
    label = factory.Sequence(lambda n: f"Question {n}")
    text = factory.LazyAttribute(lambda q: f"{q.label}?")
    audience = Question.Audience.EVERYONE
    kind = Question.Kind.SINGLE
    position = factory.Sequence(lambda n: 100 + n)

    @factory.post_generation
    def options(obj, create, extracted, **kwargs):
        if create and obj.is_choice:
            for n, label in enumerate(extracted or ["Yes", "No"]):
                QuestionOption.objects.create(question=obj, label=label, position=n)


class QuestionOptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuestionOption

    question = factory.SubFactory(QuestionFactory, options=[])
    label = factory.Sequence(lambda n: f"Option {n}")
    position = factory.Sequence(lambda n: n)


class AnswerFactory(factory.django.DjangoModelFactory):
    """One picked option of a question, by a person of the question's program."""

    class Meta:
        model = Answer

    option = factory.SubFactory(QuestionOptionFactory)
    question = factory.SelfAttribute("option.question")
    program = factory.SelfAttribute("question.program")
    participant = factory.SubFactory(ParticipantFactory, program=factory.SelfAttribute("..program"))


class MatchRuleFactory(factory.django.DjangoModelFactory):
    """A rule comparing one single-choice question asked of everyone with itself."""

    class Meta:
        model = MatchRule

    program = factory.SubFactory(ProgramFactory)
    mentee_question = factory.SubFactory(QuestionFactory, program=SAME_PROGRAM)
    mentor_question = factory.SelfAttribute("mentee_question")
    measure = MatchRule.Measure.SAME
    weight = 3
    position = factory.Sequence(lambda n: 100 + n)


def _answer(person: Participant, create: bool, key: str, values) -> None:
    if create and values:
        answer_questions(participant=person, raw={key: list(values)})


class MentorFactory(ParticipantFactory):
    role = Participant.Role.MENTOR


def _in_days(days: int):
    return factory.LazyFunction(lambda: timezone.now() + timedelta(days=days))


def _token_hash(n: int) -> str:
    return hashlib.sha256(f"test-token-{n}".encode()).hexdigest()


# --- programs ------------------------------------------------------------------------


class BrandLogoFactory(factory.django.DjangoModelFactory):
    """A small PNG, a different one each time (its key is its content's hash)."""

    class Meta:
        model = BrandLogo

    width = factory.Sequence(lambda n: n % 2000 + 1)
    height = factory.Sequence(lambda n: n // 2000 + 1)
    data = factory.LazyAttribute(lambda logo: image_bytes(logo.width, logo.height))
    sha256 = factory.LazyAttribute(lambda logo: hashlib.sha256(logo.data).hexdigest())
    content_type = "image/png"


class PendingRegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PendingRegistration

    program = factory.SubFactory(ProgramFactory)
    email = factory.Sequence(lambda n: f"registrant{n}@example.org")
    token_hash = factory.Sequence(_token_hash)
    details = factory.LazyAttribute(
        lambda r: {"role": "mentee", "first_name": "Reg", "last_name": "Istrant", "email": r.email}
    )
    expires_at = _in_days(2)
    window_started_at = factory.LazyFunction(timezone.now)


class ParticipantImportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ParticipantImport

    program = factory.SubFactory(ProgramFactory)
    uploaded_by = factory.SubFactory(UserFactory)
    filename = "people.csv"
    content = "email\n"


class WorkerPingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkerPing


class LaunchStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LaunchStep

    program = factory.SubFactory(ProgramFactory)
    step = LaunchStep.Step.INTEGRATIONS
    done_at = factory.LazyFunction(timezone.now)


class IntegrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Integration

    organization = factory.SubFactory(OrganizationFactory)
    kind = Integration.Kind.SSO


class SupportRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupportRequest

    program = factory.SubFactory(ProgramFactory)
    subject = "A question"
    message = "How do I pair everyone?"
    to_email = factory.SelfAttribute("program.organization.support_advisor_email")


class ActivityEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActivityEvent

    program = factory.SubFactory(ProgramFactory)
    verb = ActivityEvent.Verb.PAIRING_ON


# --- pairing -------------------------------------------------------------------------


class MentorPreferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MentorPreference

    program = factory.SubFactory(ProgramFactory)
    mentee = factory.SubFactory(ParticipantFactory, program=SAME_PROGRAM)
    mentor = factory.SubFactory(MentorFactory, program=SAME_PROGRAM)
    rank = 1


class MentorRequestFactory(factory.django.DjangoModelFactory):
    """A pending request answerable for three days (decided ones need decided_at)."""

    class Meta:
        model = MentorRequest

    program = factory.SubFactory(ProgramFactory)
    mentee = factory.SubFactory(ParticipantFactory, program=SAME_PROGRAM)
    mentor = factory.SubFactory(MentorFactory, program=SAME_PROGRAM)
    expires_at = _in_days(3)


class PairingFactory(factory.django.DjangoModelFactory):
    """An active pairing made by an admin."""

    class Meta:
        model = Pairing

    program = factory.SubFactory(ProgramFactory)
    mentee = factory.SubFactory(ParticipantFactory, program=SAME_PROGRAM)
    mentor = factory.SubFactory(MentorFactory, program=SAME_PROGRAM)
    origin = Pairing.Origin.ADMIN


class WaitlistEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WaitlistEntry

    program = factory.SubFactory(ProgramFactory)
    mentee = factory.SubFactory(ParticipantFactory, program=SAME_PROGRAM)
    joined_at = factory.LazyFunction(timezone.now)


class MentoringSessionFactory(factory.django.DjangoModelFactory):
    """A 45-minute session held today."""

    class Meta:
        model = MentoringSession

    pairing = factory.SubFactory(PairingFactory)
    program = factory.SelfAttribute("pairing.program")
    date = factory.LazyFunction(timezone.localdate)
    minutes = 45


class HealthRulesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HealthRules

    program = factory.SubFactory(ProgramFactory)


class AutoPairRunFactory(factory.django.DjangoModelFactory):
    """A run just started (queued); pass status="staged" for one waiting for review."""

    class Meta:
        model = AutoPairRun

    program = factory.SubFactory(ProgramFactory)


class AutoPairProposalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AutoPairProposal

    run = factory.SubFactory(AutoPairRunFactory)
    mentee = factory.SubFactory(ParticipantFactory, program=factory.SelfAttribute("..run.program"))
    mentor = factory.SubFactory(MentorFactory, program=factory.SelfAttribute("..run.program"))
    score = 50.0


class AutoPairUnpairedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AutoPairUnpaired

    run = factory.SubFactory(AutoPairRunFactory)
    mentee = factory.SubFactory(ParticipantFactory, program=factory.SelfAttribute("..run.program"))
    reason = AutoPairUnpaired.Reason.NO_CANDIDATE


# --- invitations and email -----------------------------------------------------------


class InvitationBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvitationBatch

    program = factory.SubFactory(ProgramFactory)
    kind = InvitationBatch.Kind.ALL


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    program = factory.SubFactory(ProgramFactory)
    mentee = factory.SubFactory(ParticipantFactory, program=SAME_PROGRAM)
    batch = factory.SubFactory(InvitationBatchFactory, program=SAME_PROGRAM)
    invited_at = factory.LazyFunction(timezone.now)
    last_sent_at = factory.SelfAttribute("invited_at")


class OutboundEmailFactory(factory.django.DjangoModelFactory):
    """A queued invitation email (outbox row); only the outbox sends it."""

    class Meta:
        model = OutboundEmail

    program = factory.SubFactory(ProgramFactory)
    kind = EmailKind.INVITATION
    idempotency_key = factory.Sequence(lambda n: f"test:{n}")
    to_email = factory.Sequence(lambda n: f"recipient{n}@example.org")
    subject = "Submit Your Mentor Preferences"
    body_text = "Hello"


class AccessLinkFactory(factory.django.DjangoModelFactory):
    """A stored link whose raw token nobody knows: for reads; use links.link_create to open one."""

    class Meta:
        model = AccessLink

    program = factory.SubFactory(ProgramFactory)
    participant = factory.SubFactory(ParticipantFactory, program=SAME_PROGRAM)
    purpose = AccessLink.Purpose.PREFERENCES
    token_hash = factory.Sequence(_token_hash)
    expires_at = _in_days(5)


class EmailTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailTemplate

    program = factory.SubFactory(ProgramFactory)
    kind = EmailKind.INVITATION
    subject = "Pick your mentor, {{ first_name }}"
    body_text = "Choose here: {{ preferences_link }}"


class SuppressionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Suppression

    email = factory.Sequence(lambda n: f"bounced{n}@example.org")
    reason = "bounced"


class ProviderEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProviderEvent

    event_id = factory.Sequence(lambda n: f"event-{n}")
    event_type = "delivered"
    recipient = factory.Sequence(lambda n: f"recipient{n}@example.org")


# --- Builders --------------------------------------------------------------------------


def bulk_mentees(program, n, *, first="Mentee", last="Bulk", email="mentee") -> list[Participant]:
    """n mentees in one INSERT: first names {first}00000.., emails {email}{i}@example.org."""
    return Participant.objects.bulk_create(
        Participant(
            program=program,
            role=Participant.Role.MENTEE,
            first_name=f"{first}{i:05}",
            last_name=last,
            email=f"{email}{i}@example.org",
        )
        for i in range(n)
    )


def preferences_link(mentee, *, days: int = 5) -> str:
    """A fresh personal preferences link for `mentee`: the raw token for /p/<token>/."""
    from pairing_admin.mail.links import Purpose, link_create

    _, raw = link_create(
        purpose=Purpose.PREFERENCES,
        participant=mentee,
        expires_at=timezone.now() + timedelta(days=days),
    )
    return raw


def mentor_with_pairings(program, n: int, **fields) -> Participant:
    """A mentor with `n` active pairings (admin-made), each with a new mentee."""
    mentor = MentorFactory(program=program, **fields)
    PairingFactory.create_batch(n, program=program, mentor=mentor)
    return mentor
