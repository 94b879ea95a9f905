"""Match rules and weights: which questions the match score compares, how, and how much each counts.

A program's rules (MatchRule rows) each put one mentee question against one
mentor question with a measure and a weight: 0 ignores the rule, 1-9 count
that much, 10 must match. `scheme_of(program)` reads them into a Scheme, the
plain description `pairing.matching` scores with (docs/matching.md). Admins
read the same words on the Match weights page.
"""

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import transaction

from pairing_admin.lib.errors import DomainError
from programs.models import ActivityEvent, MatchRule, Program, Question, QuestionOption
from programs.questions import bump_questions_version
from programs.services import activity_record

IGNORED = 0
MUST_MATCH = 10
# Overlap of a multiple choice: |shared| / max(|mentee's picks|, 3), so listing one
# wish cannot earn full marks (fewer when the question allows fewer picks).
FULL_AT = 3

Measure = MatchRule.Measure
Kind = Question.Kind

# Which measures fit which kinds of question (mentee side, mentor side).
_CHOICES = {Kind.SINGLE, Kind.MULTIPLE}
MEASURE_KINDS: dict[str, set[str]] = {
    Measure.OVERLAP: _CHOICES,
    Measure.SAME: {Kind.SINGLE, Kind.SHORT_TEXT, Kind.NUMBER},
    Measure.WITHIN: {Kind.NUMBER},
    Measure.ABOVE: {Kind.NUMBER, Kind.SINGLE},
}
MEASURE_WORDS = {
    Measure.OVERLAP: "How many of the mentee's picks the mentor also picked, out of the "
    "mentee's picks (never fewer than 3 for a multiple choice).",
    Measure.SAME: "Both gave the same answer (letter case and spaces aside).",
    Measure.WITHIN: "Both numbers are given and at most the distance apart.",
    Measure.ABOVE: "The mentor's number, or option further down the list, is above the mentee's.",
}


@dataclass(frozen=True)
class QuestionSpec:
    """What scoring needs of one question: how to read a person's answer to it."""

    id: int
    key: str
    label: str  # lazy or plain: participants read the reasons in their program's language
    kind: str
    profile_field: str = ""
    max_choices: int | None = None
    # Choice questions: option id -> label, and option id -> level (its place in the list).
    options: Mapping[int, str] = field(default_factory=dict)
    levels: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSpec:
    mentee: QuestionSpec
    mentor: QuestionSpec
    measure: str
    weight: int
    distance: int | None = None
    id: int | None = None

    @property
    def label(self) -> str:
        """How reasons name the rule: the mentor's question (what they offer)."""
        return str(self.mentor.label)

    @property
    def numeric(self) -> bool:
        return self.measure in (Measure.WITHIN, Measure.ABOVE)

    @property
    def full_at(self) -> int:
        """The floor of the overlap's denominator."""
        if self.measure != Measure.OVERLAP or self.mentee.kind != Kind.MULTIPLE:
            return 1
        return min(FULL_AT, self.mentee.max_choices or FULL_AT)


@dataclass(frozen=True)
class Scheme:
    """A program's match rules, ready for scoring. `version` changes with any of
    its questions, options or rules."""

    rules: tuple[RuleSpec, ...]
    version: tuple = ()

    @property
    def weights(self) -> list[int]:
        return [r.weight for r in self.rules]

    @property
    def questions(self) -> list[QuestionSpec]:
        """Every question a rule reads, once."""
        seen: dict[int, QuestionSpec] = {}
        for r in self.rules:
            seen.setdefault(r.mentee.id, r.mentee)
            seen.setdefault(r.mentor.id, r.mentor)
        return list(seen.values())

    @property
    def has_must_match(self) -> bool:
        return any(r.weight == MUST_MATCH for r in self.rules)

    def with_weights(self, weights: Mapping[int, int]) -> "Scheme":
        """The same rules with some weights changed ({rule id: weight}): what a change would do."""
        rules = tuple(
            RuleSpec(r.mentee, r.mentor, r.measure, weights.get(r.id, r.weight), r.distance, r.id)
            for r in self.rules
        )
        return Scheme(rules, ("draft", *self.version))


def question_spec(question: Question, options: Iterable[QuestionOption] = ()) -> QuestionSpec:
    ordered = list(options)
    return QuestionSpec(
        id=question.pk,
        key=question.key,
        label=question.label,
        kind=question.kind,
        profile_field=question.profile_field,
        max_choices=question.max_choices,
        options={o.pk: o.label for o in ordered},
        levels={o.pk: n for n, o in enumerate(ordered)},
    )


_SCHEMES_MAX = 64
_schemes: "OrderedDict[tuple, Scheme]" = OrderedDict()
_schemes_lock = threading.Lock()


def scheme_of(program: Program) -> Scheme:
    """The program's rules as of its questions_version (kept in this process per version)."""
    version = (program.pk, program.questions_version)
    with _schemes_lock:
        found = _schemes.get(version)
        if found is not None:
            _schemes.move_to_end(version)
            return found
    scheme = _read_scheme(program, version)
    with _schemes_lock:
        _schemes[version] = scheme
        while len(_schemes) > _SCHEMES_MAX:
            _schemes.popitem(last=False)
    return scheme


