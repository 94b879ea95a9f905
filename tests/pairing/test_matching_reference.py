"""The match score against a slow reference written from its definition, on random programs.

The reference reads the definition in pairing/matching.py and programs/match_weights.py,
one pair and one rule at a time, in exact fractions: per rule weighted 1-9, an overlap
is |shared labels| / max(|mentee's labels|, full_at) (full_at: 3, or fewer when the
mentee's multiple choice allows fewer picks; 1 for a single choice), a same value, a
number within the distance or a mentor's level above the mentee's counts 1 or 0, a
blank counts 0, and the score is 100 * sum(weight * measure) / sum(weight); a rule
weighted 10 must hold (share a value, for an overlap) or the pair is no candidate.
Texts and labels compare case-insensitively with whitespace collapsed. Hypothesis draws
the programs (tests/support/questions.py): questions of every kind and audience, rules
of every combination the app accepts, weights 0-10, and people's answers.
"""

from fractions import Fraction
from unittest import mock

import numpy as np
import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pairing import matching
from programs.match_weights import scheme_of
from programs.models import Participant
from programs.questions import attach_answers, prime_answers, program_answers
from tests.support.questions import CHOICES, Asked, Case, Kind, Measure, Quiz, cases, saved, scheme

# Derandomized: the suite draws the same examples every run, so a failure is reproducible.
REFERENCE = settings(max_examples=100, deadline=None, derandomize=True, database=None)


# --- The reference ------------------------------------------------------------------------


def _collapsed(text) -> str:
    return " ".join(str(text).split())


def _norm(text) -> str:
    return _collapsed(text).casefold()


def _value(q: Asked, someone: dict):
    if q.profile_field:
        return someone.get(q.profile_field) or None
    return someone["answers"].get(q.id)


def _spelled(q: Asked, value) -> list[str]:
    """An answer's words as the person gave them (whitespace collapsed), blanks dropped:
    option labels in the order picked, or the one number or text."""
    if value is None:
        return []
    if q.kind in CHOICES:
        labels = dict(q.options)
        words = [labels[o] for o in value]
    else:
        words = [value]
    return [_collapsed(w) for w in words if _collapsed(w)]


def _level(q: Asked, value):
    """A number, or a single choice's place in its question's list; None when blank."""
    if value is None:
        return None
    if q.kind == Kind.NUMBER:
        return value
    return [pk for pk, _ in q.options].index(value[0])


def _full_at(q: Asked) -> int:
    if q.kind != Kind.MULTIPLE:
        return 1
    return min(3, q.max_choices or 3)


def measure(rule, mentee: dict, mentor: dict) -> Fraction:
    """0 to 1: how far the pair meets one rule."""
    a, b = _value(rule.mentee, mentee), _value(rule.mentor, mentor)
    if rule.measure in (Measure.WITHIN, Measure.ABOVE):
        x, y = _level(rule.mentee, a), _level(rule.mentor, b)
        if x is None or y is None:
            return Fraction(0)
        hit = abs(x - y) <= rule.distance if rule.measure == Measure.WITHIN else y > x
        return Fraction(int(hit))
    wanted = {_norm(w) for w in _spelled(rule.mentee, a)}
    offered = {_norm(w) for w in _spelled(rule.mentor, b)}
    if rule.measure == Measure.SAME:
        return Fraction(int(bool(wanted) and wanted == offered))
    if not wanted:
        return Fraction(0)
    return Fraction(len(wanted & offered), max(len(wanted), _full_at(rule.mentee)))


def score(quiz: Quiz, mentee: dict, mentor: dict) -> Fraction | None:
    """0-100, or None when a rule weighted 10 does not hold."""
    top, total = Fraction(0), 0
    for rule in quiz.rules:
        m = measure(rule, mentee, mentor)
        if rule.weight == 10 and m == 0:
            return None
        if 1 <= rule.weight <= 9:
            top += rule.weight * m
            total += rule.weight
    return 100 * top / total if total else Fraction(0)


def reasons(quiz: Quiz, mentee: dict, mentor: dict) -> list[str]:
    """'Mentor question's label: what the mentor gave that matched', per rule weighted
    1-10 that scored, in rule order; shared words in the mentor's spelling and order."""
    out = []
    for rule in quiz.rules:
        if rule.weight == 0 or measure(rule, mentee, mentor) == 0:
            continue
        given = _spelled(rule.mentor, _value(rule.mentor, mentor))
        if rule.measure in (Measure.WITHIN, Measure.ABOVE):
            shared = given
        else:
            wanted = {_norm(w) for w in _spelled(rule.mentee, _value(rule.mentee, mentee))}
            first: dict[str, str] = {}
            for word in given:
                if _norm(word) in wanted:
                    first.setdefault(_norm(word), word)
            shared = list(first.values())
        out.append(f"{rule.mentor.label}: {', '.join(shared)}")
    return out


def _shown(lines):
    """Reasons with whitespace collapsed: a level's reason shows its option's label raw
    (test_matching's test_a_level_reason_shows_the_label_with_whitespace_collapsed pins
    that down), the rest is compared here."""
    return [_collapsed(line) for line in lines]


