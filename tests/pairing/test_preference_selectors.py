"""The preference form's mentor pool: the same ranking as pairing.matching, reused until a mentor changes."""

import random

import pytest
from django.db import connection

from pairing import matching, preference_selectors
from pairing.preference_selectors import MentorPool, mentor_options, mentor_pool
from programs.match_weights import scheme_of
from programs.models import MatchRule, Participant, Question, QuestionOption
from programs.questions import answer_questions, bump_questions_version, questions_of
from tests import factories

TAGS = ["Python", "python ", "SQL", "Data  science", "data science", "Leadership", "Go", "UX"]
PLACES = ["", "Sales", "sales", "Legal", "Lisbon"]
# Weights of the rules, by their mentee question: the defaults, and years within 2.
RULES = ("goals", "interests", "department", "location", "years")
WEIGHTS = [
    (5, 3, 1, 1, 0),
    (5, 0, 0, 2, 0),
    (0, 0, 0, 0, 0),
    (4, 2, 10, 1, 0),
    (10, 0, 10, 0, 0),
    (0, 10, 0, 0, 0),
    (5, 2, 1, 2, 3),
    (3, 0, 0, 1, 10),
]


@pytest.fixture
def ranked_program(org):
    """The default questions with options for every tag, and a number compared within 2."""
    program = factories.ProgramFactory(organization=org)
    for q in Question.objects.filter(program=program, kind=Question.Kind.MULTIPLE):
        QuestionOption.objects.bulk_create(
            QuestionOption(question=q, label=tag, position=n) for n, tag in enumerate(TAGS)
        )
    years = Question.objects.create(
        program=program,
        key="years",
        label="Years",
        text="How many years?",
        audience=Question.Audience.EVERYONE,
        kind=Question.Kind.NUMBER,
        position=9,
    )
    MatchRule.objects.create(
        program=program,
        mentee_question=years,
        mentor_question=years,
        measure=MatchRule.Measure.WITHIN,
        distance=2,
        weight=1,
        position=9,
    )
    bump_questions_version(program)
    return program


def _answers(rng: random.Random, program, role: str) -> dict[int, object]:
    """Random answers to the questions `role` is asked: {question id: value}."""
    out: dict[int, object] = {}
    for q in questions_of(program, role=role):
        if q.kind == Question.Kind.MULTIPLE:
            picks = rng.sample(q.option_list, rng.randint(0, 4))
            if picks:
                out[q.pk] = tuple(o.pk for o in picks)
        elif q.kind == Question.Kind.NUMBER and rng.random() < 0.7:
            out[q.pk] = rng.randint(0, 8)
    return out


def _person(rng: random.Random, n: int, program, role: str) -> dict:
    return {
        "id": n,
        "first_name": rng.choice(["Ana", "Bo", "ana", "Zoe", ""]),
        "last_name": rng.choice(["Silva", "Lee", ""]),
        "title": "",
        "department": rng.choice(PLACES),
        "location": rng.choice(PLACES),
        "answers": _answers(rng, program, role),
    }


def _as_rows(answers: dict[int, object]) -> list[tuple]:
    """Answers as the pool's statement sends them: (question, option, number, text) rows."""
    rows = []
    for qid, value in answers.items():
        if isinstance(value, tuple):
            rows += [(qid, option, None, None) for option in value]
        else:
            rows.append((qid, None, value, None))
    return rows


@pytest.mark.django_db
@pytest.mark.parametrize("weights", WEIGHTS)
def test_the_pool_ranks_exactly_like_matching(ranked_program, weights):
    rules = {r.mentee_question.key: r.pk for r in MatchRule.objects.filter(program=ranked_program)}
    scheme = scheme_of(ranked_program).with_weights(
        {rules[key]: w for key, w in zip(RULES, weights, strict=True)}
    )
    rng = random.Random(WEIGHTS.index(weights))
    mentors = [_person(rng, n, ranked_program, "mentor") for n in range(1, 301)]
    for mentor in mentors:
        mentor["answers"] = _as_rows(mentor["answers"])
    pool = MentorPool.build(mentors, scheme, questions_of(ranked_program, role="mentor"))
    assert len(pool.mentors) == 300
    for _ in range(25):
        mentee = _person(rng, 0, ranked_program, "mentee")
        expected = matching.rank_mentors_for(mentee, pool.mentors, scheme)
        got = pool.rank(mentee)
        assert [(m.mentor["pk"], m.score) for m in got] == [
            (m.mentor["pk"], m.score) for m in expected
        ]
        assert [m.reasons for m in got] == [m.reasons for m in expected]


@pytest.mark.django_db
def test_an_empty_pool_ranks_nobody(ranked_program):
    pool = MentorPool.build([], scheme_of(ranked_program))
    assert pool.rank({"answers": {}, "department": "Sales"}) == []


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


@pytest.mark.needs_postgres
def test_the_pool_is_reused_until_a_mentor_their_room_or_the_questions_change(program):
    mentee = factories.ParticipantFactory(program=program)
    ana = factories.MentorFactory(program=program, first_name="Ana", skills=["Python"])
    bo = factories.MentorFactory(program=program, first_name="Bo", capacity=1)
    skills = next(q for q in questions_of(program) if q.key == "skills")
    pool = mentor_pool(program)
    assert mentor_pool(program) is pool
    # Answering touches the mentor's row: the pool is read again, with the new answer.
    answer_questions(participant=ana, raw={"skills": ["Rust"]})
    changed = mentor_pool(program)
    assert changed is not pool
    rust = QuestionOption.objects.get(question=skills, label="Rust")
    assert changed.mentors[changed.position[ana.pk]]["answers"] == {skills.pk: (rust.pk,)}
    assert mentor_pool(program) is changed
    # A bulk update leaves updated_at alone, and here it is even in the same
    # transaction as the pool was built in: the row version still changes.
    Participant.objects.filter(pk=ana.pk).update(title="Architect")
    retitled = mentor_pool(program)
    assert retitled is not changed
    assert retitled.mentors[retitled.position[ana.pk]]["title"] == "Architect"
    # New questions or rules: the pool is prepared again under them.
    bump_questions_version(program)
    assert mentor_pool(program) is not retitled
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
