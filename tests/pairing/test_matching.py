"""The match score (docs/design.md, "Decisions"), against an obviously correct slow reference."""

import random

import numpy as np
import pytest

from pairing import matching
from programs.match_weights import scheme_of
from tests import factories
from tests.support import schemes

DEFAULT = schemes.DEFAULT_WEIGHTS
ONLY_SKILLS = {"skills_for_goals": 5, "shared_interests": 0, "department": 0, "location": 0}
# The default rules, named as the fixed profile named its fields (tests/support/schemes.py).
FIELD_KEYS = tuple(schemes.LEGACY)


# --- The default questions and rules, in memory ---------------------------------------


def _p(person):
    """A person dict gets its skills / interests / goals as answers (in place, so a test
    can compare the matches' mentors with its own dicts); objects pass as they are."""
    if isinstance(person, dict) and "answers" not in person:
        lists = {k: person.get(k) or [] for k in ("skills", "interests", "goals")}
        person["answers"] = schemes.person(**lists)["answers"]
    return person


def score_pair(mentee, mentor, weights):
    return matching.score_pair(_p(mentee), _p(mentor), schemes.scheme(weights))


def explain(mentee, mentor, weights):
    return matching.explain(_p(mentee), _p(mentor), schemes.scheme(weights))


def rank_mentors_for(mentee, mentors, weights):
    return matching.rank_mentors_for(_p(mentee), [_p(m) for m in mentors], schemes.scheme(weights))


def score_matrix(mentees, mentors, weights):
    return matching.score_matrix(
        [_p(m) for m in mentees], [_p(m) for m in mentors], schemes.scheme(weights)
    )


def top_candidates(mentees, mentors, weights, **kw):
    return matching.top_candidates(
        [_p(m) for m in mentees], [_p(m) for m in mentors], schemes.scheme(weights), **kw
    )


# --- The reference: the definition, written as plainly as possible -----------------


def _norm(value):
    return " ".join(str(value).split()).casefold()


def _set(*lists):
    return {_norm(v) for values in lists for v in (values or []) if _norm(v)}


def _sides(mentee, mentor):
    return {
        "skills_for_goals": (_set(mentee.get("goals")), _set(mentor.get("skills")), 3),
        "shared_interests": (_set(mentee.get("interests")), _set(mentor.get("interests")), 3),
        "department": (
            _set([mentee.get("department") or ""]),
            _set([mentor.get("department") or ""]),
            1,
        ),
        "location": (
            _set([mentee.get("location") or ""]),
            _set([mentor.get("location") or ""]),
            1,
        ),
    }


def reference_score(mentee, mentor, weights):
    """None when a must-match field does not match; else the 0-100 score."""
    top, bottom = 0.0, 0
    for key, (wanted, offered, floor) in _sides(mentee, mentor).items():
        weight = weights[key]
        shared = len(wanted & offered)
        if weight == 10:
            if shared == 0:
                return None
        elif weight > 0:
            top += weight * shared / max(len(wanted), floor)
            bottom += weight
    return 100 * top / bottom if bottom else 0.0


# --- Random instances ---------------------------------------------------------------

TOPICS = ["Python", "SQL", "Leadership", "Public speaking", "Data  science", "Hiring", "Design"]


def _variant(rng, word):
    """The same word as people type it: any case, stray spaces."""
    word = rng.choice([word, word.upper(), word.lower(), word.title()])
    return rng.choice(["", " ", "  "]) + word.replace(" ", rng.choice([" ", "  ", "\t"]))


def _person(rng, n):
    pick = lambda k: [_variant(rng, t) for t in rng.sample(TOPICS, rng.randint(0, k))]  # noqa: E731
    return {
        "id": n,
        "first_name": f"P{n:03d}",
        "last_name": "",
        "skills": pick(5),
        "interests": pick(4),
        "goals": pick(3),
        "department": rng.choice(["", "Eng", "eng ", "Sales", "Legal"]),
        "location": rng.choice(["", "Lisbon", "LISBON", "Leeds"]),
    }