def _name_key(someone: dict):
    return f"{someone['first_name']} {someone['last_name']}".strip().casefold(), someone["id"]


# --- Pure Python: people as the dicts auto-pair passes ---------------------------------


@REFERENCE
@given(case=cases())
def test_score_matrix_equals_the_reference(case: Case):
    s = scheme(case.quiz)

    matrix = matching.score_matrix(case.mentees, case.mentors, s)

    for i, mentee in enumerate(case.mentees):
        for j, mentor in enumerate(case.mentors):
            expected = score(case.quiz, mentee, mentor)
            assert matrix.eligible[i, j] == (expected is not None), (i, j)
            if expected is None:
                assert matrix.scores[i, j] == 0
                continue
            assert matrix.scores[i, j] == pytest.approx(float(expected), abs=1e-3), (i, j)
            assert _shown(matrix.reasons(i, j)) == reasons(case.quiz, mentee, mentor), (i, j)


@REFERENCE
@given(case=cases(max_mentees=3, max_mentors=3))
def test_one_pair_scored_and_explained_equals_the_reference(case: Case):
    s = scheme(case.quiz)
    for mentee in case.mentees:
        for mentor in case.mentors:
            expected = score(case.quiz, mentee, mentor)
            found = matching.score_pair(mentee, mentor, s)
            if expected is None:
                assert found is None
            else:
                assert found == pytest.approx(float(expected), abs=1e-3)
            assert _shown(matching.explain(mentee, mentor, s)) == reasons(case.quiz, mentee, mentor)


@REFERENCE
@given(case=cases(max_mentors=10), data=st.data())
def test_top_candidates_are_the_exact_k_best_eligible_mentors(case: Case, data):
    n, m = len(case.mentees), len(case.mentors)
    k = data.draw(st.integers(1, m + 1), label="k")
    exclude = data.draw(
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, m - 1)), max_size=6, unique=True),
        label="exclude",
    )
    differ_on = data.draw(st.sampled_from([(), ("department",), ("department", "location")]))
    blocks = data.draw(st.sampled_from([matching._BLOCK_CELLS, m, 2 * m]), label="block cells")
    s = scheme(case.quiz)

    with mock.patch.object(matching, "_BLOCK_CELLS", blocks):
        found = matching.top_candidates(
            case.mentees, case.mentors, s, k=k, exclude=exclude, differ_on=differ_on
        )

    for i, mentee in enumerate(case.mentees):
        allowed = {}
        for j, mentor in enumerate(case.mentors):
            exact = score(case.quiz, mentee, mentor)
            same = any(_norm(mentee[f]) and _norm(mentee[f]) == _norm(mentor[f]) for f in differ_on)
            if exact is not None and (i, j) not in exclude and not same:
                allowed[j] = exact
        best = sorted(allowed, key=lambda j: (-allowed[j], j))[:k]
        part = slice(found.offsets[i], found.offsets[i + 1])
        got = found.mentor[part].tolist()
        assert (found.mentee[part] == i).all()
        assert found.score[part] == pytest.approx([float(allowed[j]) for j in got], abs=1e-3)
        if found.unit is not None:
            # Exact numerators: equal scores are true ties, and go by mentor index.
            assert got == best, i
        else:
            assert sorted(allowed[j] for j in got) == sorted(allowed[j] for j in best), i


@REFERENCE
@given(case=cases(max_mentors=10))
def test_rank_mentors_for_equals_the_reference(case: Case):
    s = scheme(case.quiz)
    for mentee in case.mentees:
        ranked = matching.rank_mentors_for(mentee, case.mentors, s)

        exact = {
            mentor["id"]: found
            for mentor in case.mentors
            if (found := score(case.quiz, mentee, mentor)) is not None
        }
        by_id = {mentor["id"]: mentor for mentor in case.mentors}
        # Best first; scores equal to 3 decimals go by name, then id.
        order = sorted(exact, key=lambda j: (-round(float(exact[j]), 3), *_name_key(by_id[j])))
        assert [match.mentor["id"] for match in ranked] == order
        for match in ranked:
            assert match.score == pytest.approx(float(exact[match.mentor["id"]]), abs=1e-3)
            assert _shown(match.reasons) == reasons(case.quiz, mentee, match.mentor)


@REFERENCE
@given(case=cases(max_mentees=8, max_mentors=6))
def test_reasons_of_many_pairs_are_each_pairs_reasons(case: Case):
    s = scheme(case.quiz)
    found = matching.top_candidates(case.mentees, case.mentors, s, k=len(case.mentors))
    pairs = [(i, j) for i in range(len(case.mentees)) for j in range(len(case.mentors))]

    many = found.reasons_many([i for i, _ in pairs], [j for _, j in pairs])

    assert [_shown(r) for r in many] == [
        reasons(case.quiz, case.mentees[i], case.mentors[j]) for i, j in pairs
    ]


