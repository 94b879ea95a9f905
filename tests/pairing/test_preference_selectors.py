"""The preference form's mentor pool: the same ranking as pairing.matching, reused until a mentor changes."""

import random

import pytest
from django.db import connection

from pairing import matching, preference_selectors
from pairing.preference_selectors import MentorPool, mentor_options, mentor_pool
from programs.models import Participant
from programs.questions import answers_save, clean_answer, questions_of
from tests import factories
from tests.support import schemes

TAGS = ["Python", "python ", "SQL", "Data  science", "data science", "Leadership", "Go", "UX"]
PLACES = ["", "Sales", "sales", "Legal", "Lisbon"]


def _person(rng: random.Random, n: int) -> dict:
    return schemes.person(**{
        "id": n,
        "first_name": rng.choice(["Ana", "Bo", "ana", "Zoe", ""]),
        "last_name": rng.choice(["Silva", "Lee", ""]),
        "title": "",
        "department": rng.choice(PLACES),
        "location": rng.choice(PLACES),
        "skills": rng.sample(TAGS, rng.randint(0, 4)),
        "interests": rng.sample(TAGS, rng.randint(0, 3)),
        "goals": rng.sample(TAGS, rng.randint(0, 2)),
        "bio": "",
    })  # fmt: skip


WEIGHTS = [
    {"skills_for_goals": 5, "shared_interests": 3, "department": 1, "location": 1},
    {"skills_for_goals": 5, "shared_interests": 0, "department": 0, "location": 2},
    {"skills_for_goals": 0, "shared_interests": 0, "department": 0, "location": 0},
    {"skills_for_goals": 4, "shared_interests": 2, "department": 10, "location": 1},
    {"skills_for_goals": 10, "shared_interests": 0, "department": 10, "location": 0},
    {"skills_for_goals": 0, "shared_interests": 10, "department": 0, "location": 0},
]


@pytest.mark.parametrize("weights", WEIGHTS)
def test_the_pool_ranks_exactly_like_matching(weights):
    assert set(weights) == set(schemes.LEGACY)
    scheme = schemes.scheme(weights)
    rng = random.Random(sum(weights.values()))
    mentors = [_person(rng, n) for n in range(1, 301)]
    pool = MentorPool.build([dict(m) for m in mentors], scheme)
    for _ in range(25):
        mentee = _person(rng, 0)
        expected = matching.rank_mentors_for(mentee, pool.mentors, scheme)
        got = pool.rank(mentee)
        assert [(m.mentor["pk"], m.score) for m in got] == [
            (m.mentor["pk"], m.score) for m in expected
        ]
        assert [m.reasons for m in got] == [m.reasons for m in expected]


def test_an_empty_pool_ranks_nobody():
    mentee = schemes.person(interests=["Python"])
    assert MentorPool.build([], schemes.scheme(WEIGHTS[0])).rank(mentee) == []


@pytest.fixture
def program(org):
    return factories.ProgramFactory(organization=org, pairing_enabled=True)


def _ways():
    return [True, False] if connection.vendor == "postgresql" else [False]


@pytest.mark.parametrize("use_sql", _ways())
def test_the_pool_holds_the_mentors_with_room_and_what_the_form_shows(program, use_sql):
    mentee = factories.ParticipantFactory(program=program, goals=["Python"])
    ana = factories.MentorFactory(
        program=program, first_name="Ana", skills=["Python"], bio="Ten years of data work."
    )
    factories.MentorFactory(program=program, first_name="Full", capacity=0)
    factories.MentorFactory(program=program, first_name="Away", accepting_requests=False)
    bo = factories.MentorFactory(program=program, first_name="Bo", skills=["Cooking"])
    options = mentor_options(mentee, program, use_sql=use_sql)
    assert [m.mentor["pk"] for m in options.matches] == [ana.pk, bo.pk]
    first = options.matches[0]
    assert preference_selectors.bios([ana.pk, bo.pk])[ana.pk] == "Ten years of data work."
    assert first.mentor["full_name"] == ana.full_name
    assert first.reasons[0] == "Skills: Python"
    assert options.departments == ["Engineering"]
    assert "python" in options.pool.haystack(first.mentor)


