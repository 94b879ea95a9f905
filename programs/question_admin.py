"""The questions editor: an admin adds, edits, orders and removes a program's questions
and their options, and sees first what a change would do.

Every write locks the program row, so two admins editing at once take turns and
each sees what the other did (answers one moved to an option are there when the
other removes that option); it bumps questions_version, so whoever keeps answers
or scores prepared reads them again; and it logs one activity line, all in one
transaction. Changing questions while pairing is on is safe: answers stay unless
the admin chose to move or delete them (the previews below count them first), and
a new required question is asked of people the next time they edit (the forms
check required on edit). Match rules live on the Match weights page: a question a
rule reads cannot be deleted, nor changed into something the rule cannot read.
"""

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, IntegerField, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Lower

from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.text import one_line
from programs import hooks
from programs.match_weights import Scheme, check_rule, question_spec, rule_title, scheme_of
from programs.models import (
    ActivityEvent,
    Answer,
    MatchRule,
    Participant,
    Program,
    Question,
    QuestionOption,
)
from programs.questions import OPTION_MAX, Answers, bump_questions_version
from programs.services import activity_record

Verb = ActivityEvent.Verb
Kind = Question.Kind
Audience = Question.Audience
Role = Participant.Role

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# The columns of a person's record: an import or a form names them, so no question may.
RECORD_COLUMNS = frozenset(
    {
        "email",
        "role",
        "first_name",
        "last_name",
        "name",
        "title",
        "department",
        "location",
        "bio",
        "manager_email",
        "capacity",
    }
)
# A question answered on the person's record (Department, Location) keeps its key
# and kind: only these change.
PROFILE_EDITABLE = ("label", "text", "help_text", "required", "audience")
LABEL_MAX, TEXT_MAX, HELP_MAX, MAX_CHOICES_MAX = 60, 200, 300, 50
KIND_WORDS = {
    Kind.SINGLE: "single choice",
    Kind.MULTIPLE: "multiple choice",
    Kind.NUMBER: "number",
    Kind.SHORT_TEXT: "short text",
    Kind.LONG_TEXT: "long text",
}
AUDIENCE_WORDS = {
    Audience.MENTEES: "mentees",
    Audience.MENTORS: "mentors",
    Audience.EVERYONE: "everyone",
}


def roles_asked(audience: str) -> set[str]:
    return {role for role in Role.values if audience in (Audience.EVERYONE, role)}


def people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"


# --- What a question is ----------------------------------------------------------------


@dataclass(frozen=True)
class QuestionFields:
    """What the admin's form sets on a question."""

    label: str
    text: str
    key: str
    audience: str
    kind: str
    help_text: str = ""
    required: bool = False
    max_choices: int | None = None
    open_options: bool = False
    min_value: int | None = None
    max_value: int | None = None

    @classmethod
    def of(cls, question: Question) -> "QuestionFields":
        return cls(**{f.name: getattr(question, f.name) for f in fields(cls)})

    def with_editable(self, **changed) -> "QuestionFields":
        return replace(self, **changed)


FIELD_WORDS = {
    "label": "label",
    "text": "question",
    "key": "key",
    "audience": "asked of",
    "kind": "kind",
    "help_text": "help",
    "required": "required",
    "max_choices": "at most",
    "open_options": "people may add options",
    "min_value": "lowest",
    "max_value": "highest",
}