@settings(REFERENCE, max_examples=60)
@given(case=cases(max_mentees=8, max_mentors=8))
def test_integer_scores_agree_with_the_float_path(case: Case):
    """top_candidates' exact integer numerators and the float32 scores it falls back to
    (when a profile's numerators would not fit int16) give the same scores."""
    s = scheme(case.quiz)
    fast = matching.top_candidates(case.mentees, case.mentors, s, k=4)
    with mock.patch.object(matching, "_INT_LIMIT", 0):
        slow = matching.top_candidates(case.mentees, case.mentors, s, k=4)

    assert slow.unit is None
    assert fast.offsets.tolist() == slow.offsets.tolist()
    for i in range(len(case.mentees)):
        part = slice(fast.offsets[i], fast.offsets[i + 1])
        np.testing.assert_allclose(np.sort(fast.score[part]), np.sort(slow.score[part]), atol=1e-3)


@settings(REFERENCE, max_examples=60)
@given(case=cases(max_mentees=12, max_mentors=12))
def test_blocked_and_sparse_scoring_give_the_same_matrix(case: Case):
    s = scheme(case.quiz)
    whole = matching.score_matrix(case.mentees, case.mentors, s)

    # Tiny blocks and a sparse mentor side: the paths large inputs take.
    with (
        mock.patch.object(matching, "_BLOCK_CELLS", 3 * len(case.mentors)),
        mock.patch.object(matching, "_DENSE_MENTOR_CELLS", 0),
    ):
        blocked = matching.score_matrix(case.mentees, case.mentors, s)

    np.testing.assert_allclose(blocked.scores, whole.scores, atol=1e-4)
    np.testing.assert_array_equal(blocked.eligible, whole.eligible)


# --- The generator reaches what it should --------------------------------------------------


def _features(case: Case) -> set[str]:
    """What a case exercises: per measure, a rule weighted 1-9 that scored and one
    weighted 10 that ruled a pair out; levels, profile fields, capped picks."""
    found = set()
    pairs = [(a, b) for a in case.mentees for b in case.mentors]
    for r in case.quiz.rules:
        if not r.weight:
            continue
        hits = [measure(r, a, b) > 0 for a, b in pairs]
        if r.weight < 10 and any(hits):
            found.add(f"{r.measure} scored")
        if r.weight == 10 and not all(hits):
            found.add(f"{r.measure} ruled out")
        if r.measure == Measure.ABOVE and r.mentee.kind == Kind.SINGLE:
            found.add("levels")
        if r.mentee.profile_field:
            found.add("profile field")
        if r.measure == Measure.OVERLAP and r.mentee.max_choices in (1, 2):
            found.add("capped picks")
    return found


def test_the_random_programs_exercise_every_measure_and_weight():
    """The cases drawn reach every measure scoring and ruling pairs out, levels, profile
    fields and capped picks: else the comparisons above could pass without ever meeting
    them. (Each of those tests draws 100; together they draw some 600.)"""
    seen: set[str] = set()

    @settings(REFERENCE, max_examples=300, phases=[Phase.generate])
    @given(case=cases())
    def look(case: Case):
        seen.update(_features(case))

    look()

    wanted = {f"{m} {what}" for m in Measure.values for what in ("scored", "ruled out")}
    assert seen >= wanted | {"levels", "profile field", "capped picks"}


# --- Read from the database ------------------------------------------------------------------


@pytest.mark.django_db
@settings(REFERENCE, max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases(max_mentees=4, max_mentors=5))
def test_the_score_of_a_saved_program_equals_the_reference(case: Case, org):
    """Questions, options (ids against the list's order), rules and answers written to
    the database, read back as scheme_of and program_answers (and as Participant
    objects), score as the reference says."""
    with transaction.atomic():
        program, mine = saved(case, org)
        s = scheme_of(program)
        rows = {
            role: list(
                Participant.objects.filter(program=program, role=role)
                .order_by("pk")
                .values("id", "first_name", "last_name", "department", "location")
            )
            for role in Participant.Role.values
        }
        answers = program_answers(program)
        for found in rows.values():
            attach_answers(found, answers)
        objects = {
            role: list(Participant.objects.filter(program=program, role=role).order_by("pk"))
            for role in Participant.Role.values
        }
        prime_answers([p for found in objects.values() for p in found])

        assert len(s.rules) == len(mine.quiz.rules)
        for mentees, mentors in (
            (rows[Participant.Role.MENTEE], rows[Participant.Role.MENTOR]),
            (objects[Participant.Role.MENTEE], objects[Participant.Role.MENTOR]),
        ):
            matrix = matching.score_matrix(mentees, mentors, s)
            for i, mentee in enumerate(mine.mentees):
                for j, mentor in enumerate(mine.mentors):
                    expected = score(mine.quiz, mentee, mentor)
                    assert matrix.eligible[i, j] == (expected is not None)
                    if expected is not None:
                        assert matrix.scores[i, j] == pytest.approx(float(expected), abs=1e-3)
                        assert _shown(matrix.reasons(i, j)) == reasons(mine.quiz, mentee, mentor)
        transaction.set_rollback(True)
