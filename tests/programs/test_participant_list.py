"""The participants page: search, role filter, and a query count that does not grow."""

import pytest
from django.urls import reverse

from programs.models import Participant
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
    # session, user, membership check, program, count (kept), one page of rows, then the
    # session save (SESSION_SAVE_EVERY_REQUEST) wrapped in a savepoint pair.
    with django_assert_num_queries(9):
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