def _shown(name: str, value) -> str:
    if name == "kind":
        return KIND_WORDS.get(value, value)
    if name == "audience":
        return AUDIENCE_WORDS.get(value, value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return "none"
    return f"“{value}”" if isinstance(value, str) else str(value)


def _changes(before: QuestionFields, after: QuestionFields) -> list[str]:
    """'label “Skills” → “Expertise”', one per field changed, in the form's order."""
    return [
        f"{FIELD_WORDS[f.name]} {_shown(f.name, getattr(before, f.name))} → "
        f"{_shown(f.name, getattr(after, f.name))}"
        for f in fields(QuestionFields)
        if getattr(before, f.name) != getattr(after, f.name)
    ]


def key_problem(program: Program, key: str, *, question: Question | None = None) -> str | None:
    """Why `key` cannot name a question of the program (None when it can)."""
    if question is not None and key == question.key:
        return None  # unchanged: Department and Location keep theirs
    if not KEY_PATTERN.match(key):
        return (
            "A key is lower-case letters, digits and underscores, starts with a letter "
            "and has at most 40 characters (it is the CSV column)."
        )
    if key in RECORD_COLUMNS:
        return f"“{key}” is a column of each person's record: choose another key."
    taken = Question.objects.filter(program=program, key=key)
    if question is not None:
        taken = taken.exclude(pk=question.pk)
    if taken.exists():
        return f"This program already has a question with the key “{key}”."
    return None


def _check_fields(data: QuestionFields) -> QuestionFields:
    """The fields cleaned and checked (DomainError says what is wrong)."""
    data = replace(
        data,
        label=one_line(data.label),
        text=one_line(data.text),
        help_text=one_line(data.help_text),
        key=data.key.strip(),
    )
    for name, limit, words in (
        ("label", LABEL_MAX, "A label"),
        ("text", TEXT_MAX, "The question"),
    ):
        value = getattr(data, name)
        if not value:
            raise DomainError(f"{words} cannot be empty.")
        if len(value) > limit:
            raise DomainError(f"{words} takes at most {limit} characters.")
    if len(data.help_text) > HELP_MAX:
        raise DomainError(f"The help takes at most {HELP_MAX} characters.")
    if data.audience not in Audience.values:
        raise DomainError("Choose whom the question is asked of.")
    if data.kind not in Kind.values:
        raise DomainError("Choose the kind of answer the question takes.")
    if data.max_choices is not None:
        if data.kind != Kind.MULTIPLE:
            raise DomainError("Only a multiple choice takes a maximum number of picks.")
        if not 1 <= data.max_choices <= MAX_CHOICES_MAX:
            raise DomainError(f"The maximum number of picks is from 1 to {MAX_CHOICES_MAX}.")
    if data.open_options and data.kind not in (Kind.SINGLE, Kind.MULTIPLE):
        raise DomainError("Only a choice question lets people add options.")
    if data.kind != Kind.NUMBER and (data.min_value is not None or data.max_value is not None):
        raise DomainError("Only a number takes a lowest and a highest value.")
    if (
        data.min_value is not None
        and data.max_value is not None
        and data.min_value > data.max_value
    ):
        raise DomainError("The lowest value must not be above the highest.")
    return data


# --- Reading ---------------------------------------------------------------------------


def _answered():
    """How many people answered the question (an option per pick: people, not rows)."""
    return Coalesce(
        Subquery(
            Answer.objects.filter(question=OuterRef("pk"))
            .order_by()
            .values("question")
            .annotate(n=Count("participant", distinct=True))
            .values("n"),
            output_field=IntegerField(),
        ),
        Value(0),
    )


def question_rows(program: Program) -> list[Question]:
    """The program's questions in order for the questions page, each with `n_options`,
    `n_answered` (people) and `in_rule` (a match rule reads it); two queries."""
    options = (
        QuestionOption.objects.filter(question=OuterRef("pk"))
        .order_by()
        .values("question")
        .annotate(n=Count("*"))
        .values("n")
    )
    rules = MatchRule.objects.filter(
        Q(mentee_question=OuterRef("pk")) | Q(mentor_question=OuterRef("pk"))
    )
    rows = list(
        Question.objects.filter(program=program)
        .annotate(
            n_options=Coalesce(Subquery(options, output_field=IntegerField()), Value(0)),
            n_answered=_answered(),
            in_rule=Exists(rules),
        )
        .order_by("position", "id")
    )
    on_record = [q for q in rows if q.profile_field]
    if on_record:
        filled = _record_counts(program, [q.profile_field for q in on_record])
        for q in on_record:
            q.n_answered = sum(filled[(q.profile_field, role)] for role in roles_asked(q.audience))
    return rows


def _record_counts(program: Program, names: list[str]) -> dict[tuple[str, str], int]:
    """{(record field, role): people of that role who filled it in} in one query."""
    counts = {
        f"{name}_{role}": Count("pk", filter=Q(role=role) & ~Q(**{name: ""}))
        for name in names
        for role in Role.values
    }
    found = Participant.objects.filter(program=program).aggregate(**counts)
    return {(name, role): found[f"{name}_{role}"] for name in names for role in Role.values}


def answered_count(question: Question, *, roles: set[str] | None = None) -> int:
    """People (of `roles`, when given) with an answer to the question."""
    if question.profile_field:
        filled = _record_counts(question.program, [question.profile_field])
        return sum(
            filled[(question.profile_field, r)] for r in roles or roles_asked(question.audience)
        )
    answers = Answer.objects.filter(question=question)
    if roles is not None:
        answers = answers.filter(participant__role__in=sorted(roles))
    return answers.values("participant").distinct().count()


def options_with_counts(question: Question) -> list[QuestionOption]:
    """The question's options in order, each with `n_answered` (people who picked it)."""
    return list(
        QuestionOption.objects.filter(question=question)
        .annotate(n_answered=Count("answers"))
        .order_by("position", "id")
    )


def rules_reading(question: Question) -> list[MatchRule]:
    """The match rules that read the question, on either side."""
    return list(
        MatchRule.objects.filter(
            Q(mentee_question=question) | Q(mentor_question=question)
        ).select_related("mentee_question", "mentor_question")
    )


# --- What a change would do --------------------------------------------------------------


@dataclass(frozen=True)
class QuestionChange:
    """A change to one question, worked out in memory: the match scheme after it, and
    each person's answers after it (programs.hooks.register_candidate_impact)."""

    question_id: int
    scheme: Scheme
    # Options removed: {option id: the option its answers move to, or None (deleted)}.
    moves: Mapping[int, int | None] = field(default_factory=dict)
    # Roles whose answers to the question go (no longer asked, or the question deleted).
    drop_roles: frozenset[str] = frozenset()

    def answers_after(self, role: str, answers: Answers) -> Answers:
        value = answers.get(self.question_id)
        if value is None:
            return answers
        if role in self.drop_roles:
            return {qid: v for qid, v in answers.items() if qid != self.question_id}
        if not self.moves or not isinstance(value, tuple):
            return answers
        picked = tuple(
            dict.fromkeys(
                moved
                for moved in (self.moves.get(option, option) for option in value)
                if moved is not None
            )
        )
        rest = {qid: v for qid, v in answers.items() if qid != self.question_id}
        return {**rest, self.question_id: picked} if picked else rest

    @property
    def read_by_a_rule(self) -> bool:
        return any(self.question_id in (r.mentee.id, r.mentor.id) for r in self.scheme.rules)


def _scheme_without_option(scheme: Scheme, question: Question, option_id: int) -> Scheme:
    """The scheme with the option gone from the question's list (its levels close up)."""
    kept = [o for o in QuestionOption.objects.filter(question=question).order_by("position", "id")]
    spec = question_spec(question, [o for o in kept if o.pk != option_id])

    def swap(side):
        return spec if side.id == question.pk else side

    rules = tuple(replace(r, mentee=swap(r.mentee), mentor=swap(r.mentor)) for r in scheme.rules)
    return Scheme(rules, ("draft", *scheme.version))


@dataclass(frozen=True)
class OptionRemoval:
    """What removing an option does: its people, and where their answers go."""

    option: QuestionOption
    people: int  # picked it
    move_to: QuestionOption | None = None
    merged: int = 0  # of those, had already picked move_to as well
    impact: hooks.CandidateImpact | None = None
    read_by_a_rule: bool = False


def option_removal(
    program: Program, option: QuestionOption, *, move_to: QuestionOption | None, impact: bool
) -> OptionRemoval:
    """Count what removing the option would do (moving its answers to `move_to`, or
    deleting them); with `impact`, also what it does to the current candidates."""
    answers = Answer.objects.filter(option=option)
    n = answers.count()
    merged = 0
    if move_to is not None and n:
        merged = answers.filter(
            Exists(Answer.objects.filter(participant=OuterRef("participant"), option=move_to))
        ).count()
    scheme = scheme_of(program)
    change = QuestionChange(
        option.question_id,
        _scheme_without_option(scheme, option.question, option.pk),
        moves={option.pk: move_to.pk if move_to is not None else None},
    )
    found = None
    if impact and n and change.read_by_a_rule:
        found = hooks.candidate_impact(program=program, change=change)
    return OptionRemoval(option, n, move_to, merged, found, change.read_by_a_rule)


@dataclass(frozen=True)
class AudienceChange:
    """What asking a question of fewer people does: the answers of those no longer asked go."""

    question: Question
    audience: str
    dropped: frozenset[str]  # roles no longer asked
    people: int  # of those, who answered it
    impact: hooks.CandidateImpact | None = None
    read_by_a_rule: bool = False

    @property
    def dropped_words(self) -> str:
        return " and ".join(f"{role}s" for role in sorted(self.dropped))


def audience_change(
    program: Program, question: Question, data: QuestionFields
) -> AudienceChange | None:
    """What the edit's new audience would do; None when nobody stops being asked.
    DomainError, before anything is shown, when a match rule reads the side dropped."""
    audience = data.audience
    dropped = frozenset(roles_asked(question.audience) - roles_asked(audience))
    if not dropped:
        return None
    _check_rules_still_read(question, data)
    # Department and Location stay on the record: nothing of theirs is removed.
    n = 0 if question.profile_field else answered_count(question, roles=set(dropped))
    scheme = scheme_of(program)
    change = QuestionChange(question.pk, scheme, drop_roles=dropped)
    found = None
    if n and change.read_by_a_rule:
        found = hooks.candidate_impact(program=program, change=change)
    return AudienceChange(question, audience, dropped, n, found, change.read_by_a_rule)


def delete_problem(question: Question, rules: list[MatchRule]) -> str | None:
    """Why the question cannot be deleted (None when it can)."""
    if question.profile_field:
        return (
            f"“{question.label}” is kept on each person's record, where the directory and "
            "the “different department” rule read it: it cannot be deleted. Make it "
            "optional, or ask it of fewer people, instead."
        )
    if rules:
        titles = ", ".join(f"“{rule_title(r)}”" for r in rules)
        return (
            f"The match rule {titles} reads “{question.label}”: remove the rule on the "
            "Match weights page first, then delete the question."
            if len(rules) == 1
            else f"The match rules {titles} read “{question.label}”: remove them on the "
            "Match weights page first, then delete the question."
        )
    return None


# --- Writing: questions ------------------------------------------------------------------


def _locked(program: Program) -> Program:
    """The program row, locked until the transaction ends: changes to its questions take turns."""
    return Program.objects.select_for_update().get(pk=program.pk)


def _question(program: Program, question_id: int) -> Question:
    found = Question.objects.filter(program=program, pk=question_id).first()
    if found is None:
        raise DomainError("That question no longer exists: someone deleted it meanwhile.")
    return found


def _check_rules_still_read(question: Question, data: QuestionFields) -> None:
    """DomainError when a match rule could no longer compare the question as changed."""
    changed = copy.copy(question)
    for name, value in vars(data).items():
        setattr(changed, name, value)
    for rule in rules_reading(question):
        mentee = changed if rule.mentee_question_id == question.pk else rule.mentee_question
        mentor = changed if rule.mentor_question_id == question.pk else rule.mentor_question
        try:
            check_rule(mentee_question=mentee, mentor_question=mentor, measure=rule.measure)
        except DomainError as error:
            raise DomainError(
                f"The match rule “{rule_title(rule)}” reads this question and could no "
                f"longer compare it: {error} Change or remove the rule on the Match weights "
                "page first."
            ) from None


@transaction.atomic
def question_create(*, program: Program, user, data: QuestionFields) -> Question:
    """Add a question at the end of the list. Nobody has answered it yet: if required,
    people are asked it the next time they edit their answers."""
    program = _locked(program)
    data = _check_fields(data)
    problem = key_problem(program, data.key)
    if problem:
        raise DomainError(problem)
    last = Question.objects.filter(program=program).aggregate(n=Max("position"))["n"]
    question = Question.objects.create(
        program=program, position=0 if last is None else last + 1, **vars(data)
    )
    bump_questions_version(program)
    activity_record(
        program=program,
        actor=user,
        verb=Verb.QUESTION_ADDED,
        detail=f"“{question.label}” ({KIND_WORDS[question.kind]}, asked of "
        f"{AUDIENCE_WORDS[question.audience]}{', required' if question.required else ''})",
    )
    return question


@dataclass(frozen=True)
class QuestionSaved:
    changes: list[str]
    answers_removed: int = 0  # people no longer asked, whose answers went


@transaction.atomic
def question_update(
    *, program: Program, question_id: int, user, data: QuestionFields
) -> QuestionSaved:
    """Save an admin's edit of a question; nothing written (and no log line) when nothing
    changed. Refused: a new kind for a question people answered (their answers would not
    fit), and a change a match rule could not read. Asking fewer people removes the
    answers of those no longer asked (audience_change counts them first)."""
    program = _locked(program)
    question = _question(program, question_id)
    before = QuestionFields.of(question)
    if question.profile_field:
        editable = {name: getattr(data, name) for name in PROFILE_EDITABLE}
        if before.with_editable(**editable) != data:
            raise DomainError(
                f"“{question.label}” is kept on each person's record: only its label, "
                "question, help, audience and whether it is required can change."
            )
    data = _check_fields(data)
    changes = _changes(before, data)
    if not changes:
        return QuestionSaved([])
    if data.kind != before.kind:
        n = answered_count(question)
        if n:
            raise DomainError(
                f"{people(n)} answered “{question.label}” as a {KIND_WORDS[before.kind]}: "
                "its kind cannot change, their answers would not fit. Add a new question "
                "instead (and delete this one if you no longer need it)."
            )
    problem = key_problem(program, data.key, question=question)
    if problem:
        raise DomainError(problem)
    _check_rules_still_read(question, data)
    removed = 0
    dropped = roles_asked(before.audience) - roles_asked(data.audience)
    if dropped and not question.profile_field:
        removed = answered_count(question, roles=dropped)
        Answer.objects.filter(question=question, participant__role__in=sorted(dropped)).delete()
    if before.kind in (Kind.SINGLE, Kind.MULTIPLE) and data.kind not in (
        Kind.SINGLE,
        Kind.MULTIPLE,
    ):
        # Nobody answered it (checked above): its options mean nothing now.
        QuestionOption.objects.filter(question=question).delete()
    for name, value in vars(data).items():
        setattr(question, name, value)
    try:
        with transaction.atomic():
            question.save()
    except IntegrityError:
        raise DomainError(
            f"This program already has a question with the key “{data.key}”."
        ) from None
    bump_questions_version(program)
    detail = f"“{before.label}”: " + "; ".join(changes)
    if removed:
        detail += f"; answers of {people(removed)} no longer asked removed"
    activity_record(program=program, actor=user, verb=Verb.QUESTION_EDITED, detail=detail)
    return QuestionSaved(changes, removed)


def _renumber(rows: list, moved, up: bool) -> list:
    """Swap `moved` with its neighbour and number the list 0, 1, 2...: the rows whose
    position changed (duplicates and gaps, like options people added, close up)."""
    order = list(rows)
    i = next(n for n, row in enumerate(order) if row.pk == moved.pk)
    j = i - 1 if up else i + 1
    if not 0 <= j < len(order):
        return []
    order[i], order[j] = order[j], order[i]
    changed = []
    for n, row in enumerate(order):
        if row.position != n:
            row.position = n
            changed.append(row)
    return changed


@transaction.atomic
def question_move(*, program: Program, question_id: int, user, up: bool) -> bool:
    """Move a question up or down the list; False when it is already at that end."""
    program = _locked(program)
    question = _question(program, question_id)
    rows = list(Question.objects.filter(program=program).order_by("position", "id"))
    changed = _renumber(rows, question, up)
    if not changed:
        return False
    Question.objects.bulk_update(changed, ["position"])
    bump_questions_version(program)
    activity_record(
        program=program,
        actor=user,
        verb=Verb.QUESTION_MOVED,
        detail=f"“{question.label}” moved {'up' if up else 'down'}",
    )
    return True


@transaction.atomic
def question_delete(*, program: Program, question_id: int, user) -> int:
    """Delete a question and its answers; the number of people whose answer went.
    Refused while a match rule reads it, and for Department and Location."""
    program = _locked(program)
    question = _question(program, question_id)
    problem = delete_problem(question, rules_reading(question))
    if problem:
        raise DomainError(problem)
    n = answered_count(question)
    # Answers first: they protect the options they point at.
    Answer.objects.filter(question=question).delete()
    QuestionOption.objects.filter(question=question).delete()
    question.delete()
    bump_questions_version(program)
    activity_record(
        program=program,
        actor=user,
        verb=Verb.QUESTION_DELETED,
        detail=f"“{question.label}”, with the answers of {people(n)}",
    )
    return n


# --- Writing: options --------------------------------------------------------------------


def clean_option_label(label: str) -> str:
    text = one_line(label or "")
    if not text:
        raise DomainError("An option needs a label.")
    if len(text) > OPTION_MAX:
        raise DomainError(f"An option takes at most {OPTION_MAX} characters.")
    return text


def _choice_question(program: Program, question_id: int) -> Question:
    question = _question(program, question_id)
    if question.kind not in (Kind.SINGLE, Kind.MULTIPLE):
        raise DomainError(f"“{question.label}” is not a choice question: it has no options.")
    return question


def _option(program: Program, option_id: int) -> QuestionOption:
    """The option, locked: an answer moved to it or a person picking it waits for us."""
    found = (
        QuestionOption.objects.select_for_update()
        .filter(question__program=program, pk=option_id)
        .select_related("question")
        .first()
    )
    if found is None:
        raise DomainError("That option no longer exists: someone removed it meanwhile.")
    return found


def _clash(question: Question, label: str, *, other_than: int | None = None) -> str | None:
    taken = QuestionOption.objects.annotate(low=Lower("label")).filter(
        question=question, low=label.lower()
    )
    if other_than is not None:
        taken = taken.exclude(pk=other_than)
    found = taken.first()
    if found is None:
        return None
    return f"“{question.label}” already has the option “{found.label}”."


def _save_option(option: QuestionOption, question: Question) -> None:
    """Save, turning the unique index's refusal (someone added the same label a moment
    ago) into words."""
    try:
        with transaction.atomic():
            option.save()
    except IntegrityError:
        raise DomainError(_clash(question, option.label) or "That option already exists.") from None


def _options_logged(program: Program, user, question: Question, detail: str) -> None:
    bump_questions_version(program)
    activity_record(
        program=program,
        actor=user,
        verb=Verb.QUESTION_OPTIONS_CHANGED,
        detail=f"“{question.label}”: {detail}",
    )


@transaction.atomic
def option_add(*, program: Program, question_id: int, user, label: str) -> QuestionOption:
    """Add an option at the end of a choice question's list."""
    program = _locked(program)
    question = _choice_question(program, question_id)
    label = clean_option_label(label)
    clash = _clash(question, label)
    if clash:
        raise DomainError(clash)
    last = QuestionOption.objects.filter(question=question).aggregate(n=Max("position"))["n"]
    option = QuestionOption(
        question=question, label=label, position=0 if last is None else last + 1
    )
    _save_option(option, question)
    _options_logged(program, user, question, f"added “{label}”")
    return option


@transaction.atomic
def option_rename(*, program: Program, option_id: int, user, label: str) -> bool:
    """Rename an option; its answers follow (they point at the option). False when unchanged."""
    program = _locked(program)
    option = _option(program, option_id)
    label = clean_option_label(label)
    if label == option.label:
        return False
    clash = _clash(option.question, label, other_than=option.pk)
    if clash:
        raise DomainError(clash)
    before = option.label
    option.label = label
    _save_option(option, option.question)
    _options_logged(program, user, option.question, f"renamed “{before}” → “{label}”")
    return True


@transaction.atomic
def option_move(*, program: Program, option_id: int, user, up: bool) -> bool:
    """Move an option up or down its list (for a single choice, its level); False at the end."""
    program = _locked(program)
    option = _option(program, option_id)
    rows = list(QuestionOption.objects.filter(question=option.question).order_by("position", "id"))
    changed = _renumber(rows, option, up)
    if not changed:
        return False
    QuestionOption.objects.bulk_update(changed, ["position"])
    _options_logged(
        program, user, option.question, f"moved “{option.label}” {'up' if up else 'down'}"
    )
    return True


@dataclass(frozen=True)
class OptionRemoved:
    label: str
    moved: int = 0  # people whose answer now points at the other option
    merged: int = 0  # of those, people who had picked both: one answer left
    deleted: int = 0  # people whose answer was deleted
    move_to: str = ""


@transaction.atomic
def option_remove(
    *,
    program: Program,
    option_id: int,
    user,
    move_to: int | None = None,
    delete_answers: bool = False,
) -> OptionRemoved:
    """Remove an option. People who picked it keep an answer on `move_to` (another option
    of the question; where they had picked both, the two merge) or, with
    `delete_answers`, lose it; nothing is removed until one is said."""
    program = _locked(program)
    option = _option(program, option_id)
    question = option.question
    answers = Answer.objects.filter(option=option)
    n = answers.count()
    target = None
    if move_to is not None:
        target = (
            QuestionOption.objects.select_for_update().filter(question=question, pk=move_to).first()
        )
        if target is None or target.pk == option.pk:
            raise DomainError(
                f"Move the answers to another option of “{question.label}”: that one no "
                "longer exists. Reload the page."
            )
    elif n and not delete_answers:
        raise DomainError(
            f"{people(n)} picked “{option.label}”: say whether their answers move to another "
            "option or are deleted."
        )
    result = OptionRemoved(option.label)
    if n and target is not None:
        both = answers.filter(
            Exists(Answer.objects.filter(participant=OuterRef("participant"), option=target))
        )
        merged, _ = both.delete()
        answers.update(option=target)
        result = OptionRemoved(option.label, moved=n, merged=merged, move_to=target.label)
        detail = f"removed “{option.label}”, the answers of {people(n)} moved to “{target.label}”"
        if merged:
            detail += f" ({merged} had picked both)"
    elif n:
        answers.delete()
        result = OptionRemoved(option.label, deleted=n)
        detail = f"removed “{option.label}” and the answers of {people(n)}"
    else:
        detail = f"removed “{option.label}”"
    option.delete()
    _options_logged(program, user, question, detail)
    return result
