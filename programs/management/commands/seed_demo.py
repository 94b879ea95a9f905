"""Demo data: one organization, its admin, one program and its participants.

Safe to run again: the same arguments leave exactly the same people, and a
smaller --mentees/--mentors shrinks the program. Every person comes from a
random stream seeded by (--seed, role), so mentee 17 is the same person
whatever --mentees says and only the tail changes when the numbers do.
"""

import functools
import random
import time
import unicodedata

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from programs.models import Membership, Organization, Participant, Program
from programs.questions import answer_labels, answers_replace_many, program_answers
from programs.services import program_create

ORGANIZATION_NAME = "Northwind Mentoring"
PROGRAM_NAME = "Spring 2027 Cohort"
DEMO_ADMIN_USERNAME = "admin@example.com"
DEMO_ADMIN_PASSWORD = "demo-pairing-2026"  # noqa: S105 - printed on purpose; demo only
EMAIL_DOMAIN = "northwind.example"
BATCH_SIZE = 2000

FIRST_NAMES = [
    "Aaliyah", "Abdul", "Ada", "Adebayo", "Aisha", "Alejandro", "Alice", "Amara", "Amir",
    "Ana", "Andrei", "Anika", "Arjun", "Astrid", "Ben", "Bianca", "Bogdan", "Caitlin",
    "Carlos", "Catherine", "Chen", "Chidi", "Chloe", "Daniel", "Daria", "David", "Deepa",
    "Diego", "Eilidh", "Elena", "Eleanor", "Emeka", "Emma", "Fatima", "Felix", "Finn",
    "Freya", "Gabriel", "Grace", "Hana", "Hannah", "Harriet", "Hassan", "Ibrahim", "Ines",
    "Isaac", "Isla", "Ivan", "Jack", "James", "Jasmine", "Javier", "Joanna", "Jonas",
    "Joseph", "Julia", "Kai", "Karim", "Katarzyna", "Kemi", "Kenji", "Laila", "Lars",
    "Leah", "Leo", "Liam", "Lucia", "Luis", "Maya", "Malik", "Marta", "Mateo", "Mei",
    "Mohammed", "Nadia", "Naomi", "Niamh", "Nikhil", "Noah", "Olga", "Oliver", "Olivia",
    "Omar", "Oscar", "Priya", "Rafael", "Rhys", "Rosa", "Ruth", "Sakura", "Samuel",
    "Sara", "Sean", "Sofia", "Stefan", "Tariq", "Thomas", "Tomasz", "Uma", "Valentina",
    "Wei", "William", "Yasmin", "Yusuf", "Zara", "Zoe",
]  # fmt: skip
LAST_NAMES = [
    "Abbott", "Adeyemi", "Ahmed", "Ali", "Andersen", "Baker", "Banerjee", "Barnes",
    "Bianchi", "Brennan", "Brown", "Campbell", "Carter", "Chan", "Chen", "Clarke",
    "Costa", "Cruz", "Davies", "Dubois", "Evans", "Fernandes", "Fischer", "Fitzgerald",
    "Garcia", "Gonzalez", "Gupta", "Hall", "Hansen", "Harris", "Hughes", "Ibrahim",
    "Ito", "Jackson", "Jansen", "Johnson", "Jones", "Kaur", "Kelly", "Khan", "Kim",
    "Kowalski", "Lee", "Lewis", "Lopez", "MacDonald", "Martin", "Mensah", "Miller",
    "Moreau", "Morris", "Murphy", "Nakamura", "Nguyen", "Novak", "O'Brien", "Okafor",
    "Olsen", "Patel", "Pereira", "Petrov", "Phillips", "Quinn", "Rahman", "Reid",
    "Roberts", "Rossi", "Russo", "Santos", "Schmidt", "Scott", "Shah", "Silva", "Singh",
    "Smith", "Sousa", "Stewart", "Suzuki", "Taylor", "Thomas", "Thompson", "Walker",
    "Wang", "Watson", "White", "Williams", "Wilson", "Wong", "Wright", "Yilmaz",
    "Young", "Zhang", "Zielinski",
]  # fmt: skip

