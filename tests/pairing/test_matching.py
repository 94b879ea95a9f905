"""The match score (docs/matching.md) on hand-made examples: what each rule does, the
sparse-profile guard, must-match rules, ties, the reasons' wording. The score against a
reference on random programs: test_matching_reference.py."""

from unittest import mock

import numpy as np
import pytest

from pairing import matching
from programs.match_weights import scheme_of
from tests import factories
from tests.support.questions import Asked, Kind, Measure, Quiz, Rule, defaults, person, scheme


def _only_skills() -> Quiz:
    return defaults(interests=0, department=0, location=0)


def _score(quiz, mentee, mentor):
    return matching.score_pair(mentee, mentor, scheme(quiz))


def _explain(quiz, mentee, mentor):
    return matching.explain(mentee, mentor, scheme(quiz))


# --- The default rules ---------------------------------------------------------------------


def test_empty_profiles_score_zero_and_give_no_reasons():
    quiz = defaults()
    empty = person(quiz, "Empty")
    rich = person(quiz, skills=["Python"], interests=["SQL"], goals=["Python"], department="Eng")
    rich["location"] = "Leeds"

    for mentee, mentor in [(empty, rich), (rich, empty), (empty, empty)]:
        assert _score(quiz, mentee, mentor) == 0.0
        assert _explain(quiz, mentee, mentor) == []


def test_rich_mentor_beats_sparse_one_whose_only_skill_matches():
    quiz = defaults()
    mentee = person(quiz, goals=["Python", "SQL", "Leadership"])
    rich = person(quiz, "Rich", skills=["python", "SQL", "Leadership", "Cooking", "Chess"])
    sparse = person(quiz, "Aaron", skills=["Python"])  # first by name, if scores tied

    ranked = matching.rank_mentors_for(mentee, [sparse, rich], scheme(quiz))

    assert [m.mentor["first_name"] for m in ranked] == ["Rich", "Aaron"]
    # One matching skill out of three wishes is a third of the rule, not all of it.
    assert ranked[1].score == pytest.approx(ranked[0].score / 3, abs=1e-3)


def test_a_mentee_listing_one_wish_earns_at_most_a_third_of_the_rule():
    quiz = _only_skills()
    mentor = person(quiz, skills=["Python", "SQL", "Leadership"])
    one_wish = person(quiz, goals=["Python"])
    two_wishes = person(quiz, goals=["Python", "SQL"])
    three_wishes = person(quiz, goals=["Python", "SQL", "Leadership"])

    assert _score(quiz, three_wishes, mentor) == pytest.approx(100)
    assert _score(quiz, two_wishes, mentor) == pytest.approx(200 / 3, abs=1e-3)
    assert _score(quiz, one_wish, mentor) == pytest.approx(100 / 3, abs=1e-3)


@pytest.mark.parametrize(
    ("max_choices", "expected"), [(1, 100), (2, 50), (3, 100 / 3), (9, 100 / 3)]
)
def test_the_floor_is_never_more_picks_than_the_question_allows(max_choices, expected):
    quiz = _only_skills()
    quiz.question("goals").max_choices = max_choices
    mentor = person(quiz, skills=["Python", "SQL", "Leadership"])

    assert _score(quiz, person(quiz, goals=["Python"]), mentor) == pytest.approx(expected, abs=1e-3)


def test_a_single_choice_overlap_has_no_floor():
    quiz = _only_skills()
    goals = quiz.question("goals")
    goals.kind = Kind.SINGLE
    mentor = person(quiz, skills=["Python", "SQL"])

    assert _score(quiz, person(quiz, goals="python"), mentor) == pytest.approx(100)


def test_extra_mentor_skills_never_lower_the_score():
    quiz = defaults()
    mentee = person(quiz, goals=["Python", "SQL"])
    focused = person(quiz, skills=["Python"])
    broad = person(quiz, skills=["Python", "Knitting", "Sailing", "Opera", "Chess", "Go"])

    assert _score(quiz, mentee, broad) == _score(quiz, mentee, focused)


def test_empty_answers_stay_in_the_denominator():
    # Only location matches: 2 of the 10 points in play, not 100 %.
    quiz = defaults()
    mentee = person(quiz, location="Lisbon")
    mentor = person(quiz, location="lisbon", skills=["Python"])

    assert _score(quiz, mentee, mentor) == pytest.approx(20)