def _weights(rng):
    return {key: rng.choice([0, 0, 1, 3, 5, 9, 10]) for key in FIELD_KEYS}


# --- The rules ----------------------------------------------------------------------


def test_empty_profiles_score_zero_and_give_no_reasons():
    empty = {"first_name": "Empty"}
    rich = {"skills": ["Python"], "interests": ["SQL"], "goals": ["Python"], "department": "Eng"}
    rich["location"] = "Leeds"

    for mentee, mentor in [(empty, rich), (rich, empty), (empty, empty)]:
        assert score_pair(mentee, mentor, DEFAULT) == 0.0
        assert explain(mentee, mentor, DEFAULT) == []


def test_rich_mentor_beats_sparse_one_whose_only_skill_matches():
    mentee = {"goals": ["Python", "SQL", "Leadership"]}
    rich = {"first_name": "Rich", "skills": ["python", "SQL", "Leadership", "Cooking", "Chess"]}
    sparse = {"first_name": "Aaron", "skills": ["Python"]}  # first by name, if scores tied

    ranked = rank_mentors_for(mentee, [sparse, rich], DEFAULT)

    assert [m.mentor["first_name"] for m in ranked] == ["Rich", "Aaron"]
    # One matching skill out of three wishes is a third of the field, not all of it.
    assert ranked[1].score == pytest.approx(ranked[0].score / 3, abs=1e-3)


def test_a_mentee_listing_one_wish_earns_at_most_a_third_of_the_field():
    mentor = {"skills": ["Python", "SQL", "Leadership"]}
    one_wish = {"goals": ["Python"]}
    three_wishes = {"goals": ["Python", "SQL", "Leadership"]}

    assert score_pair(three_wishes, mentor, ONLY_SKILLS) == pytest.approx(100)
    assert score_pair(one_wish, mentor, ONLY_SKILLS) == pytest.approx(100 / 3, abs=1e-3)


def test_extra_mentor_skills_never_lower_the_score():
    mentee = {"goals": ["Python", "SQL"]}
    focused = {"skills": ["Python"]}
    broad = {"skills": ["Python", "Knitting", "Sailing", "Opera", "Chess", "Go"]}

    assert score_pair(mentee, broad, DEFAULT) == score_pair(mentee, focused, DEFAULT)


def test_empty_fields_stay_in_the_denominator():
    # Only location matches: 2 of the 10 points in play, not 100 %.
    mentee = {"location": "Lisbon"}
    mentor = {"location": "lisbon", "skills": ["Python"]}

    assert score_pair(mentee, mentor, DEFAULT) == pytest.approx(20)


def test_must_match_field_filters_mentors_instead_of_scoring():
    weights = {**DEFAULT, "location": 10}
    mentee = {"goals": ["Python"], "location": "Lisbon"}
    here = {"first_name": "Here", "skills": ["Python"], "location": " lisbon"}
    elsewhere = {"first_name": "Elsewhere", "skills": ["Python"], "location": "Leeds"}
    nowhere = {"first_name": "Nowhere", "skills": ["Python"], "location": ""}

    ranked = rank_mentors_for(mentee, [elsewhere, here, nowhere], weights)

    assert [m.mentor["first_name"] for m in ranked] == ["Here"]
    assert score_pair(mentee, elsewhere, weights) is None
    assert score_pair(mentee, nowhere, weights) is None
    # It filters, it does not score: the same as if location were ignored.
    assert ranked[0].score == pytest.approx(
        score_pair(mentee, here, {**DEFAULT, "location": 0}), abs=1e-3
    )
    assert "Location: lisbon" in ranked[0].reasons
    # A mentee who left the field empty matches nobody on it.
    assert rank_mentors_for({"goals": ["Python"]}, [here], weights) == []