# One shared vocabulary: mentors' skills and mentees' interests and goals are
# drawn from it, so matching finds real overlaps. Each department leans on a
# few topics; the "growth" topics are common to everyone.
GROWTH_TOPICS = [
    "Leadership", "Public speaking", "Career progression", "Giving feedback",
    "Managing people", "Negotiation", "Time management", "Influencing stakeholders",
    "Work-life balance", "Building a network", "Writing", "Coaching",
]  # fmt: skip
DEPARTMENTS = {
    "Engineering": (
        ["Python", "System design", "Cloud infrastructure", "Testing", "Security", "APIs"],
        ["Software Engineer", "Site Reliability Engineer", "QA Engineer"],
        ["Senior Software Engineer", "Staff Engineer", "Engineering Manager"],
    ),
    "Data & Analytics": (
        ["SQL", "Data visualisation", "Machine learning", "Statistics", "Python"],
        ["Data Analyst", "Analytics Engineer", "Junior Data Scientist"],
        ["Senior Data Scientist", "Head of Analytics", "Principal Analyst"],
    ),
    "Product": (
        ["Product strategy", "User research", "Roadmapping", "Data visualisation"],
        ["Associate Product Manager", "Product Analyst", "Product Owner"],
        ["Senior Product Manager", "Group Product Manager", "Director of Product"],
    ),
    "Design": (
        ["User research", "Interaction design", "Accessibility", "Design systems"],
        ["Product Designer", "UX Researcher", "Junior Designer"],
        ["Lead Product Designer", "Design Manager", "Principal Designer"],
    ),
    "Sales": (
        ["Negotiation", "Account management", "Forecasting", "Presenting"],
        ["Sales Development Representative", "Account Executive", "Sales Associate"],
        ["Senior Account Executive", "Regional Sales Manager", "Head of Sales"],
    ),
    "Marketing": (
        ["Brand strategy", "Content marketing", "Writing", "Data visualisation"],
        ["Marketing Executive", "Content Writer", "Campaign Coordinator"],
        ["Senior Marketing Manager", "Head of Brand", "Marketing Director"],
    ),
    "Customer Success": (
        ["Account management", "Onboarding", "Presenting", "Conflict resolution"],
        ["Customer Success Associate", "Support Specialist", "Onboarding Specialist"],
        ["Customer Success Manager", "Head of Support", "Senior CSM"],
    ),
    "Finance": (
        ["Forecasting", "Budgeting", "Financial modelling", "SQL"],
        ["Finance Analyst", "Accounts Assistant", "Junior Accountant"],
        ["Senior Finance Manager", "Financial Controller", "FP&A Lead"],
    ),
    "People & Culture": (
        ["Coaching", "Conflict resolution", "Hiring", "Diversity and inclusion"],
        ["People Partner", "Recruiter", "L&D Coordinator"],
        ["Senior People Partner", "Head of Talent", "People Director"],
    ),
    "Operations": (
        ["Process improvement", "Project management", "Budgeting", "Onboarding"],
        ["Operations Analyst", "Project Coordinator", "Operations Associate"],
        ["Operations Manager", "Programme Manager", "Head of Operations"],
    ),
    "Legal": (
        ["Contract negotiation", "Data protection", "Writing", "Negotiation"],
        ["Paralegal", "Legal Counsel", "Compliance Analyst"],
        ["Senior Legal Counsel", "Head of Compliance", "General Counsel"],
    ),
}
LOCATIONS = [
    "London", "Manchester", "Edinburgh", "Bristol", "Leeds", "Dublin", "Amsterdam", "Berlin",
    "Lisbon",
]  # fmt: skip
HOBBIES = [
    "runs half-marathons", "sings in a community choir", "restores old bicycles",
    "volunteers at a food bank", "plays five-a-side football", "bakes sourdough",
    "is learning Japanese", "climbs at the local wall", "organises the book club",
    "keeps an allotment", "plays the cello", "coaches a junior netball team",
]  # fmt: skip


_ALL_TOPICS = sorted({t for topics, _, _ in DEPARTMENTS.values() for t in topics})

_PROPER_TOPICS = {"Python", "SQL", "APIs"}


def _phrase(topic: str) -> str:
    """A topic inside a sentence: 'Public speaking' -> 'public speaking', 'SQL' stays."""
    return topic if topic in _PROPER_TOPICS else topic.lower()