@pytest.mark.parametrize("use_sql", _ways())
def test_the_requests_waiting_are_read_with_the_pool_as_waiting_for_counts_them(program, use_sql):
    mentors = factories.MentorFactory.create_batch(3, program=program, capacity=3)
    factories.PairingFactory(program=program, mentor=mentors[0])
    for mentor, waiting in zip(mentors, (2, 1, 0), strict=True):
        for _ in range(waiting):
            factories.MentorRequestFactory(program=program, mentor=mentor)
    mentee = factories.ParticipantFactory(program=program)
    assert mentor_options(mentee, program, use_sql=use_sql).waiting == {
        mentors[0].pk: (2, 2),
        mentors[1].pk: (1, 3),
    }
    assert preference_selectors.waiting_for(program) == {
        mentors[0].pk: (2, 2),
        mentors[1].pk: (1, 3),
    }
    # A pairing changes a mentor's free seats, not their row: the kept pool sees it.
    factories.PairingFactory(program=program, mentor=mentors[1])
    assert mentor_options(mentee, program, use_sql=use_sql).waiting[mentors[1].pk] == (1, 2)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the kept pool is PostgreSQL's")
def test_the_pool_is_reused_until_a_mentor_or_their_room_changes(program):
    mentee = factories.ParticipantFactory(program=program)
    ana = factories.MentorFactory(program=program, first_name="Ana", skills=["Python"])
    bo = factories.MentorFactory(program=program, first_name="Bo", capacity=1)
    pool = mentor_pool(program)
    assert mentor_pool(program) is pool
    # A bulk update leaves updated_at alone, and here it is even in the same
    # transaction as the pool was built in: the row version still changes.
    Participant.objects.filter(pk=ana.pk).update(title="Rustacean")
    changed = mentor_pool(program)
    assert changed is not pool
    assert changed.mentors[changed.position[ana.pk]]["title"] == "Rustacean"
    assert mentor_pool(program) is changed
    # A changed answer is a new row version too (answers_save touches the person's row).
    (skills,) = [q for q in questions_of(program) if q.key == "skills"]
    answers_save(participant=ana, values={skills.pk: clean_answer(skills, "Rust")})
    changed = mentor_pool(program)
    assert [text for _, text in changed.mentors[changed.position[ana.pk]]["described"]] == ["Rust"]
    assert mentor_pool(program) is changed
    factories.PairingFactory(program=program, mentee=mentee, mentor=bo)
    assert [m["pk"] for m in mentor_pool(program).mentors] == [ana.pk]
    Participant.objects.filter(pk=ana.pk).update(accepting_requests=False)
    assert mentor_pool(program).mentors == []


def _link(mentee):
    return factories.preferences_link(mentee)


def test_every_mentor_is_reachable_by_search_and_paging_and_choices_survive(program, client):
    mentee = factories.ParticipantFactory(program=program, goals=["Python"])
    step = 30
    strong = factories.MentorFactory.create_batch(step + 5, program=program, skills=["Python"])
    last = factories.MentorFactory(
        program=program, first_name="Zebedee", last_name="Quill", skills=["Pottery"]
    )
    raw = _link(mentee)
    first_page = client.get(f"/p/{raw}/").content.decode()
    assert last.full_name not in first_page and 'name="shown" value="60"' in first_page
    # Searching looks through every mentor, not just the page shown.
    found = client.get(f"/p/{raw}/", {"q": "zebedee pottery"}).content.decode()
    assert last.full_name in found and strong[0].full_name not in found
    # Showing more keeps a choice made on the first page, selected, at the top.
    more = client.get(f"/p/{raw}/", {"shown": "60", f"rank_{strong[0].pk}": "2"}).content.decode()
    assert last.full_name in more
    assert more.index(strong[0].full_name) < more.index(strong[1].full_name)
    assert 'value="2" selected' in more


def test_the_page_follows_a_mentor_who_changes(program, client):
    mentee = factories.ParticipantFactory(program=program)
    mentor = factories.MentorFactory(program=program, title="Plumber", bio="Fixes bikes too.")
    raw = _link(mentee)
    html = client.get(f"/p/{raw}/").content.decode()
    assert "Plumber" in html and "Fixes bikes too." in html
    Participant.objects.filter(pk=mentor.pk).update(title="Architect")
    html = client.get(f"/p/{raw}/").content.decode()
    assert "Architect" in html and "Plumber" not in html


def test_pools_kept_are_bounded(program, monkeypatch):
    monkeypatch.setattr(preference_selectors, "_POOLS_MAX", 2)
    programs = [program] + [
        factories.ProgramFactory(organization=program.organization) for _ in range(3)
    ]
    for p in programs:
        factories.MentorFactory(program=p)
        mentor_pool(p)
    if connection.vendor == "postgresql":
        assert list(preference_selectors._pools)[-2:] == [programs[2].pk, programs[3].pk]
    assert len(preference_selectors._pools) <= 2
