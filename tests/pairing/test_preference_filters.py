"""The preference form's filters on mentors' answers: one per mentor choice question a
match rule reads, listing only the options some mentor in the list picked."""

import re

import pytest
from django.test.utils import CaptureQueriesContext

from pairing import preference_selectors
from programs.models import MatchRule, Question, QuestionOption
from programs.questions import bump_questions_version
from tests import factories


def _option(program, key: str, label: str) -> int:
    return QuestionOption.objects.get(question__program=program, question__key=key, label=label).pk


def _select(html: str, name: str) -> list[str]:
    """The labels a select offers (after "Any"); [] when the page has no such select."""
    found = re.search(f'<select id="{name}" name="{name}">(.*?)</select>', html, re.S)
    if found is None:
        return []
    return re.findall(r"<option value=\"\d+\"[^>]*>([^<]*)</option>", found.group(1))


def _names(html: str, mentors) -> list[str]:
    return [m.first_name for m in mentors if m.full_name in html]


@pytest.fixture
def mentors(live_program):
    return {
        "ana": factories.MentorFactory(
            program=live_program, first_name="Ana", department="Sales",
            skills=["SQL", "Python"], interests=["Chess"],
        ),
        "bo": factories.MentorFactory(
            program=live_program, first_name="Bo", department="Legal", skills=["Python"]
        ),
        "cy": factories.MentorFactory(
            program=live_program, first_name="Cy", skills=["Design"], interests=["Chess"]
        ),
        # Full: not in the list, so neither is the option only they picked.
        "full": factories.MentorFactory(
            program=live_program, first_name="Fay", capacity=0, skills=["Cobol"]
        ),
    }  # fmt: skip


@pytest.fixture
def page(live_program, client):
    mentee = factories.ParticipantFactory(program=live_program, goals=["Python"])
    url = f"/p/{factories.preferences_link(mentee)}/"
    return lambda **params: client.get(url, params).content.decode()


def test_each_choice_question_a_rule_reads_is_a_filter_of_the_mentors_options(
    live_program, mentors, page
):
    html = page()
    # The question's order (the order options were added here), only options a mentor
    # in the list picked: Fay's Cobol is not offered.
    assert _select(html, "q_skills") == ["SQL", "Python", "Design"]
    assert _select(html, "q_interests") == ["Chess"]
    assert '<label for="q_skills">Skills</label>' in html


def test_a_chosen_option_keeps_the_mentors_who_picked_it(live_program, mentors, page):
    python = _option(live_program, "skills", "Python")
    html = page(q_skills=python)
    assert _names(html, mentors.values()) == ["Ana", "Bo"]
    assert f'<option value="{python}" selected>Python</option>' in html
    assert "2 of 3 mentors with room match your search." in html
    # With the other filters and the search, all at once.
    chess = _option(live_program, "interests", "Chess")
    assert _names(page(q_skills=python, q_interests=chess), mentors.values()) == ["Ana"]
    assert _names(page(q_skills=python, department="Legal"), mentors.values()) == ["Bo"]
    assert _names(page(q_skills=python, q="ana"), mentors.values()) == ["Ana"]


@pytest.mark.parametrize("value", ["abc", "", "99999999999999999999999", "-1", "Cobol", "other"])
def test_an_option_the_filter_does_not_list_is_no_filter(live_program, mentors, page, value):
    # Cobol: only a mentor outside the list picked it; other: an option of another question.
    value = {
        "Cobol": _option(live_program, "skills", "Cobol"),
        "other": _option(live_program, "interests", "Chess"),
    }.get(value, value)
    html = page(q_skills=value)
    assert _names(html, mentors.values()) == ["Ana", "Bo", "Cy"]
    assert "3 of 3 mentors with room." in html


def test_questions_no_rule_reads_and_text_questions_are_no_filters(live_program, mentors, page):
    languages = Question.objects.create(
        program=live_program, key="languages", label="Languages", text="Which languages?",
        audience=Question.Audience.MENTORS, kind=Question.Kind.MULTIPLE, position=9,
    )  # fmt: skip
    spoken = QuestionOption.objects.create(question=languages, label="Welsh")
    mentors["bo"].answers.create(program=live_program, question=languages, option=spoken)
    bump_questions_version(live_program)
    html = page()
    assert _select(html, "q_languages") == []
    assert 'id="q_department"' not in html and 'id="q_location"' not in html
    MatchRule.objects.create(
        program=live_program, mentee_question=languages, mentor_question=languages,
        measure=MatchRule.Measure.OVERLAP, weight=3, position=9,
    )  # fmt: skip
    bump_questions_version(live_program)
    assert _select(page(), "q_languages") == ["Welsh"]
    assert _names(page(q_languages=spoken.pk), mentors.values()) == ["Bo"]


def test_choosing_a_filter_adds_no_query(live_program, mentors, page):
    from django.db import connection

    page()  # the pool and the rules, kept after the first view
    with CaptureQueriesContext(connection) as plain:
        page()
    python = _option(live_program, "skills", "Python")
    with CaptureQueriesContext(connection) as filtered:
        html = page(q_skills=python)
    assert len(filtered) == len(plain)
    assert _names(html, mentors.values()) == ["Ana", "Bo"]


def test_the_filters_read_the_pools_answers(live_program, mentors):
    """What the page lists, from the selector: the mentor dicts' answers, no query."""
    mentee = factories.ParticipantFactory(program=live_program)
    found = preference_selectors.mentor_options(mentee, live_program)
    skills = next(f for f in found.choice_filters() if f.key == "skills")
    python = _option(live_program, "skills", "Python")
    assert [label for _, label in skills.options] == ["SQL", "Python", "Design"]
    chosen = preference_selectors.filters_chosen([skills], {"q_skills": str(python)})
    assert chosen == {skills.question_id: python}
    kept = [m.mentor["first_name"] for m in found.matches if preference_selectors.passes(
        m.mentor, chosen)]  # fmt: skip
    assert sorted(kept) == ["Ana", "Bo"]