@functools.cache
def _email_part(name: str) -> str:
    """'O'Brien' -> 'obrien', 'Zoë' -> 'zoe': the local part of an address."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_name.lower() if ch.isalnum())


def _person(rng: random.Random, role: str, number: int) -> dict:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    department = rng.choice(list(DEPARTMENTS))
    topics, junior_titles, senior_titles = DEPARTMENTS[department]
    # Most people stay near their department's topics; some look further.
    pool = list(dict.fromkeys(topics + rng.sample(GROWTH_TOPICS, 4) + rng.sample(_ALL_TOPICS, 2)))
    location = rng.choice(LOCATIONS)
    years = rng.randint(1, 4) if role == Participant.Role.MENTEE else rng.randint(5, 20)
    suffix = "" if role == Participant.Role.MENTEE else "m"
    person = {
        "role": role,
        "first_name": first,
        "last_name": last,
        "email": f"{_email_part(first)}.{_email_part(last)}.{suffix}{number}@{EMAIL_DOMAIN}",
        "department": department,
        "location": location,
        "manager_email": "",
    }
    if rng.random() < 0.6:
        manager = f"{_email_part(rng.choice(FIRST_NAMES))}.{_email_part(rng.choice(LAST_NAMES))}"
        person["manager_email"] = f"{manager}@{EMAIL_DOMAIN}"
    hobby = rng.choice(HOBBIES)
    if role == Participant.Role.MENTOR:
        skills = rng.sample(pool, rng.randint(3, 6))
        person.update(
            title=rng.choice(senior_titles),
            skills=skills,
            interests=rng.sample(GROWTH_TOPICS, rng.randint(0, 2)),
            goals=[],
            capacity=rng.randint(1, 4),
            bio=(
                f"{years} years in {department.lower()}, based in {location}. "
                f"Happy to help with {_phrase(skills[0])} and {_phrase(skills[1])}; "
                f"outside work {first} {hobby}."
            ),
        )
    else:
        interests = rng.sample(pool, rng.randint(2, 5))
        # One goal from their interests, which mentors in the field offer: the default
        # rule matches a mentee's goals with mentors' skills.
        growth = rng.sample(list(dict.fromkeys(GROWTH_TOPICS + topics)), rng.randint(0, 2))
        goals = list(dict.fromkeys([rng.choice(interests), *growth]))
        person.update(
            title=rng.choice(junior_titles),
            skills=rng.sample(topics, rng.randint(0, 2)),
            interests=interests,
            goals=goals,
            capacity=0,
            bio=(
                f"Joined Northwind {years} year{'s' if years > 1 else ''} ago and works from "
                f"{location}. Hoping to grow in {_phrase(goals[0])}; {first} {hobby}."
            ),
        )
    return person


def generate_people(*, mentees: int, mentors: int, seed: int) -> list[dict]:
    """The demo's people, identical for identical arguments."""
    people = []
    for role, count in ((Participant.Role.MENTEE, mentees), (Participant.Role.MENTOR, mentors)):
        # A string seed is hashed with SHA-512: stable across processes and
        # Python versions, unlike hash() of a tuple.
        rng = random.Random(f"{seed}:{role}")
        people.extend(_person(rng, role, number) for number in range(1, count + 1))
    return people


# The answers seed_demo gives (to the default questions, programs.questions).
ANSWER_KEYS = ("skills", "interests", "goals")
# Everything seed_demo decides about a person; compared before writing so a
# second run with the same arguments writes no participant at all.
PROFILE_FIELDS = [
    "role",
    "first_name",
    "last_name",
    "department",
    "location",
    "title",
    "bio",
    "manager_email",
    "capacity",
    "source",
]


