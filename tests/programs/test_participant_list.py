"""The participants page: search, role filter, filters on answers, and a query count that
does not grow."""

import pytest
from django.urls import reverse

from programs.models import Participant, Question, QuestionOption
from programs.questions import answer_questions, bump_questions_version
from tests import factories


def _url(program) -> str:
    return reverse("programs:participants", args=[program.pk])


def _add_people(program, count: int) -> None:
    Participant.objects.bulk_create(
        Participant(
            program=program,
            role=Participant.Role.MENTOR if i % 3 == 0 else Participant.Role.MENTEE,
            first_name=f"Person{i}",
            last_name="Bulk",
            email=f"bulk{i}@example.org",
            capacity=2 if i % 3 == 0 else 0,
        )
        for i in range(count)
    )


@pytest.mark.parametrize("count", [10, 2000])
def test_participant_list_query_count_does_not_grow(
    org_admin_client, program, count, django_assert_num_queries
):
    _add_people(program, count)
    # session, user, membership check, program, the questions and their options (the
    # filters), count (kept), one page of rows, then the session save
    # (SESSION_SAVE_EVERY_REQUEST) wrapped in a savepoint pair.
    with django_assert_num_queries(11):
        response = org_admin_client.get(_url(program))
    assert response.status_code == 200
    assert response.context["page"].paginator.count == count
    assert len(response.context["page"].object_list) == min(count, 50)


@pytest.fixture
def people(program):
    return {
        "ada": factories.MentorFactory(
            program=program, first_name="Ada", last_name="Lovelace", department="Engineering"
        ),
        "grace": factories.ParticipantFactory(
            program=program, first_name="Grace", last_name="Hopper", department="Research"
        ),
        "alan": factories.ParticipantFactory(
            program=program,
            first_name="Alan",
            last_name="Turing",
            email="alan@bletchley.example",
            location="Manchester",
        ),
    }


def _names(response) -> list[str]:
    return [p.first_name for p in response.context["page"].object_list]


def test_search_matches_name_email_department_and_location(org_admin_client, program, people):
    assert _names(org_admin_client.get(_url(program), {"q": "lovel"})) == ["Ada"]
    assert _names(org_admin_client.get(_url(program), {"q": "bletchley"})) == ["Alan"]
    assert _names(org_admin_client.get(_url(program), {"q": "research"})) == ["Grace"]
    assert _names(org_admin_client.get(_url(program), {"q": "manchester"})) == ["Alan"]
    response = org_admin_client.get(_url(program), {"q": "nobody-like-this"})
    assert _names(response) == []
    assert "Nobody matches these filters." in response.content.decode()


def test_search_words_must_all_match(org_admin_client, program, people):
    assert _names(org_admin_client.get(_url(program), {"q": "grace hopper"})) == ["Grace"]
    assert _names(org_admin_client.get(_url(program), {"q": "grace turing"})) == []


def test_role_filter_shows_only_that_role(org_admin_client, program, people):
    mentors = org_admin_client.get(_url(program), {"role": "mentor"})
    assert _names(mentors) == ["Ada"]
    mentees = org_admin_client.get(_url(program), {"role": "mentee"})
    assert _names(mentees) == ["Grace", "Alan"]
    everyone = org_admin_client.get(_url(program), {"role": "not-a-role"})
    assert sorted(_names(everyone)) == ["Ada", "Alan", "Grace"]
    assert everyone.context["role"] == ""


def test_list_shows_only_this_programs_people(org_admin_client, program, people):
    factories.ParticipantFactory(first_name="Stranger")
    assert "Stranger" not in _names(org_admin_client.get(_url(program)))


