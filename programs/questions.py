"""A program's questions and people's answers: the profile matching reads.

Each program asks its own ordered questions (programs.models.Question); a
new program starts with the defaults below, the fields every program had
before questions existed. Answers are rows (Answer): an option per pick, a
number or a text. Department and Location are answered on the person's
record (Question.profile_field).

In memory an answer is a plain value, the same everywhere (matching, forms,
exports): a tuple of option ids for a choice, an int for a number, a str for
a text; a question left blank has no entry.
"""

from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.i18n import program_language
from pairing_admin.lib.text import multi_line, one_line
from programs.models import (
    ANSWER_COLUMNS,
    Answer,
    MatchRule,
    Participant,
    Program,
    Question,
    QuestionOption,
    fold_answers,
)

Kind = Question.Kind
Audience = Question.Audience
Measure = MatchRule.Measure

# How many options one person may add to an open question in one go, and a
# text answer's length (long texts are read, never matched).
MAX_PICKS = 30
SHORT_TEXT_MAX = 200
LONG_TEXT_MAX = 2000
OPTION_MAX = 120


@dataclass(frozen=True)
class DefaultQuestion:
    key: str
    label: object  # lazy: worded in the program's language when created
    text: object
    audience: str
    kind: str
    help_text: object = ""
    open_options: bool = False
    profile_field: str = ""


# A new program's questions: the profile every program had before questions,
# so imports, forms and scores keep working until the team writes its own.
DEFAULT_QUESTIONS: tuple[DefaultQuestion, ...] = (
    DefaultQuestion(
        "skills",
        gettext_lazy("Skills"),
        gettext_lazy("What can you help with?"),
        Audience.EVERYONE,
        Kind.MULTIPLE,
        gettext_lazy("Topics you could guide someone in."),
        open_options=True,
    ),
    DefaultQuestion(
        "goals",
        gettext_lazy("Goals"),
        gettext_lazy("What do you want to get better at?"),
        Audience.EVERYONE,
        Kind.MULTIPLE,
        gettext_lazy("What you hope a mentor helps you with."),
        open_options=True,
    ),
    DefaultQuestion(
        "interests",
        gettext_lazy("Interests"),
        gettext_lazy("What are you interested in?"),
        Audience.EVERYONE,
        Kind.MULTIPLE,
        open_options=True,
    ),
    DefaultQuestion(
        "department",
        gettext_lazy("Department"),
        gettext_lazy("Which department do you work in?"),
        Audience.EVERYONE,
        Kind.SHORT_TEXT,
        profile_field=Question.ProfileField.DEPARTMENT,
    ),
    DefaultQuestion(
        "location",
        gettext_lazy("Location"),
        gettext_lazy("Where are you based?"),
        Audience.EVERYONE,
        Kind.SHORT_TEXT,
        profile_field=Question.ProfileField.LOCATION,
    ),
)
# (mentee question, mentor question, measure, weight)
DEFAULT_RULES = (
    ("goals", "skills", Measure.OVERLAP, 5),
    ("interests", "interests", Measure.OVERLAP, 2),
    ("department", "department", Measure.SAME, 1),
    ("location", "location", Measure.SAME, 2),
)


def default_questions(program: Program | None = None) -> list[Question]:
    """A new program's questions, unsaved, each with an empty `option_list`: worded in
    the program's language (the active one without a program)."""
    with program_language(program) if program is not None else nullcontext():
        questions = [
            Question(
                program=program,
                key=d.key,
                label=str(d.label),
                text=str(d.text),
                help_text=str(d.help_text),
                audience=d.audience,
                kind=d.kind,
                open_options=d.open_options,
                profile_field=d.profile_field,
                position=n,
            )
            for n, d in enumerate(DEFAULT_QUESTIONS)
        ]
    for question in questions:
        question.option_list = []
    return questions


def create_defaults(program: Program) -> None:
    """Give a new program the default questions and rules, worded in its language."""
    questions = Question.objects.bulk_create(default_questions(program))
    by_key = {q.key: q for q in questions}
    MatchRule.objects.bulk_create(
        MatchRule(
            program=program,
            mentee_question=by_key[mentee],
            mentor_question=by_key[mentor],
            measure=measure,
            weight=weight,
            position=n,
        )
        for n, (mentee, mentor, measure, weight) in enumerate(DEFAULT_RULES)
    )


def bump_questions_version(program: Program) -> None:
    """Say the program's questions, options or rules changed (in the caller's transaction):
    whoever keeps answers or scores prepared for it reads them again."""
    Program.objects.filter(pk=program.pk).update(questions_version=F("questions_version") + 1)
    program.refresh_from_db(fields=["questions_version"])


# --- reading ---------------------------------------------------------------------------


