import factory
from django.contrib.auth import get_user_model

from programs.models import Membership, Organization, Participant, Program


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

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Cohort {n}")


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

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


class MentorFactory(ParticipantFactory):
    role = Participant.Role.MENTOR


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
    from datetime import timedelta

    from django.utils import timezone

    from invitations.links import Purpose, link_create

    _, raw = link_create(
        purpose=Purpose.PREFERENCES,
        participant=mentee,
        expires_at=timezone.now() + timedelta(days=days),
    )
    return raw


def mentor_with_pairings(program, n: int, **fields) -> Participant:
    """A mentor with `n` active pairings (admin-made), each with a new mentee."""
    from pairing.models import Pairing

    mentor = MentorFactory(program=program, **fields)
    for _ in range(n):
        Pairing.objects.create(
            program=program, mentee=ParticipantFactory(program=program), mentor=mentor,
            origin="admin",
        )  # fmt: skip
    return mentor