def test_weight_zero_ignores_a_field():
    weights = {**DEFAULT, "department": 0}
    mentee = {"goals": ["Python"], "department": "Eng"}
    same = {"skills": ["Python"], "department": "Eng"}
    other = {"skills": ["Python"], "department": "Sales"}

    assert score_pair(mentee, same, weights) == score_pair(mentee, other, weights)
    assert explain(mentee, same, weights) == ["Skills: Python"]


def test_perfect_match_scores_100_and_all_scores_stay_in_bounds():
    mentee = {
        "interests": ["A", "B", "C"],
        "goals": ["a", "B", "c"],
        "department": "Eng",
        "location": "Leeds",
    }
    mentor = {
        "skills": ["a", "b", "c"],
        "interests": ["A", "B", "C"],
        "department": "eng",
        "location": "LEEDS",
    }
    assert score_pair(mentee, mentor, DEFAULT) == pytest.approx(100)

    rng = random.Random(7)
    people = [_person(rng, n) for n in range(60)]
    matrix = score_matrix(people[:30], people[30:], DEFAULT)
    assert matrix.scores.min() >= 0
    assert matrix.scores.max() <= 100 + 1e-3


def test_reasons_list_the_fields_that_scored_with_shared_values():
    mentee = {
        "interests": ["Coaching"],
        "goals": ["sql", "Python"],
        "department": "Finance",
        "location": "Lisbon",
    }
    mentor = {
        "skills": ["SQL", "Python", "Excel"],
        "interests": ["coaching"],
        "department": "Legal",
        "location": "lisbon ",
    }

    assert explain(mentee, mentor, DEFAULT) == [
        "Skills: SQL, Python",
        "Interests: coaching",
        "Location: lisbon",
    ]


def test_values_compare_ignoring_case_and_whitespace():
    mentee = {"goals": ["  machine   Learning ", "PUBLIC speaking"]}
    mentor = {"skills": ["Machine learning", "public\tspeaking"]}

    assert score_pair(mentee, mentor, ONLY_SKILLS) == pytest.approx(200 / 3, abs=1e-3)
    assert explain(mentee, mentor, ONLY_SKILLS) == ["Skills: Machine learning, public speaking"]


def test_without_a_field_weighted_1_to_9_every_score_is_zero():
    weights = {"skills_for_goals": 10, "shared_interests": 0, "department": 0, "location": 0}
    ranked = rank_mentors_for(
        {"goals": ["Python"]},
        [{"first_name": "B", "skills": ["Python"]}, {"first_name": "A", "skills": ["Python"]}],
        weights,
    )

    assert [(m.mentor["first_name"], m.score) for m in ranked] == [("A", 0.0), ("B", 0.0)]


def test_ranking_breaks_ties_by_name():
    mentee = {"goals": ["Python"]}
    mentors = [
        {"id": 3, "first_name": "Zoe", "last_name": "Adams", "skills": ["Python"]},
        {"id": 1, "first_name": "amir", "last_name": "Khan", "skills": ["python"]},
        {"id": 2, "first_name": "Ben", "last_name": "Ito", "skills": []},
        {"id": 4, "first_name": "Amir", "last_name": "Khan", "skills": ["PYTHON"]},
    ]

    ranked = rank_mentors_for(mentee, mentors, DEFAULT)

    assert [m.mentor["id"] for m in ranked] == [1, 4, 3, 2]
    assert [m.percent for m in ranked] == [17, 17, 17, 0]


@pytest.mark.django_db
def test_works_with_participant_objects():
    program = factories.ProgramFactory()
    mentee = factories.ParticipantFactory(
        program=program, first_name="Mia", goals=["Python"], location="Leeds", department=""
    )
    mentor = factories.MentorFactory(
        program=program, first_name="Tom", skills=["Python"], location="Leeds", department=""
    )

    (match,) = matching.rank_mentors_for(mentee, [mentor], scheme_of(program))

    assert match.mentor is mentor
    assert match.reasons == ["Skills: Python", "Location: Leeds"]
    assert match.percent == round(100 * (5 / 3 + 2) / 10)