def questions_of(program: Program, *, role: str | None = None) -> list[Question]:
    """The program's questions in order, each with `option_list`; only those `role` is asked
    when given. Read once per Program object and questions_version."""
    held = getattr(program, "_questions_held", None)
    if held is None or held[0] != program.questions_version:
        qs = Question.objects.filter(program=program).prefetch_related(
            Prefetch(
                "options",
                queryset=QuestionOption.objects.order_by("position", "id"),
                to_attr="option_list",
            )
        )
        held = (program.questions_version, list(qs.order_by("position", "id")))
        program._questions_held = held
    return [q for q in held[1] if role is None or q.asks(role)]


def prime_answers(participants: Iterable[Participant]) -> None:
    """Read the answers of many people at once (Participant.answer_values of each)."""
    people = list(participants)
    found = answers_of(p.pk for p in people)
    for person in people:
        person.__dict__["answer_values"] = found.get(person.pk, {})


Answers = dict[int, object]  # {question id: tuple of option ids | int | str}


def answers_of(participant_ids: Iterable[int]) -> dict[int, Answers]:
    """Every answer of these people: {participant id: {question id: value}}."""
    ids = list(participant_ids)
    out: dict[int, Answers] = {pid: {} for pid in ids}
    if not ids:
        return out
    rows = Answer.objects.filter(participant_id__in=ids).order_by("id").values_list(*ANSWER_COLUMNS)
    return fold_answers(rows, out)


def program_answers(program: Program, *, role: str | None = None) -> dict[int, Answers]:
    """Every answer given in a program (of one role's people): auto-pair's bulk read."""
    qs = Answer.objects.filter(program=program)
    if role:
        qs = qs.filter(participant__role=role)
    return fold_answers(qs.order_by("id").values_list(*ANSWER_COLUMNS), {})


def attach_answers(rows: Sequence[dict], answers: Mapping[int, Answers] | None = None) -> None:
    """Give each row (a dict with "id") its "answers"."""
    found = answers if answers is not None else answers_of(r["id"] for r in rows)
    for row in rows:
        row["answers"] = found.get(row["id"], {})


def value_of(question: Question, person, answers: Answers):
    """A person's answer to one question (None when blank), profile fields included."""
    if question.profile_field:
        get = person.get if isinstance(person, Mapping) else lambda k: getattr(person, k, "")
        return get(question.profile_field) or None
    return answers.get(question.pk)


def display(question: Question, value) -> str:
    """An answer as people read it: 'Python, SQL', '5', the text."""
    if value is None or value == "" or value == ():
        return ""
    if question.is_choice:
        labels = {o.pk: o.label for o in _options(question)}
        return ", ".join(labels[o] for o in value if o in labels)
    return str(value)


def described(questions: Iterable[Question], person, answers: Answers) -> list[tuple[str, str]]:
    """(label, answer) of each question answered, in the questions' order."""
    out = []
    for q in questions:
        shown = display(q, value_of(q, person, answers))
        if shown:
            out.append((q.label, shown))
    return out


def _options(question: Question) -> list[QuestionOption]:
    found = getattr(question, "option_list", None)
    if found is None:
        found = list(question.options.order_by("position", "id"))
        question.option_list = found
    return found


# --- checking what people send ---------------------------------------------------------


@dataclass(frozen=True)
class Picks:
    """A choice answer as sent: the labels of options that exist, and the new ones an
    open question accepts."""

    option_ids: tuple[int, ...]
    new_labels: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.option_ids or self.new_labels)


def _split(raw) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        parts = raw.replace("|", ";").replace(",", ";").split(";")
    else:
        parts = [str(p) for p in raw]
    seen: dict[str, str] = {}
    for part in parts:
        label = one_line(part)
        if label and label.casefold() not in seen:
            seen[label.casefold()] = label
    return list(seen.values())


