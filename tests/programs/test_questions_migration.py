"""Migrations 0021-0023 on a populated database: profile lists become questions, options
and answers, stored weights become rule weights, and going back restores the lists.

The database is taken back to 0020 (before questions), filled through the models of
that time, migrated to the latest and back again; it is left migrated to the latest
whatever happens, as the rest of the suite expects.
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from programs.models import Answer, MatchRule, Program, Question, QuestionOption

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]

BEFORE = [("programs", "0020_branding")]
LISTS = ("skills", "goals", "interests")
# Rule (by mentee question) -> the stored weight it comes from.
WEIGHT_KEYS = {
    "goals": "skills_for_goals",
    "interests": "shared_interests",
    "department": "department",
    "location": "location",
}
LONG = "Very long topic " * 9  # 144 characters: options keep the first 120

# name: (stored match_weights, the rules' weights expected by mentee question)
PROGRAMS = {
    "Set": (
        {"skills_for_goals": 7, "shared_interests": 0, "department": 10, "location": 3},
        {"goals": 7, "interests": 0, "department": 10, "location": 3},
    ),
    "Broken": (
        {"skills_for_goals": "high", "shared_interests": 11, "department": True, "location": -1},
        {"goals": 5, "interests": 2, "department": 1, "location": 2},
    ),
    "Partial": (
        {"location": 9, "unknown": 4},
        {"goals": 5, "interests": 2, "department": 1, "location": 9},
    ),
    "Not a dict": (
        [5, 2, 1, 2],
        {"goals": 5, "interests": 2, "department": 1, "location": 2},
    ),
}
# name: (program, role, skills, goals, interests); created in this order.
PEOPLE = [
    (
        "mia",
        "Set",
        "mentee",
        [],
        ["Python", "python", " PYTHON ", "", "   ", "Data  science", "data science", LONG],
        ["SQL", "sql ", "Hiking"],
    ),
    ("tom", "Set", "mentor", ["python ", "Go", "go", "GO"], [], ["sql", "Chess"]),
    ("ana", "Set", "mentor", "Leadership", [], []),  # a string, not a list
    ("ben", "Set", "mentee", [], [LONG.upper() + "tail", "Go"], ["hiking", "SQL"]),
    ("zoe", "Broken", "mentee", [], ["Python"], ["\tDesign  Systems "]),
    ("lee", "Broken", "mentor", ["PYTHON", "python"], [], ["design systems"]),
    ("kim", "Partial", "mentee", [], [], []),
]


def _norm(text) -> str:
    return " ".join(str(text).split())[:120].strip()


def _distinct(values) -> list[str]:
    """A person's values as the migration must count them: blanks dropped, whitespace
    collapsed, one per case-insensitive spelling (their first)."""
    if isinstance(values, str):
        values = [values]
    seen: dict[str, str] = {}
    for value in values:
        label = _norm(value)
        if label:
            seen.setdefault(label.casefold(), label)
    return list(seen.values())


def _first_spellings() -> dict[tuple[str, str], dict[str, str]]:
    """{(program, list): {casefolded: the first spelling anyone in the program used}}."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for _, program, _, *lists in PEOPLE:
        for name, values in zip(LISTS, lists, strict=True):
            found = out.setdefault((program, name), {})
            for label in _distinct(values):
                found.setdefault(label.casefold(), label)
    return out


def _fill(apps) -> dict[str, int]:
    """Organizations, programs and people as they were at 0020; {person: id}."""
    Organization = apps.get_model("programs", "Organization")
    OldProgram = apps.get_model("programs", "Program")
    Participant = apps.get_model("programs", "Participant")
    org = Organization.objects.create(name="Migrated Ltd")
    programs = {
        name: OldProgram.objects.create(organization=org, name=name, match_weights=weights)
        for name, (weights, _) in PROGRAMS.items()
    }
    ids = {}
    for person, program, role, skills, goals, interests in PEOPLE:
        ids[person] = Participant.objects.create(
            program=programs[program],
            role=role,
            first_name=person.title(),
            email=f"{person}@example.org",
            skills=skills,
            goals=goals,
            interests=interests,
        ).pk
    return ids


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)


def test_profile_lists_become_answers_and_come_back():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        executor = _migrate(BEFORE)
        ids = _fill(executor.loader.project_state(BEFORE).apps)

        _migrate(latest)
        _check_questions_and_rules()
        _check_options_and_answers(ids)

        executor = _migrate(BEFORE)
        _check_lists_restored(executor.loader.project_state(BEFORE).apps, ids)
    finally:
        _migrate(latest)


def _check_questions_and_rules():
    for name, (_, expected) in PROGRAMS.items():
        program = Program.objects.get(name=name)
        questions = list(Question.objects.filter(program=program).order_by("position"))
        assert [q.key for q in questions] == [
            "skills",
            "goals",
            "interests",
            "department",
            "location",
        ]
        assert [q.profile_field for q in questions] == ["", "", "", "department", "location"]
        assert [(q.audience, q.kind) for q in questions[:3]] == [
            ("everyone", "multiple"),
            ("everyone", "multiple"),
            ("everyone", "multiple"),
        ]
        rules = MatchRule.objects.filter(program=program).order_by("position")
        assert [
            (r.mentee_question.key, r.mentor_question.key, r.measure, r.weight) for r in rules
        ] == [
            ("goals", "skills", "overlap", expected["goals"]),
            ("interests", "interests", "overlap", expected["interests"]),
            ("department", "department", "same", expected["department"]),
            ("location", "location", "same", expected["location"]),
        ], name


def _check_options_and_answers(ids: dict[str, int]):
    spellings = _first_spellings()
    for name in PROGRAMS:
        program = Program.objects.get(name=name)
        for key in LISTS:
            question = Question.objects.get(program=program, key=key)
            options = list(QuestionOption.objects.filter(question=question).order_by("position"))
            # One option per value, in the order first met, spelled as first met.
            assert [o.label for o in options] == list(spellings.get((name, key), {}).values())
            wanted = {
                ids[person]: _distinct(lists[LISTS.index(key)])
                for person, program_name, _, *lists in PEOPLE
                if program_name == name
            }
            # Each person's distinct values, one answer row each, none for blanks.
            assert Answer.objects.filter(question=question).count() == sum(
                len(v) for v in wanted.values()
            )
            for pid, labels in wanted.items():
                got = Answer.objects.filter(participant_id=pid, question=question).order_by("id")
                assert [a.option.label.casefold() for a in got] == [
                    label.casefold() for label in labels
                ], (name, key, pid)
    mia = Question.objects.get(program__name="Set", key="goals")
    assert QuestionOption.objects.get(question=mia, label__startswith="Very").label == (
        LONG[:120].strip()
    )


def _check_lists_restored(apps, ids: dict[str, int]):
    spellings = _first_spellings()
    Participant = apps.get_model("programs", "Participant")
    OldProgram = apps.get_model("programs", "Program")
    for person, program, _, *lists in PEOPLE:
        row = Participant.objects.get(pk=ids[person])
        for key, values in zip(LISTS, lists, strict=True):
            # The person's distinct values, in their order, spelled as the program's option.
            expected = [spellings[(program, key)][v.casefold()] for v in _distinct(values)]
            assert getattr(row, key) == expected, (person, key)
    for name, (_, rules) in PROGRAMS.items():
        stored = OldProgram.objects.get(name=name).match_weights
        assert stored == {WEIGHT_KEYS[k]: w for k, w in rules.items()}, name