def _read_scheme(program: Program, version: tuple) -> Scheme:
    rules = list(
        MatchRule.objects.filter(program=program).select_related(
            "mentee_question", "mentor_question"
        )
    )
    question_ids = {r.mentee_question_id for r in rules} | {r.mentor_question_id for r in rules}
    options: dict[int, list[QuestionOption]] = {}
    for option in QuestionOption.objects.filter(question_id__in=question_ids).order_by(
        "position", "id"
    ):
        options.setdefault(option.question_id, []).append(option)
    specs: dict[int, QuestionSpec] = {}
    for rule in rules:
        for q in (rule.mentee_question, rule.mentor_question):
            if q.pk not in specs:
                specs[q.pk] = question_spec(q, options.get(q.pk, ()))
    return Scheme(
        tuple(
            RuleSpec(
                specs[r.mentee_question_id],
                specs[r.mentor_question_id],
                r.measure,
                r.weight,
                r.distance,
                r.pk,
            )
            for r in rules
        ),
        version,
    )


def weight_label(weight: int) -> str:
    if weight == IGNORED:
        return "ignored"
    if weight == MUST_MATCH:
        return "must match"
    return str(weight)


def rule_title(rule: MatchRule | RuleSpec) -> str:
    """'Goals ↔ Skills (overlap of choices)', as the Match weights page lists it."""
    if isinstance(rule, RuleSpec):
        mentee, mentor = rule.mentee.label, rule.mentor.label
        same = rule.mentee.id == rule.mentor.id
    else:
        mentee, mentor = rule.mentee_question.label, rule.mentor_question.label
        same = rule.mentee_question_id == rule.mentor_question_id
    sides = str(mentee) if same else f"{mentee} ↔ {mentor}"
    measure = Measure(rule.measure).label.lower()
    if rule.measure == Measure.WITHIN:
        measure = f"within {rule.distance}"
    return f"{sides} ({measure})"


def check_rule(*, mentee_question: Question, mentor_question: Question, measure: str) -> None:
    """DomainError unless the measure fits both questions and each side asks the right people."""
    if measure not in Measure.values:
        raise DomainError("Choose how the two answers are compared.")
    if not mentee_question.asks(Question.Audience.MENTEES):
        raise DomainError(f"Mentees are not asked “{mentee_question.label}”.")
    if not mentor_question.asks(Question.Audience.MENTORS):
        raise DomainError(f"Mentors are not asked “{mentor_question.label}”.")
    kinds = MEASURE_KINDS[measure]
    for q in (mentee_question, mentor_question):
        if q.kind not in kinds:
            raise DomainError(
                f"“{Measure(measure).label}” cannot compare “{q.label}” "
                f"({Kind(q.kind).label.lower()})."
            )
    numbers = {mentee_question.kind == Kind.NUMBER, mentor_question.kind == Kind.NUMBER}
    if len(numbers) > 1:
        raise DomainError("A number can only be compared with another number.")
    if (
        measure == Measure.ABOVE
        and mentee_question.kind == Kind.SINGLE
        and mentee_question.pk != mentor_question.pk
    ):
        raise DomainError(
            "Levels compare within one single-choice question asked of everyone: "
            "its options, top to bottom, are the levels."
        )


def clean_weights(rules: Iterable[MatchRule], raw: Mapping[int, object]) -> dict[int, int]:
    """Check a weight for every rule ({rule id: weight}); DomainError says what is wrong."""
    rules = list(rules)
    unknown = sorted(set(raw) - {r.pk for r in rules})
    if unknown:
        raise DomainError("One of those match rules no longer exists: reload the page.")
    weights = {}
    for rule in rules:
        value = raw.get(rule.pk)
        title = rule_title(rule)
        if isinstance(value, bool) or not isinstance(value, int):
            raise DomainError(f"Give “{title}” a whole number from 0 to 10.")
        if not IGNORED <= value <= MUST_MATCH:
            raise DomainError(
                f"“{title}” must be from 0 (ignored) to 10 (must match), not {value}."
            )
        weights[rule.pk] = value
    if not any(IGNORED < w < MUST_MATCH for w in weights.values()):
        raise DomainError(
            "Give at least one rule a weight from 1 to 9. Those weights put the best "
            "matches first; with only 0 and 10 every mentor left would score the same."
        )
    return weights


@transaction.atomic
def match_weights_update(*, program: Program, weights: Mapping[int, object], user) -> bool:
    """Store the weights of a program's rules ({rule id: weight}); False (and no log
    line) when nothing changed."""
    # Locked, so two admins saving at once each log the change they really made.
    program = Program.objects.select_for_update().get(pk=program.pk)
    rules = list(
        MatchRule.objects.filter(program=program).select_related(
            "mentee_question", "mentor_question"
        )
    )
    new = clean_weights(rules, weights)
    changed = [r for r in rules if r.weight != new[r.pk]]
    if not changed:
        return False
    detail = "; ".join(
        f"{rule_title(r)} {weight_label(r.weight)} → {weight_label(new[r.pk])}" for r in changed
    )
    for rule in changed:
        rule.weight = new[rule.pk]
    MatchRule.objects.bulk_update(changed, ["weight"])
    bump_questions_version(program)
    activity_record(
        program=program, actor=user, verb=ActivityEvent.Verb.MATCH_WEIGHTS_CHANGED, detail=detail
    )
    return True
