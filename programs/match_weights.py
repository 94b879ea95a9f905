"""Match rules and weights: which questions the match score compares, how, and how much each counts.

A program's rules (MatchRule rows) each put one mentee question against one
mentor question with a measure and a weight: 0 ignores the rule, 1-9 count
that much, 10 must match. `scheme_of(program)` reads them into a Scheme, the
plain description `pairing.matching` scores with (docs/matching.md). Admins
read the same words on the Match weights page, where they change weights
(match_weights_update), add rules (clean_rule, match_rule_add) and remove them
(rule_to_remove, match_rule_remove); the page first shows what a change does to
the current candidates, from a Scheme built in memory (with_weights, adding,
without) that pairing scores through programs.hooks.candidates_preview.
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

    def adding(self, rule: RuleSpec) -> "Scheme":
        """These rules and one more (not saved yet): what adding it would do."""
        return Scheme((*self.rules, rule), ("draft", *self.version))

    def without(self, rule_id: int) -> "Scheme":
        """These rules less one: what removing it would do."""
        return Scheme(tuple(r for r in self.rules if r.id != rule_id), ("draft", *self.version))


@dataclass(frozen=True)
class CandidatesChange:
    """What a change of rules would do to the current candidates: among `mentees`
    unpaired mentees (the first `limit` when `capped`) against `mentors` with room,
    how many get a different best mentor, lose every candidate, or gain one.
    pairing works it out (programs.hooks.candidates_preview); nothing is written."""

    mentees: int
    mentors: int
    different: int
    lost: int
    gained: int
    capped: bool = False
    limit: int = 0


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
    weights = {rule.pk: _weight(rule_title(rule), raw.get(rule.pk)) for rule in rules}
    _check_some_rank(weights.values())
    return weights


def _weight(title: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(f"Give “{title}” a whole number from 0 to 10.")
    if not IGNORED <= value <= MUST_MATCH:
        raise DomainError(f"“{title}” must be from 0 (ignored) to 10 (must match), not {value}.")
    return value


def _check_some_rank(weights: Iterable[int], *, removing: str = "") -> None:
    """At least one weight from 1 to 9: without one, every mentor left scores the same."""
    if any(IGNORED < w < MUST_MATCH for w in weights):
        return
    if removing:
        raise DomainError(
            f"“{removing}” is the last rule weighted from 1 to 9: give another rule such "
            "a weight first. Those weights put the best matches first."
        )
    raise DomainError(
        "Give at least one rule a weight from 1 to 9. Those weights put the best "
        "matches first; with only 0 and 10 every mentor left would score the same."
    )


# The distance of "numbers within" is a whole number from 0 (the same number) up to this.
DISTANCE_MAX = 1_000_000
STALE = (
    "The match rules changed since this preview was shown (someone saved a change): "
    "look at the page as it is now and make your change again."
)


def program_rules(program: Program) -> list[MatchRule]:
    """The program's rules in order, with both questions (one query)."""
    return list(
        MatchRule.objects.filter(program=program).select_related(
            "mentee_question", "mentor_question"
        )
    )


@dataclass(frozen=True)
class NewRule:
    """A rule an admin asked for, checked but not saved."""

    mentee_question: Question
    mentor_question: Question
    measure: str
    distance: int | None
    weight: int

    @property
    def title(self) -> str:
        return _new_title(self.mentee_question, self.mentor_question, self.measure, self.distance)


def _new_title(mentee: Question, mentor: Question, measure: str, distance: int | None) -> str:
    return rule_title(
        MatchRule(
            mentee_question=mentee, mentor_question=mentor, measure=measure, distance=distance
        )
    )


def _check_distance(measure: str, distance: object) -> int | None:
    if measure != Measure.WITHIN:
        if distance is not None:
            raise DomainError(
                f"A distance only applies to “{Measure.WITHIN.label}”: leave it empty."
            )
        return None
    if distance is None:
        raise DomainError(
            "Give a distance: how far apart the two numbers may be (0: the same number)."
        )
    if isinstance(distance, bool) or not isinstance(distance, int):
        raise DomainError("The distance must be a whole number.")
    if not 0 <= distance <= DISTANCE_MAX:
        raise DomainError(f"The distance must be from 0 to {DISTANCE_MAX:,}, not {distance}.")
    return distance


def clean_rule(
    *,
    program: Program,
    rules: Iterable[MatchRule],
    mentee_question_id: int,
    mentor_question_id: int,
    measure: str,
    distance: object = None,
    weight: object,
) -> NewRule:
    """Check a rule to add next to `rules` (the program's); DomainError says what is wrong.

    Both questions must be the program's and fit the measure (check_rule), a
    distance goes with "numbers within" only, the pair and measure must be new,
    and the rules after it still need a weight from 1 to 9.
    """
    found = {
        q.pk: q
        for q in Question.objects.filter(
            program=program, pk__in=[mentee_question_id, mentor_question_id]
        )
    }
    mentee_question = found.get(mentee_question_id)
    mentor_question = found.get(mentor_question_id)
    if mentee_question is None or mentor_question is None:
        raise DomainError("One of those questions no longer exists: reload the page.")
    check_rule(mentee_question=mentee_question, mentor_question=mentor_question, measure=measure)
    distance = _check_distance(measure, distance)
    title = _new_title(mentee_question, mentor_question, measure, distance)
    new = NewRule(mentee_question, mentor_question, measure, distance, _weight(title, weight))
    rules = list(rules)
    for rule in rules:
        if (rule.mentee_question_id, rule.mentor_question_id, rule.measure) == (
            mentee_question.pk,
            mentor_question.pk,
            measure,
        ):
            raise DomainError(
                f"There is already a rule “{rule_title(rule)}”: change its weight instead."
            )
    _check_some_rank([*(r.weight for r in rules), new.weight])
    return new