def test_must_match_rule_filters_mentors_instead_of_scoring():
    quiz = defaults(location=10)
    mentee = person(quiz, goals=["Python"], location="Lisbon")
    here = person(quiz, "Here", skills=["Python"], location=" lisbon")
    elsewhere = person(quiz, "Elsewhere", skills=["Python"], location="Leeds")
    nowhere = person(quiz, "Nowhere", skills=["Python"], location="")

    ranked = matching.rank_mentors_for(mentee, [elsewhere, here, nowhere], scheme(quiz))

    assert [m.mentor["first_name"] for m in ranked] == ["Here"]
    assert _score(quiz, mentee, elsewhere) is None
    assert _score(quiz, mentee, nowhere) is None
    # It filters, it does not score: the same as if location were ignored.
    ignored = scheme(quiz).with_weights({4: 0})  # rule 4: location
    assert ranked[0].score == pytest.approx(matching.score_pair(mentee, here, ignored), abs=1e-3)
    assert "Location: lisbon" in ranked[0].reasons
    # A mentee who left it empty matches nobody on it.
    no_location = person(quiz, goals=["Python"])
    assert matching.rank_mentors_for(no_location, [here], scheme(quiz)) == []


def test_a_must_match_overlap_asks_for_one_shared_answer_not_all():
    quiz = defaults(goals=10)
    mentee = person(quiz, goals=["Python", "SQL", "Leadership"], location="Leeds")
    one = person(quiz, "One", skills=["sql"], location="Leeds")
    none = person(quiz, "None", skills=["Chess"], location="Leeds")

    ranked = matching.rank_mentors_for(mentee, [none, one], scheme(quiz))

    assert [m.mentor["first_name"] for m in ranked] == ["One"]
    assert ranked[0].reasons == ["Skills: sql", "Location: Leeds"]


def test_weight_zero_ignores_a_rule():
    quiz = defaults(department=0)
    mentee = person(quiz, goals=["Python"], department="Eng")
    same = person(quiz, skills=["Python"], department="Eng")
    other = person(quiz, skills=["Python"], department="Sales")

    assert _score(quiz, mentee, same) == _score(quiz, mentee, other)
    assert _explain(quiz, mentee, same) == ["Skills: Python"]


def test_perfect_match_scores_100():
    quiz = defaults()
    mentee = person(
        quiz, goals=["A", "B", "C"], interests=["X", "Y", "Z"], department="Eng", location="Leeds"
    )
    mentor = person(
        quiz,
        skills=["a", "b", "c", "d"],
        interests=["x", "Y", "z"],
        department="eng",
        location="LEEDS",
    )

    assert _score(quiz, mentee, mentor) == pytest.approx(100)


def test_reasons_name_the_mentor_question_with_the_mentor_spelling_in_their_order():
    quiz = defaults()
    mentee = person(
        quiz,
        goals=["python", "sql"],
        interests=["Coaching", "Chess"],
        department="Finance",
        location="Lisbon",
    )
    mentor = person(
        quiz,
        skills=["SQL", "Excel", "Python"],
        interests=["chess"],
        department="Legal",
        location="lisbon ",
    )

    assert _explain(quiz, mentee, mentor) == [
        "Skills: SQL, Python",
        # One interests question: "chess" is the option "Chess" the mentee added first.
        "Interests: Chess",
        "Location: lisbon",
    ]


def test_values_compare_ignoring_case_and_whitespace():
    quiz = _only_skills()
    mentee = person(quiz, goals=["  machine   Learning ", "PUBLIC speaking"])
    mentor = person(quiz, skills=["Machine learning", "public\tspeaking"])

    assert _score(quiz, mentee, mentor) == pytest.approx(200 / 3, abs=1e-3)
    assert _explain(quiz, mentee, mentor) == ["Skills: Machine learning, public speaking"]


def test_without_a_rule_weighted_1_to_9_every_score_is_zero():
    quiz = defaults(goals=10, interests=0, department=0, location=0)
    ranked = matching.rank_mentors_for(
        person(quiz, goals=["Python"]),
        [person(quiz, "B", skills=["Python"]), person(quiz, "A", skills=["Python"])],
        scheme(quiz),
    )

    assert [(m.mentor["first_name"], m.score) for m in ranked] == [("A", 0.0), ("B", 0.0)]


def test_ranking_breaks_ties_by_name_then_id():
    quiz = defaults()
    mentee = person(quiz, goals=["Python"])
    mentors = [
        person(quiz, "Zoe", "Adams", id=3, skills=["Python"]),
        person(quiz, "amir", "Khan", id=1, skills=["python"]),
        person(quiz, "Ben", "Ito", id=2),
        person(quiz, "Amir", "Khan", id=4, skills=["PYTHON"]),
    ]

    ranked = matching.rank_mentors_for(mentee, mentors, scheme(quiz))

    assert [m.mentor["id"] for m in ranked] == [1, 4, 3, 2]
    assert [m.percent for m in ranked] == [17, 17, 17, 0]


def test_weights_outside_0_to_10_are_refused():
    quiz = defaults(location=11)
    with pytest.raises(ValueError, match="0-10"):
        _score(quiz, person(quiz), person(quiz))