def clean_answer(question: Question, raw):
    """One answer as sent (form or CSV cell) made a value, or None when blank.

    DomainError names the question and what is wrong. Choices come as labels
    (a list, or one string separated by ; or ,), compared without regard to
    case; an open question turns unknown labels into new options.
    """
    label = question.label
    if question.profile_field or question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
        # Without the bidirectional controls that reorder text (pairing_admin.lib.text).
        text = (
            one_line(str(raw or ""))
            if question.kind != Kind.LONG_TEXT
            else multi_line(str(raw or "")).strip()
        )
        limit = LONG_TEXT_MAX if question.kind == Kind.LONG_TEXT else SHORT_TEXT_MAX
        if question.profile_field:
            limit = 120
        if len(text) > limit:
            raise DomainError(
                _("“%(q)s” takes at most %(n)s characters.") % {"q": label, "n": limit}
            )
        return text or None
    if question.kind == Kind.NUMBER:
        if raw is None or str(raw).strip() == "":
            return None
        text = str(raw).strip()
        try:
            number = int(text)
        except ValueError:
            raise DomainError(
                _("“%(q)s” takes a whole number, not “%(v)s”.") % {"q": label, "v": text[:40]}
            ) from None
        low, high = question.min_value, question.max_value
        if (low is not None and number < low) or (high is not None and number > high):
            if low is not None and high is not None:
                raise DomainError(
                    _("“%(q)s” takes a number from %(low)s to %(high)s.")
                    % {"q": label, "low": low, "high": high}
                )
            if low is not None:
                raise DomainError(
                    _("“%(q)s” takes a number of %(n)s or more.") % {"q": label, "n": low}
                )
            raise DomainError(
                _("“%(q)s” takes a number of %(n)s or less.") % {"q": label, "n": high}
            )
        return number
    labels = _split(raw)
    if not labels:
        return None
    if question.kind == Kind.SINGLE and len(labels) > 1:
        raise DomainError(
            _("“%(q)s” takes one answer, not %(n)s.") % {"q": label, "n": len(labels)}
        )
    limit = question.max_choices or MAX_PICKS
    if len(labels) > limit:
        raise DomainError(
            _("Pick at most %(limit)s for “%(q)s”, not %(n)s.")
            % {"limit": limit, "q": label, "n": len(labels)}
        )
    by_label = {o.label.casefold(): o.pk for o in _options(question)}
    ids, new = [], []
    for text in labels:
        if text.casefold() in by_label:
            ids.append(by_label[text.casefold()])
        elif question.open_options:
            if len(text) > OPTION_MAX:
                raise DomainError(
                    _("An answer to “%(q)s” is at most %(n)s characters.")
                    % {"q": label, "n": OPTION_MAX}
                )
            new.append(text)
        else:
            known = ", ".join(o.label for o in _options(question)[:12])
            raise DomainError(
                _("“%(q)s” has no option “%(v)s” (its options: %(known)s).")
                % {"q": label, "v": text[:60], "known": known}
            )
    return Picks(tuple(ids), tuple(new))


def check_required(questions: Iterable[Question], values: Mapping[int, object]) -> None:
    """DomainError naming the first required question left blank."""
    for q in questions:
        if q.required and not values.get(q.pk):
            raise DomainError(_("Please answer “%(q)s”.") % {"q": q.label})


# --- writing ---------------------------------------------------------------------------


@transaction.atomic
def answers_save(*, participant: Participant, values: Mapping[int, object]) -> list[str]:
    """Replace this person's answers to the questions in `values` ({question id: value
    from clean_answer, None for blank}); profile-field questions are the caller's to
    save on the record. Returns the labels of the questions whose answer changed.

    The person's row is touched too: whoever keeps profiles prepared (the preference
    form's mentor pool) sees a new row version.
    """
    questions = {
        q.pk: q
        for q in Question.objects.filter(program_id=participant.program_id, pk__in=list(values))
    }
    new_options = {
        qid: v.new_labels for qid, v in values.items() if isinstance(v, Picks) and v.new_labels
    }
    created = _options_for(participant.program, new_options)
    before = answers_of([participant.pk])[participant.pk]
    rows = []
    after: Answers = {}
    for qid, value in values.items():
        question = questions.get(qid)
        if question is None or question.profile_field:
            continue
        if isinstance(value, Picks):
            ids = (
                *value.option_ids,
                *(created[(qid, label.casefold())] for label in value.new_labels),
            )
            ids = tuple(dict.fromkeys(ids))
            if ids:
                after[qid] = ids
                rows += [_row(participant, qid, option_id=o) for o in ids]
        elif isinstance(value, bool):
            raise TypeError("answers are options, numbers or texts")
        elif isinstance(value, int):
            after[qid] = value
            rows.append(_row(participant, qid, number=value))
        elif value:
            after[qid] = str(value)
            rows.append(_row(participant, qid, text=str(value)))
    touched = [qid for qid in values if qid in questions and not questions[qid].profile_field]
    changed = [qid for qid in touched if before.get(qid) != after.get(qid)]
    if not changed:
        return []
    Answer.objects.filter(participant=participant, question_id__in=touched).delete()
    Answer.objects.bulk_create(rows)
    Participant.objects.filter(pk=participant.pk).update(updated_at=timezone.now())
    participant.__dict__["answer_values"] = {**before, **after}
    for qid in changed:
        if qid not in after:
            participant.answer_values.pop(qid, None)
    return [questions[qid].label for qid in sorted(changed, key=lambda q: questions[q].position)]


def _row(participant: Participant, question_id: int, **value) -> Answer:
    return Answer(
        program_id=participant.program_id,
        participant_id=participant.pk,
        question_id=question_id,
        **value,
    )