# --- Bulk equals the definition -----------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_bulk_matrix_equals_the_per_pair_definition(seed):
    rng = random.Random(seed)
    mentees = [_person(rng, n) for n in range(rng.randint(1, 25))]
    mentors = [_person(rng, 100 + n) for n in range(rng.randint(1, 25))]
    weights = _weights(rng)

    matrix = score_matrix(mentees, mentors, weights)

    for i, mentee in enumerate(mentees):
        for j, mentor in enumerate(mentors):
            expected = reference_score(mentee, mentor, weights)
            assert matrix.eligible[i, j] == (expected is not None), (i, j)
            if expected is not None:
                assert matrix.scores[i, j] == pytest.approx(expected, abs=1e-3), (i, j)
                # Reasons name exactly the fields weighted above 0 that overlap.
                fields = {r.split(":")[0] for r in matrix.reasons(i, j)}
                sides = _sides(mentee, mentor)
                assert fields == {
                    label
                    for key, label in zip(FIELD_KEYS, _LABELS, strict=True)
                    if weights[key] and sides[key][0] & sides[key][1]
                }


_LABELS = ["Skills", "Interests", "Department", "Location"]


@pytest.mark.parametrize("seed", range(8))
def test_blocked_scoring_gives_the_same_matrix(seed, monkeypatch):
    rng = random.Random(seed)
    mentees = [_person(rng, n) for n in range(40)]
    mentors = [_person(rng, 100 + n) for n in range(30)]
    weights = _weights(rng)
    whole = score_matrix(mentees, mentors, weights)

    # Tiny blocks and a sparse mentor side: the paths large inputs take.
    monkeypatch.setattr(matching, "_BLOCK_CELLS", 7 * 30)
    monkeypatch.setattr(matching, "_DENSE_MENTOR_CELLS", 0)
    blocked = score_matrix(mentees, mentors, weights)

    np.testing.assert_allclose(blocked.scores, whole.scores, atol=1e-4)
    np.testing.assert_array_equal(blocked.eligible, whole.eligible)


@pytest.mark.parametrize("seed", range(8))
def test_rank_mentors_for_equals_the_definition(seed):
    rng = random.Random(seed)
    mentee = _person(rng, 0)
    mentors = [_person(rng, 100 + n) for n in range(40)]
    weights = _weights(rng)

    ranked = rank_mentors_for(mentee, mentors, weights)

    expected = {
        m["id"]: s for m in mentors if (s := reference_score(mentee, m, weights)) is not None
    }
    assert {m.mentor["id"] for m in ranked} == set(expected)
    for match in ranked:
        assert match.score == pytest.approx(expected[match.mentor["id"]], abs=1e-3)
    keys = [(-m.score, m.mentor["first_name"].casefold(), m.mentor["id"]) for m in ranked]
    assert keys == sorted(keys)


@pytest.mark.parametrize("seed", range(8))
def test_top_candidates_are_the_best_k_eligible_mentors(seed, monkeypatch):
    rng = random.Random(seed)
    mentees = [_person(rng, n) for n in range(30)]
    mentors = [_person(rng, 100 + n) for n in range(20)]
    weights = _weights(rng)
    exclude = {(rng.randrange(30), rng.randrange(20)) for _ in range(40)}
    k = rng.choice([1, 3, 5, 20, 50])
    monkeypatch.setattr(matching, "_BLOCK_CELLS", 11 * 20)  # several blocks

    found = top_candidates(
        mentees, mentors, weights, k=k, exclude=sorted(exclude), differ_on=["department"]
    )

    for i, mentee in enumerate(mentees):
        allowed = {}
        for j, mentor in enumerate(mentors):
            score = reference_score(mentee, mentor, weights)
            dept = _sides(mentee, mentor)["department"]
            same_dept = bool(dept[0] & dept[1])
            if score is not None and (i, j) not in exclude and not same_dept:
                allowed[j] = score
        start, stop = found.offsets[i], found.offsets[i + 1]
        got = dict(
            zip(found.mentor[start:stop].tolist(), found.score[start:stop].tolist(), strict=True)
        )
        assert len(got) == min(k, len(allowed))
        assert set(got) <= set(allowed)
        for j, score in got.items():
            assert score == pytest.approx(allowed[j], abs=1e-3)
        best = sorted(allowed.values(), reverse=True)[: len(got)]
        assert sorted(got.values(), reverse=True) == pytest.approx(best, abs=1e-3)
        assert list(found.score[start:stop]) == sorted(found.score[start:stop], reverse=True)
        assert (found.mentee[start:stop] == i).all()