def test_htmx_search_returns_only_the_results_fragment(org_admin_client, program, people):
    response = org_admin_client.get(
        _url(program),
        {"q": "ada"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="participant-results",
    )
    html = response.content.decode()
    assert 'id="participant-results"' in html
    assert "<html" not in html
    assert "Lovelace" in html
    assert "Hopper" not in html


def test_pages_and_searches_list_people_in_name_order(org_admin_client, program):
    for first, last in [("Bo", "Smith"), ("Al", "Smith"), ("Cy", "Adams"), ("Al", "Smithers")]:
        factories.ParticipantFactory(program=program, first_name=first, last_name=last)
    _add_people(program, 60)
    first_page = org_admin_client.get(_url(program))
    assert [p.last_name for p in first_page.context["page"].object_list[:1]] == ["Adams"]
    searched = org_admin_client.get(_url(program) + "?q=smith")
    assert [(p.first_name, p.last_name) for p in searched.context["page"].object_list] == [
        ("Al", "Smith"),
        ("Bo", "Smith"),
        ("Al", "Smithers"),
    ]
    last_page = org_admin_client.get(_url(program) + "?page=2")
    people = Participant.objects.filter(program=program).order_by("last_name", "first_name", "id")
    assert list(last_page.context["page"].object_list) == list(people[50:])


# --- Filters on answers ------------------------------------------------------------------


def _option(program, key: str, label: str) -> int:
    return QuestionOption.objects.get(question__program=program, question__key=key, label=label).pk


@pytest.fixture
def answered(program):
    """Three mentors (skills, years of experience) and two mentees (goals)."""
    Question.objects.create(
        program=program, key="years", label="Years", text="Years of experience?",
        audience=Question.Audience.MENTORS, kind=Question.Kind.NUMBER, position=9,
    )  # fmt: skip
    bump_questions_version(program)
    people = {
        "ada": factories.MentorFactory(program=program, first_name="Ada", skills=["Python", "SQL"]),
        "bob": factories.MentorFactory(program=program, first_name="Bob", skills=["Python"]),
        "cy": factories.MentorFactory(program=program, first_name="Cy", skills=["Design"]),
        "dee": factories.ParticipantFactory(program=program, first_name="Dee", goals=["Python"]),
        "eve": factories.ParticipantFactory(program=program, first_name="Eve", goals=["Design"]),
    }
    for name, years in [("ada", "3"), ("bob", "12"), ("cy", "7")]:
        answer_questions(participant=people[name], raw={"years": years})
    return people


def test_a_choice_filter_keeps_who_picked_the_option(org_admin_client, program, answered):
    python = _option(program, "skills", "Python")
    response = org_admin_client.get(_url(program), {"q_skills": python})
    assert _names(response) == ["Ada", "Bob"]
    assert response.context["page"].paginator.count == 2
    assert "2 participants" in response.content.decode()
    # Each question has its own filter; filters, search and role all apply together.
    goal = _option(program, "goals", "Python")
    assert _names(org_admin_client.get(_url(program), {"q_goals": goal})) == ["Dee"]
    both = {"q_skills": python, "q_goals": goal}
    assert _names(org_admin_client.get(_url(program), both)) == []
    searched = {"q_skills": python, "q": "bob"}
    assert _names(org_admin_client.get(_url(program), searched)) == ["Bob"]
    mentees = {"q_skills": python, "role": "mentee"}
    response = org_admin_client.get(_url(program), mentees)
    assert _names(response) == [] and "Nobody matches these filters." in response.content.decode()


def test_the_filters_list_each_choice_questions_options(org_admin_client, program, answered):
    python = _option(program, "skills", "Python")
    html = org_admin_client.get(_url(program), {"q_skills": python}).content.decode()
    assert '<select id="q_skills" name="q_skills" class="answer-filter">' in html
    assert f'<option value="{python}" selected>Python</option>' in html
    design = _option(program, "goals", "Design")
    assert f'<option value="{design}">Design</option>' in html
    assert 'name="min_years"' in html and 'name="max_years"' in html
    # Text questions (Department, Location) are found by the search instead.
    assert 'name="q_department"' not in html


def test_a_number_filter_keeps_answers_within_its_bounds(org_admin_client, program, answered):
    assert _names(org_admin_client.get(_url(program), {"min_years": "5"})) == ["Bob", "Cy"]
    assert _names(org_admin_client.get(_url(program), {"max_years": "7"})) == ["Ada", "Cy"]
    response = org_admin_client.get(_url(program), {"min_years": "4", "max_years": " 10 "})
    assert _names(response) == ["Cy"]
    html = response.content.decode()
    assert 'name="min_years" class="answer-filter" type="number"' in html
    assert 'value="4"' in html and 'value="10"' in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q_skills": "abc"}, "“Skills” has no such option: that filter was left out."),
        ({"q_skills": "99999999999999999999999"}, "“Skills” has no such option"),
        ({"q_skills": "goals"}, "“Skills” has no such option"),
        ({"q_skills": "²"}, "“Skills” has no such option"),
        ({"min_years": "²"}, "“Years” takes a whole number, not “²”"),
        ({"min_years": "ten"}, "“Years” takes a whole number, not “ten”"),
        ({"max_years": "1e3"}, "“Years” takes a whole number, not “1e3”"),
        ({"max_years": "99999999999"}, "“Years” takes a whole number"),
        ({"min_years": "\x00"}, "“Years” takes a whole number"),
    ],
)
def test_a_filter_that_cannot_be_read_is_left_out_and_says_so(
    org_admin_client, program, answered, params, message
):
    response = org_admin_client.get(_url(program), params)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert _names(response) == ["Ada", "Bob", "Cy", "Dee", "Eve"]