def test_a_match_unpacks_as_mentor_score_reasons():
    quiz = defaults()
    mentor = person(quiz, "Tom", skills=["SQL"], location="Leeds")

    (match,) = matching.rank_mentors_for(
        person(quiz, goals=["sql"], location="Leeds"), [mentor], scheme(quiz)
    )
    who, score, reasons = match

    assert who is mentor
    assert score == match.score == pytest.approx(100 * (5 / 3 + 2) / 10, abs=1e-3)
    assert reasons == ["Skills: SQL", "Location: Leeds"]


@pytest.mark.django_db
def test_works_with_participant_objects_and_the_program_rules(program):
    mentee = factories.ParticipantFactory(
        program=program, goals=["Python"], department="Sales", location="Leeds"
    )
    mentor = factories.MentorFactory(
        program=program, skills=["Python"], department="Legal", location="Leeds"
    )

    (match,) = matching.rank_mentors_for(mentee, [mentor], scheme_of(program))

    assert match.mentor is mentor
    assert match.reasons == ["Skills: Python", "Location: Leeds"]
    assert match.percent == round(100 * (5 / 3 + 2) / 10)


# --- Numbers, levels and same values -------------------------------------------------------


def _one_rule(mentee: Asked, mentor: Asked, measure: str, distance=None) -> Quiz:
    questions = [mentee] if mentee is mentor else [mentee, mentor]
    return Quiz(questions, [Rule(mentee, mentor, measure, 1, distance)])


def test_numbers_within_a_distance_count_and_blanks_never_do():
    years = Asked(id=50, key="years", label="Years", kind=Kind.NUMBER, audience="everyone")
    quiz = _one_rule(years, years, Measure.WITHIN, distance=2)
    mentee = person(quiz, years=5)
    near, far, blank = person(quiz, years=7), person(quiz, years=8), person(quiz)

    assert [_score(quiz, mentee, m) for m in (near, far, blank)] == [100, 0, 0]
    assert _score(quiz, person(quiz), near) == 0
    assert _explain(quiz, mentee, near) == ["Years: 7"]


def test_a_mentor_number_above_the_mentee_counts():
    mentee_q = Asked(id=51, key="want", label="Wanted", kind=Kind.NUMBER, audience="mentee")
    mentor_q = Asked(id=52, key="years", label="Experience", kind=Kind.NUMBER, audience="mentor")
    quiz = _one_rule(mentee_q, mentor_q, Measure.ABOVE)
    mentee = person(quiz, want=3)

    assert [_score(quiz, mentee, person(quiz, years=n)) for n in (4, 3, 2)] == [100, 0, 0]
    assert _explain(quiz, mentee, person(quiz, years=10)) == ["Experience: 10"]


def _levels(*labels: str) -> Asked:
    level = Asked(id=53, key="level", label="Level", kind=Kind.SINGLE, audience="everyone")
    for label in labels:
        level.option_id(label)
    return level


def test_a_level_above_follows_the_option_order():
    level = _levels("Junior", "Mid", "Senior")
    quiz = _one_rule(level, level, Measure.ABOVE)
    mentee = person(quiz, level="Mid")

    scores = [_score(quiz, mentee, person(quiz, level=lv)) for lv in ("Senior", "Mid", "Junior")]

    assert scores == [100, 0, 0]
    assert _explain(quiz, mentee, person(quiz, level="senior")) == ["Level: Senior"]


def test_a_level_reason_shows_the_label_with_whitespace_collapsed():
    """Every other reason shows the mentor's answer with runs of whitespace collapsed
    (test_values_compare_ignoring_case_and_whitespace); a level's showed the raw label."""
    level = _levels("Junior", "Senior  lead ")
    quiz = _one_rule(level, level, Measure.ABOVE)

    reasons = _explain(quiz, person(quiz, level="Junior"), person(quiz, level="Senior  lead "))

    assert reasons == ["Level: Senior lead"]


def test_a_single_choice_and_a_text_are_the_same_value_whatever_the_case_and_spaces():
    city = Asked(id=54, key="city", label="City", kind=Kind.SINGLE, audience="mentee")
    base = Asked(id=55, key="base", label="Based in", kind=Kind.SHORT_TEXT, audience="mentor")
    quiz = _one_rule(city, base, Measure.SAME)
    mentee = person(quiz, city="Porto Alegre")

    assert _score(quiz, mentee, person(quiz, base=" porto   ALEGRE")) == 100
    assert _score(quiz, mentee, person(quiz, base="Porto")) == 0
    assert _explain(quiz, mentee, person(quiz, base=" porto   ALEGRE")) == [
        "Based in: porto ALEGRE"
    ]


# --- Auto-pair's candidates --------------------------------------------------------------------