def test_top_candidates_reports_mentees_without_candidates():
    weights = {**DEFAULT, "location": 10}
    mentees = [{"location": "Leeds"}, {"location": "Mars"}, {}]
    mentors = [{"location": "leeds"}, {"location": "Leeds"}]

    found = top_candidates(mentees, mentors, weights, k=5)

    assert np.diff(found.offsets).tolist() == [2, 0, 0]
    assert found.reasons(0, 1) == ["Location: Leeds"]


def test_weights_outside_0_to_10_are_refused():
    with pytest.raises(ValueError):
        score_pair({}, {}, {**DEFAULT, "location": 11})


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


def test_a_match_unpacks_as_mentor_score_reasons():
    mentor = {"first_name": "Tom", "skills": ["SQL"], "location": "Leeds"}

    (match,) = rank_mentors_for({"goals": ["sql"], "location": "Leeds"}, [mentor], DEFAULT)
    who, score, reasons = match

    assert who is mentor
    assert score == match.score == pytest.approx(100 * (5 / 3 + 2) / 10, abs=1e-3)
    assert reasons == ["Skills: SQL", "Location: Leeds"]


@pytest.mark.parametrize("seed", range(4))
def test_reasons_of_many_pairs_are_each_pairs_reasons(seed):
    rng = random.Random(seed)
    mentees = [_person(rng, n) for n in range(25)]
    mentors = [_person(rng, 100 + n) for n in range(15)]
    weights = _weights(rng)
    found = top_candidates(mentees, mentors, weights, k=15)
    pairs = [(rng.randrange(25), rng.randrange(15)) for _ in range(60)]

    many = found.reasons_many([i for i, _ in pairs], [j for _, j in pairs])

    assert many == [found.reasons(i, j) for i, j in pairs]
    assert many == [explain(mentees[i], mentors[j], weights) for i, j in pairs]


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


@pytest.mark.parametrize("seed", range(4))
def test_top_candidates_integer_scores_agree_with_the_float_path(seed, monkeypatch):
    """Exact integer numerators (the fast path) and float32 scores pick the same mentors,
    except where float32 rounding broke a tie that is exact on paper."""
    rng = random.Random(seed)
    mentees = [_person(rng, n) for n in range(30)]
    mentors = [_person(rng, 100 + n) for n in range(25)]
    weights = _weights(rng)

    fast = top_candidates(mentees, mentors, weights, k=6)
    monkeypatch.setattr(matching, "_INT_LIMIT", 0)  # every row too big: the float path
    slow = top_candidates(mentees, mentors, weights, k=6)

    assert fast.offsets.tolist() == slow.offsets.tolist()
    np.testing.assert_allclose(fast.score, slow.score, atol=1e-3)
    for i, mentee in enumerate(mentees):
        part = slice(fast.offsets[i], fast.offsets[i + 1])
        exact = [reference_score(mentee, mentors[j], weights) for j in fast.mentor[part]]
        assert fast.score[part] == pytest.approx(exact, abs=1e-4)
        # Best first, ties by the lower mentor index, with exact ties.
        keys = [(-round(s, 4), j) for s, j in zip(exact, fast.mentor[part].tolist(), strict=True)]
        assert keys == sorted(keys)
