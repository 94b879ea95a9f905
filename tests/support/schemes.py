"""Match schemes for tests: the default questions and rules without a database, and the
default rules' weights set on a real program, named as the fixed profile named them."""

from programs.match_weights import QuestionSpec, RuleSpec, Scheme
from programs.models import MatchRule, Program, Question
from programs.questions import bump_questions_version

Kind = Question.Kind
Measure = MatchRule.Measure
# The default rules (programs.questions.DEFAULT_RULES) by the fixed profile's field names.
LEGACY = {
    "skills_for_goals": ("goals", "skills"),
    "shared_interests": ("interests", "interests"),
    "department": ("department", "department"),
    "location": ("location", "location"),
}
DEFAULT_WEIGHTS = {"skills_for_goals": 5, "shared_interests": 2, "department": 1, "location": 2}
_IDS = {"skills": 1, "goals": 2, "interests": 3, "department": 4, "location": 5}
_MEASURES = {"department": Measure.SAME, "location": Measure.SAME}
# One vocabulary for every in-memory scheme: option id by label, per question.
_OPTIONS: dict[str, dict[int, str]] = {"skills": {}, "goals": {}, "interests": {}}
_BY_LABEL: dict[str, dict[str, int]] = {"skills": {}, "goals": {}, "interests": {}}


def _spec(key: str) -> QuestionSpec:
    if key in _OPTIONS:
        return QuestionSpec(_IDS[key], key, key.title(), Kind.MULTIPLE, options=_OPTIONS[key])
    return QuestionSpec(_IDS[key], key, key.title(), Kind.SHORT_TEXT, profile_field=key)


def scheme(weights: dict[str, int] | None = None) -> Scheme:
    """The default rules with these weights ({"skills_for_goals": 5, ...}; missing = 0
    when weights are given, the defaults when not)."""
    weights = DEFAULT_WEIGHTS if weights is None else weights
    rules = tuple(
        RuleSpec(
            _spec(mentee),
            _spec(mentor),
            _MEASURES.get(name, Measure.OVERLAP),
            int(weights.get(name, 0)),
            id=n + 1,
        )
        for n, (name, (mentee, mentor)) in enumerate(LEGACY.items())
    )
    return Scheme(rules, ("test", tuple(sorted(weights.items()))))


def _ids(key: str, labels) -> tuple[int, ...]:
    found = _BY_LABEL[key]
    out = []
    for label in labels or ():
        if label not in found:
            found[label] = len(found) + 1
            _OPTIONS[key][found[label]] = label
        out.append(found[label])
    return tuple(dict.fromkeys(out))


def person(**fields) -> dict:
    """A person as scoring reads them: record fields, and skills / interests / goals lists
    turned into answers to the default questions."""
    answers = {}
    for key in ("skills", "goals", "interests"):
        ids = _ids(key, fields.pop(key, ()))
        if ids:
            answers[_IDS[key]] = ids
    return {**fields, "answers": answers}


def set_weights(program: Program, **weights: int) -> None:
    """Set the default rules' weights on a program ({"department": 10}), as the Match
    weights page would (without its checks)."""
    for name, weight in weights.items():
        mentee, mentor = LEGACY[name]
        MatchRule.objects.filter(
            program=program, mentee_question__key=mentee, mentor_question__key=mentor
        ).update(weight=weight)
    bump_questions_version(program)


def one_sided(program: Program) -> None:
    """Skills asked of mentors only and goals of mentees only (the defaults ask everyone),
    as a program team that wants each side asked its own question sets them."""
    Question.objects.filter(program=program, key="skills").update(audience="mentor")
    Question.objects.filter(program=program, key="goals").update(audience="mentee")
    bump_questions_version(program)