def test_an_option_of_another_question_is_no_option_of_this_one(
    org_admin_client, program, answered
):
    goal = _option(program, "goals", "Python")
    response = org_admin_client.get(_url(program), {"q_skills": goal})
    assert "“Skills” has no such option" in response.content.decode()
    assert len(_names(response)) == 5


def test_pages_keep_the_filters_and_the_count_is_of_the_filtered(
    org_admin_client, program, answered
):
    _add_people(program, 180)  # 60 mentors among them
    python = _option(program, "skills", "Python")
    mentors = Participant.objects.filter(program=program, role="mentor", last_name="Bulk")
    for person in mentors[:55]:
        answer_questions(participant=person, raw={"skills": ["Python"]})
    params = {"q_skills": python, "role": "mentor", "min_years": "", "q": ""}
    response = org_admin_client.get(_url(program), params)
    assert response.context["page"].paginator.count == 57
    html = response.content.decode()
    assert "57 participants" in html
    assert f'href="?role=mentor&amp;q_skills={python}&amp;page=2" rel="next"' in html
    second = org_admin_client.get(_url(program), {"q_skills": python, "role": "mentor", "page": 2})
    assert len(second.context["page"].object_list) == 7
    assert f'href="?role=mentor&amp;q_skills={python}&amp;page=1" rel="prev"' in (
        second.content.decode()
    )


def test_an_htmx_filter_answers_with_the_results_and_any_problem(
    org_admin_client, program, answered
):
    response = org_admin_client.get(
        _url(program),
        {"q_skills": _option(program, "skills", "Design"), "min_years": "x"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="participant-results",
    )
    html = response.content.decode()
    assert "<html" not in html and "Cy" in html and "Ada" not in html
    assert "“Years” takes a whole number" in html


@pytest.mark.parametrize("count", [10, 2000])
def test_a_filtered_list_query_count_does_not_grow(
    org_admin_client, program, count, django_assert_num_queries
):
    _add_people(program, count)
    Question.objects.create(
        program=program, key="years", label="Years", text="Years of experience?",
        audience=Question.Audience.MENTORS, kind=Question.Kind.NUMBER, position=9,
    )  # fmt: skip
    bump_questions_version(program)
    mentors = Participant.objects.filter(program=program, role="mentor").order_by("id")
    for n, person in enumerate(mentors[:60]):
        answer_questions(participant=person, raw={"skills": ["Python"], "years": str(n)})
    python = _option(program, "skills", "Python")
    # As unfiltered, the count is a query of the filtered rows instead of the kept one.
    with django_assert_num_queries(11):
        response = org_admin_client.get(_url(program), {"q_skills": python, "min_years": "1"})
    assert response.context["page"].paginator.count == min(count // 3 + 1, 60) - 1