def test_top_candidates_reports_mentees_without_candidates():
    quiz = defaults(location=10)
    mentees = [person(quiz, location="Leeds"), person(quiz, location="Mars"), person(quiz)]
    mentors = [person(quiz, location="leeds"), person(quiz, location="Leeds")]

    found = matching.top_candidates(mentees, mentors, scheme(quiz), k=5)

    assert np.diff(found.offsets).tolist() == [2, 0, 0]
    assert found.reasons(0, 1) == ["Location: Leeds"]


def test_top_candidates_leave_out_excluded_pairs_and_the_same_department():
    quiz = defaults()
    mentee = person(quiz, goals=["Python", "SQL", "Go"], department="Eng")
    mentors = [
        person(quiz, skills=["Python", "SQL", "Go"], department="Sales"),  # excluded
        person(quiz, skills=["Python", "SQL"], department=" eng"),  # same department
        person(quiz, skills=["Python"], department=""),  # no department: allowed
        person(quiz, skills=["Python", "SQL"], department="Legal"),
        person(quiz, department="Legal"),
    ]

    found = matching.top_candidates(
        [mentee], mentors, scheme(quiz), k=3, exclude=[(0, 0)], differ_on=["department"]
    )

    assert found.mentor.tolist() == [3, 2, 4]
    assert found.score.tolist() == pytest.approx([100 / 3, 50 / 3, 0], abs=1e-3)


def test_top_candidates_break_ties_equal_on_paper_by_mentor_index():
    """Goals (1 point) met in full plus 2 of 5 interests (1 point) equals 2 of 5
    interests plus the department (1 point): 23.33 either way. float32 makes the
    second a hair larger; the exact integer scores keep the tie, so the lower index
    comes first."""
    quiz = defaults(goals=1, interests=1, department=1, location=3)
    mentee = person(
        quiz,
        goals=["A", "B", "C"],
        interests=["P", "Q", "R", "S", "T"],
        department="Eng",
        location="Leeds",
    )
    mentors = [
        person(quiz, interests=["P", "Q"], department="Eng", location="Rome"),
        person(quiz, skills=["A", "B", "C"], interests=["P", "Q"], location="Rome"),
    ]
    s = scheme(quiz)

    found = matching.top_candidates([mentee], mentors, s, k=1)

    assert found.unit is not None
    assert found.mentor.tolist() == [0]
    assert found.score.tolist() == pytest.approx([70 / 3], abs=1e-4)
    # The float32 path would have broken the tie the wrong way.
    with mock.patch.object(matching, "_INT_LIMIT", 0):
        assert matching.top_candidates([mentee], mentors, s, k=1).mentor.tolist() == [1]


# --- The best k of a score block -----------------------------------------------------------------


@pytest.mark.parametrize("sample_columns", [16, 2048])
def test_best_k_per_row_is_exact_with_ties_and_excluded_entries(sample_columns, monkeypatch):
    monkeypatch.setattr(matching, "_SAMPLE_COLUMNS", sample_columns)
    rng = np.random.default_rng(3)
    scores = (rng.integers(0, 6, (60, 500)) * 12.5).astype(np.float32)
    scores[rng.random(scores.shape) < 0.6] = 0.0  # floods of ties at 0
    scores[10:20, :] = 0.0  # rows that are all ties
    scores[20:30][rng.random((10, 500)) < 0.97] = -np.inf  # rows with few candidates
    scores[30:35, :] = -np.inf  # rows with none
    scores[35:40, ::7] = 99.0  # rows whose best are on a stride the sample sees

    for k in (1, 7, 50, 499, 500):
        rows, cols, values = matching._best_k(scores.copy(), k)

        for i in range(scores.shape[0]):
            finite = [
                (-scores[i, j], j) for j in range(scores.shape[1]) if np.isfinite(scores[i, j])
            ]
            expected = sorted(finite)[:k]
            mine = rows == i
            assert cols[mine].tolist() == [j for _, j in expected], (k, i)
            assert values[mine].tolist() == [-v for v, _ in expected], (k, i)


def test_best_k_on_integer_scores_is_exact_with_ties_and_excluded_entries():
    rng = np.random.default_rng(5)
    scores = rng.integers(0, 6, (60, 500)).astype(np.int16) * 7
    scores[rng.random(scores.shape) < 0.6] = 0  # floods of ties at 0
    scores[10:20, :] = 0  # rows that are all ties
    scores[20:30][rng.random((10, 500)) < 0.97] = -1  # -1: excluded
    scores[30:35, :] = -1  # rows with none

    for k in (1, 7, 50, 500):
        rows, cols, values = matching._best_k(scores.copy(), k)

        for i in range(scores.shape[0]):
            valid = [(-int(scores[i, j]), j) for j in range(500) if scores[i, j] >= 0]
            expected = sorted(valid)[:k]
            mine = rows == i
            assert cols[mine].tolist() == [j for _, j in expected], (k, i)
            assert values[mine].tolist() == [-v for v, _ in expected], (k, i)