def new_rule_spec(scheme: Scheme, rule: NewRule) -> RuleSpec:
    """The RuleSpec scoring would read for a rule not saved yet (its questions' options
    read when the scheme does not know them already)."""
    known = {q.id: q for q in scheme.questions}
    questions = (rule.mentee_question, rule.mentor_question)
    missing = [q.pk for q in questions if q.pk not in known and q.is_choice]
    options: dict[int, list[QuestionOption]] = {}
    if missing:
        for option in QuestionOption.objects.filter(question_id__in=missing).order_by(
            "position", "id"
        ):
            options.setdefault(option.question_id, []).append(option)
    mentee, mentor = (known.get(q.pk) or question_spec(q, options.get(q.pk, ())) for q in questions)
    return RuleSpec(mentee, mentor, rule.measure, rule.weight, rule.distance)


def _locked(program: Program, version: int | None) -> Program:
    """The program's row, locked until the change commits, so two admins changing rules
    at once each log the change they really made; STALE when the rules moved on since
    the admin's preview (`version`: the questions_version it was made at)."""
    program = Program.objects.select_for_update().get(pk=program.pk)
    if version is not None and program.questions_version != version:
        raise DomainError(STALE)
    return program


@transaction.atomic
def match_rule_add(
    *,
    program: Program,
    mentee_question_id: int,
    mentor_question_id: int,
    measure: str,
    distance: object = None,
    weight: object,
    user,
    version: int | None = None,
) -> MatchRule:
    """Add a rule at the end of the program's list (checked by clean_rule), and log it."""
    program = _locked(program, version)
    rules = program_rules(program)
    new = clean_rule(
        program=program,
        rules=rules,
        mentee_question_id=mentee_question_id,
        mentor_question_id=mentor_question_id,
        measure=measure,
        distance=distance,
        weight=weight,
    )
    rule = MatchRule.objects.create(
        program=program,
        mentee_question=new.mentee_question,
        mentor_question=new.mentor_question,
        measure=new.measure,
        distance=new.distance,
        weight=new.weight,
        position=max((r.position for r in rules), default=-1) + 1,
    )
    bump_questions_version(program)
    activity_record(
        program=program,
        actor=user,
        verb=ActivityEvent.Verb.MATCH_WEIGHTS_CHANGED,
        detail=f"Added rule {new.title}, weight {weight_label(new.weight)}",
    )
    return rule


def rule_to_remove(rules: Iterable[MatchRule], rule_id: object) -> MatchRule:
    """The rule `rule_id` among the program's, if removing it leaves a weight from 1 to 9."""
    rules = list(rules)
    rule = next((r for r in rules if r.pk == rule_id), None)
    if rule is None:
        raise DomainError("That match rule no longer exists: reload the page.")
    if IGNORED < rule.weight < MUST_MATCH:
        others = (r.weight for r in rules if r.pk != rule.pk)
        _check_some_rank(others, removing=rule_title(rule))
    return rule


@transaction.atomic
def match_rule_remove(*, program: Program, rule_id: int, user, version: int | None = None) -> str:
    """Remove one of the program's rules and log it; its title, for the message."""
    program = _locked(program, version)
    rule = rule_to_remove(program_rules(program), rule_id)
    title = rule_title(rule)
    rule.delete()
    bump_questions_version(program)
    activity_record(
        program=program,
        actor=user,
        verb=ActivityEvent.Verb.MATCH_WEIGHTS_CHANGED,
        detail=f"Removed rule {title}, weight {weight_label(rule.weight)}",
    )
    return title


def weights_changed(rules: Iterable[MatchRule], new: Mapping[int, int]) -> list[str]:
    """'Goals ↔ Skills (overlap of choices) 5 → 7' for each rule whose weight would change."""
    return [
        f"{rule_title(r)} {weight_label(r.weight)} → {weight_label(new[r.pk])}"
        for r in rules
        if r.pk in new and r.weight != new[r.pk]
    ]


@transaction.atomic
def match_weights_update(
    *, program: Program, weights: Mapping[int, object], user, version: int | None = None
) -> bool:
    """Store the weights of a program's rules ({rule id: weight}); False (and no log
    line) when nothing changed. `version`: see _locked."""
    program = _locked(program, version)
    rules = program_rules(program)
    new = clean_weights(rules, weights)
    changed = [r for r in rules if r.weight != new[r.pk]]
    if not changed:
        return False
    detail = "; ".join(weights_changed(changed, new))
    for rule in changed:
        rule.weight = new[rule.pk]
    MatchRule.objects.bulk_update(changed, ["weight"])
    bump_questions_version(program)
    activity_record(
        program=program, actor=user, verb=ActivityEvent.Verb.MATCH_WEIGHTS_CHANGED, detail=detail
    )
    return True