class Command(BaseCommand):
    help = "Create or refresh the demo organization, admin, program and participants."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--mentees", type=int, default=200)
        parser.add_argument("--mentors", type=int, default=60)
        parser.add_argument("--seed", type=int, default=2027)
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Seed even when DEBUG is off (the admin password is public).",
        )

    def handle(self, *args, mentees: int, mentors: int, seed: int, **options) -> None:
        if mentees < 0 or mentors < 0:
            raise CommandError("--mentees and --mentors must be 0 or more")
        if not settings.DEBUG and not options["allow_without_debug"]:
            # The demo admin's password is printed and in the source: never
            # create it on a real deployment by accident.
            raise CommandError(
                "DEBUG is off: this looks like a real deployment. "
                "Pass --allow-without-debug to seed demo data anyway."
            )
        started = time.monotonic()
        people = generate_people(mentees=mentees, mentors=mentors, seed=seed)
        with transaction.atomic():
            organization, user, program = self._tenant()
            created, updated, unchanged, removed = self._participants(program, people)
        elapsed = time.monotonic() - started

        self.stdout.write(
            f"Demo data ready in {elapsed:.1f} s: {organization.name} / {program.name}\n"
            f"  mentees: {mentees:,}  mentors: {mentors:,}  (seed {seed})\n"
            f"  participants created: {created:,}  updated: {updated:,}"
            f"  unchanged: {unchanged:,}  removed: {removed:,}\n"
            f"Log in at {settings.PUBLIC_BASE_URL}/login/\n"
            f"  username: {user.get_username()}\n"
            f"  password: {DEMO_ADMIN_PASSWORD}"
        )

    def _tenant(self) -> tuple[Organization, object, Program]:
        organization, _ = Organization.objects.update_or_create(
            name=ORGANIZATION_NAME,
            defaults={
                "timezone": "Europe/London",
                "country": "GB",
                "support_advisor_email": "advisor@support.example.com",
            },
        )
        user, _ = get_user_model().objects.get_or_create(
            username=DEMO_ADMIN_USERNAME, defaults={"email": DEMO_ADMIN_USERNAME}
        )
        # Hash only when needed: a fresh salt on every run would change the
        # row for nothing.
        if not user.check_password(DEMO_ADMIN_PASSWORD):
            user.set_password(DEMO_ADMIN_PASSWORD)
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(user=user, organization=organization)
        program = Program.objects.filter(organization=organization, name=PROGRAM_NAME).first()
        if program is None:
            program = program_create(
                organization=organization,
                name=PROGRAM_NAME,
                pairing_process=Program.Process.USER_LED_APPROVAL,
            )
        elif program.pairing_process != Program.Process.USER_LED_APPROVAL:
            program.pairing_process = Program.Process.USER_LED_APPROVAL
            program.save(update_fields=["pairing_process"])
        return organization, user, program

    def _participants(self, program: Program, people: list[dict]) -> tuple[int, int, int, int]:
        """(created, updated, unchanged, removed) after making the program hold exactly `people`."""
        rows = [{**p, "source": Participant.Source.DEMO} for p in people]
        wanted = {row["email"] for row in rows}
        existing = {
            email: (pk, values)
            for email, pk, *values in Participant.objects.filter(program=program).values_list(
                "email", "pk", *PROFILE_FIELDS
            )
        }
        given = answer_labels(program, program_answers(program))
        stale_ids = [pk for email, (pk, _) in existing.items() if email not in wanted]
        # By primary key, in chunks: an IN list of 60,000 emails would exceed
        # SQLite's parameter limit.
        for start in range(0, len(stale_ids), BATCH_SIZE):
            Participant.objects.filter(pk__in=stale_ids[start : start + BATCH_SIZE]).delete()

        def answers(row: dict) -> dict:
            return {key: row[key] for key in ANSWER_KEYS if row[key]}

        changed = [
            row
            for row in rows
            if row["email"] not in existing
            or existing[row["email"]][1] != [row[f] for f in PROFILE_FIELDS]
            or given.get(existing[row["email"]][0], {}) != answers(row)
        ]
        # One upsert for new and changed people alike: another process adding
        # the same email meanwhile updates instead of failing.
        Participant.objects.bulk_create(
            [
                Participant(
                    program=program, **{k: v for k, v in row.items() if k not in ANSWER_KEYS}
                )
                for row in changed
            ],
            batch_size=BATCH_SIZE,
            update_conflicts=True,
            unique_fields=["program", "email"],
            update_fields=[*PROFILE_FIELDS, "updated_at"],
        )
        ids = dict(Participant.objects.filter(program=program).values_list("email", "pk"))
        answers_replace_many(
            program=program,
            raw={ids[row["email"]]: {key: row[key] for key in ANSWER_KEYS} for row in changed},
        )
        created = sum(1 for row in changed if row["email"] not in existing)
        updated = len(changed) - created
        return created, updated, len(rows) - len(changed), len(stale_ids)