def _options_for(program: Program, new: Mapping[int, Sequence[str]]) -> dict[tuple[int, str], int]:
    """The ids of options added by people's answers ({(question id, casefolded label): id}),
    created where missing. Two people adding the same label at once get the same row."""
    if not new:
        return {}
    for qid, labels in new.items():
        QuestionOption.objects.bulk_create(
            [QuestionOption(question_id=qid, label=label, position=_LAST) for label in labels],
            ignore_conflicts=True,
        )
    found = {}
    for option in QuestionOption.objects.filter(question_id__in=list(new)):
        found[(option.question_id, option.label.casefold())] = option.pk
    bump_questions_version(program)
    return found


# Options people add go to the end of the list, in the order they came.
_LAST = 1_000_000


@transaction.atomic
def answers_replace_many(
    *, program: Program, raw: Mapping[int, Mapping[str, object]], batch_size: int = 5000
) -> int:
    """Replace many people's answers at once ({participant id: {question key: raw}}), as
    the demo seed and set-based writers do: every answer is checked (DomainError names
    the first problem and nothing is written), options people add are created once,
    and the touched people's rows get a new version. Returns the answer rows written."""
    by_key = {q.key: q for q in questions_of(program)}
    cleaned: dict[int, dict[int, object]] = {}
    new: dict[int, dict[str, str]] = {}
    for pid, answers in raw.items():
        mine = cleaned.setdefault(pid, {})
        for key, value in answers.items():
            q = by_key.get(key)
            if q is None or q.profile_field:
                raise DomainError(f"This program asks no question “{key}”.")
            value = clean_answer(q, value)
            mine[q.pk] = value
            if isinstance(value, Picks):
                for label in value.new_labels:
                    new.setdefault(q.pk, {}).setdefault(label.casefold(), label)
    created = _options_for(program, {qid: list(v.values()) for qid, v in new.items()})
    rows = []
    for pid, answers in cleaned.items():
        person = Participant(pk=pid, program_id=program.pk)
        for qid, value in answers.items():
            if isinstance(value, Picks):
                extra = (created[(qid, label.casefold())] for label in value.new_labels)
                for option in dict.fromkeys((*value.option_ids, *extra)):
                    rows.append(_row(person, qid, option_id=option))
            elif isinstance(value, int) and not isinstance(value, bool):
                rows.append(_row(person, qid, number=value))
            elif value:
                rows.append(_row(person, qid, text=str(value)))
    ids = list(cleaned)
    touched = {qid for answers in cleaned.values() for qid in answers}
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        Answer.objects.filter(participant_id__in=chunk, question_id__in=touched).delete()
        Participant.objects.filter(pk__in=chunk).update(updated_at=timezone.now())
    Answer.objects.bulk_create(rows, batch_size=batch_size)
    return len(rows)


def answer_labels(program: Program, answers: Mapping[int, Answers]) -> dict[int, dict[str, object]]:
    """Answers as {participant id: {question key: labels list | number | text}}: what
    answers_replace_many takes, for comparing before writing."""
    questions = {q.pk: q for q in questions_of(program)}
    out: dict[int, dict[str, object]] = {}
    for pid, mine in answers.items():
        shown = out.setdefault(pid, {})
        for qid, value in mine.items():
            q = questions.get(qid)
            if q is None:
                continue
            if q.is_choice:
                labels = {o.pk: o.label for o in _options(q)}
                shown[q.key] = [labels[o] for o in value if o in labels]
            else:
                shown[q.key] = value
    return out


def answer_questions(*, participant: Participant, raw: Mapping[str, object]) -> list[str]:
    """Save answers given by question key ({"skills": "Python; SQL", "years": "5"}), as a
    form or an import row sends them; DomainError (nothing saved) names what is wrong.
    Profile-field questions set the record. Returns the labels of the answers changed."""
    questions = questions_of(participant.program)
    unknown = sorted(set(raw) - {q.key for q in questions})
    if unknown:
        raise DomainError(f"This program asks no question “{unknown[0]}”.")
    values, record, errors = participant_values(questions, raw)
    if errors:
        raise DomainError(errors[0])
    if record:
        for name, value in record.items():
            setattr(participant, name, value)
        participant.save(update_fields=[*record, "updated_at"])
    return answers_save(participant=participant, values=values)


def participant_values(
    questions: Iterable[Question], raw: Mapping[str, object]
) -> tuple[dict[int, object], dict[str, object], list[str]]:
    """Clean a form's or CSV row's answers ({question key: raw}).

    Returns (answer values by question id, record fields set by profile-field
    questions, errors naming each question).
    """
    values: dict[int, object] = {}
    record: dict[str, object] = {}
    errors: list[str] = []
    for q in questions:
        if q.key not in raw:
            continue
        try:
            value = clean_answer(q, raw[q.key])
        except DomainError as error:
            errors.append(str(error))
            continue
        if q.profile_field:
            record[q.profile_field] = value or ""
        values[q.pk] = value
    return values, record, errors
