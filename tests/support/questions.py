"""Programs of questions and match rules made in memory, for the tests of the score.

A Quiz holds a program's questions (each with its options in the list's order) and
its rules, as plain data: `scheme(quiz)` makes the programs.match_weights.Scheme that
pairing.matching scores with (through question_spec, as scheme_of does), and people
are the dicts auto-pair passes ({"id", names, "department", "location", "answers"}).
`defaults()` and `person()` write the hand-made examples; the hypothesis strategies
(`cases()`) draw random programs of every kind, audience, measure and weight, with
random people; `saved()` writes one to the database for the tests that read it back.
"""

import itertools
from dataclasses import dataclass, field, replace
from functools import cache

from hypothesis import strategies as st

from pairing_admin.lib.errors import DomainError
from programs.match_weights import RuleSpec, Scheme, check_rule, question_spec
from programs.models import Answer, MatchRule, Participant, Question, QuestionOption
from programs.questions import DEFAULT_QUESTIONS, DEFAULT_RULES
from tests import factories

Kind = Question.Kind
Audience = Question.Audience
Measure = MatchRule.Measure
MENTEE = Participant.Role.MENTEE
MENTOR = Participant.Role.MENTOR
CHOICES = (Kind.SINGLE, Kind.MULTIPLE)

_option_ids = itertools.count(1001)
_person_ids = itertools.count(1)


@dataclass
class Asked:
    """One question: its options are (id, label) in the list's order (the levels)."""

    id: int
    key: str
    label: str
    kind: str
    audience: str
    options: list[tuple[int, str]] = field(default_factory=list)
    max_choices: int | None = None
    profile_field: str = ""

    def asks(self, role: str) -> bool:
        return self.audience in (Audience.EVERYONE, role)

    def model(self) -> Question:
        """The same question as an unsaved Question (what question_spec reads)."""
        return Question(
            pk=self.id,
            key=self.key,
            label=self.label,
            kind=self.kind,
            audience=self.audience,
            max_choices=self.max_choices,
            profile_field=self.profile_field,
        )

    def option_id(self, label: str) -> int:
        """The option with this label, added at the end of the list when missing, as an
        open question does (labels compare without regard to case)."""
        for pk, known in self.options:
            if known.casefold() == label.casefold():
                return pk
        pk = next(_option_ids)
        self.options.append((pk, label))
        return pk


@dataclass
class Rule:
    mentee: Asked
    mentor: Asked
    measure: str
    weight: int
    distance: int | None = None


@dataclass
class Quiz:
    questions: list[Asked]
    rules: list[Rule]

    def question(self, key: str) -> Asked:
        return next(q for q in self.questions if q.key == key)


def scheme(quiz: Quiz) -> Scheme:
    """The Scheme pairing.matching scores with (rule ids are 1, 2, ... in order). Build it
    after the people: their answers may add options."""
    specs = {
        q.id: question_spec(
            q.model(), [QuestionOption(pk=pk, label=label) for pk, label in q.options]
        )
        for q in quiz.questions
    }
    return Scheme(
        tuple(
            RuleSpec(specs[r.mentee.id], specs[r.mentor.id], r.measure, r.weight, r.distance, n)
            for n, r in enumerate(quiz.rules, start=1)
        )
    )


def valid(mentee: Asked, mentor: Asked, measure: str) -> bool:
    """Whether the app lets an admin write this rule (programs.match_weights.check_rule)."""
    same = mentee.id == mentor.id
    return _valid(mentee.kind, mentee.audience, mentor.kind, mentor.audience, same, measure)


@cache
def _valid(mentee_kind, mentee_audience, mentor_kind, mentor_audience, same, measure) -> bool:
    # check_rule reads only these: asking it once per combination keeps drawing fast.
    mentee = Question(pk=1, label="a", kind=mentee_kind, audience=mentee_audience)
    mentor = (
        mentee if same else Question(pk=2, label="b", kind=mentor_kind, audience=mentor_audience)
    )
    try:
        check_rule(mentee_question=mentee, mentor_question=mentor, measure=measure)
    except DomainError:
        return False
    return True


# --- Hand-made examples ------------------------------------------------------------------


def defaults(**weights: int) -> Quiz:
    """A new program's questions and rules (programs.questions' defaults), with the
    weights of some rules changed by their mentee question's key: defaults(location=10)."""
    questions = [
        Asked(
            id=n,
            key=d.key,
            label=d.label,
            kind=d.kind,
            audience=d.audience,
            profile_field=d.profile_field,
        )
        for n, d in enumerate(DEFAULT_QUESTIONS, start=1)
    ]
    by_key = {q.key: q for q in questions}
    unknown = set(weights) - {mentee for mentee, *_ in DEFAULT_RULES}
    assert not unknown, unknown
    rules = [
        Rule(by_key[mentee], by_key[mentor], measure, weights.get(mentee, weight))
        for mentee, mentor, measure, weight in DEFAULT_RULES
    ]
    return Quiz(questions, rules)


def person(quiz: Quiz, first_name: str = "", last_name: str = "", **answers) -> dict:
    """Someone answering the quiz's questions by key: labels (a list, or one label) for a
    choice, a number, a text; department and location go on the record."""
    out = {
        "id": answers.pop("id", None) or next(_person_ids),
        "first_name": first_name,
        "last_name": last_name,
        "department": answers.pop("department", ""),
        "location": answers.pop("location", ""),
        "answers": {},
    }
    for key, value in answers.items():
        q = quiz.question(key)
        if q.kind in CHOICES:
            labels = [value] if isinstance(value, str) else value
            out["answers"][q.id] = tuple(q.option_id(label) for label in labels)
        else:
            out["answers"][q.id] = value
    return out


# --- Random programs (hypothesis) --------------------------------------------------------

# Words people type, options and texts alike, so a single choice can equal a text.
WORDS = ["Python", "SQL", "Data science", "Lisbon", "Porto Alegre"]
NAMES = ["Ana", "ana", "Bo", "Zoe", ""]
SURNAMES = ["Silva", "Lee", ""]
KINDS = (Kind.SINGLE, Kind.MULTIPLE, Kind.NUMBER, Kind.SHORT_TEXT, Kind.LONG_TEXT)


@st.composite
def spellings(draw) -> str:
    """One of WORDS as people type it: any case, stray or doubled spaces."""
    word = draw(st.sampled_from(WORDS))
    case = draw(st.sampled_from([str, str.upper, str.lower, str.title]))
    inner = draw(st.sampled_from([" ", "  ", "\t"]))
    before, after = draw(st.sampled_from(["", " "])), draw(st.sampled_from(["", "  "]))
    return before + case(word).replace(" ", inner) + after


numbers = st.integers(-2, 6)
# Ignored and must-match come up as often as the weights that count.
weights = st.sampled_from([1, 10, 0, 2, 5, 10, 9])


@st.composite
def quizzes(draw, *, max_questions: int = 6, max_rules: int = 6) -> Quiz:
    """Questions of every kind and audience (department and location on the record
    sometimes), and rules of combinations the app accepts, weighted 0-10."""
    ids = itertools.count(1)
    questions = []
    for n in range(draw(st.integers(1, max_questions))):
        # Numbers and multiple choices twice as often: most measures compare them.
        kind = draw(st.sampled_from((*KINDS, Kind.NUMBER, Kind.MULTIPLE)))
        q = Asked(
            id=next(ids),
            key=f"q{n}",
            label=f"Question {n}",
            kind=kind,
            audience=draw(st.sampled_from(Audience.values)),
        )
        if kind in CHOICES:
            # The database keeps one option per lower-cased label: "Go" and " go" may both be.
            labels = draw(st.lists(spellings(), min_size=1, max_size=6, unique_by=str.lower))
            q.options = [(next(_option_ids), label) for label in labels]
        if kind == Kind.MULTIPLE:
            q.max_choices = draw(st.none() | st.integers(1, 4))
        questions.append(q)
    for name in Question.ProfileField.values:
        if name and draw(st.booleans()):
            questions.append(
                Asked(
                    id=next(ids),
                    key=name,
                    label=name.title(),
                    kind=Kind.SHORT_TEXT,
                    audience=Audience.EVERYONE,
                    profile_field=name,
                )
            )
    # Each rule's measure first, then which questions: every measure comes up often.
    combinations: dict[str, list] = {}
    for a in questions:
        for b in questions:
            for m in Measure.values:
                if valid(a, b, m):
                    combinations.setdefault(m, []).append((a, b, m))
    chosen = (
        draw(
            st.lists(
                st.sampled_from(sorted(combinations)).flatmap(
                    lambda m: st.sampled_from(combinations[m])
                ),
                min_size=1,
                max_size=max_rules,
                unique_by=lambda c: (c[0].id, c[1].id, c[2]),
            )
        )
        if combinations
        else []
    )
    rules = [
        Rule(
            a,
            b,
            m,
            weight=draw(weights),
            distance=draw(st.integers(0, 3)) if m == Measure.WITHIN else None,
        )
        for a, b, m in chosen
    ]
    return Quiz(questions, rules)


# Most questions asked are answered.
answered = st.sampled_from([True, True, True, False])


@st.composite
def people(draw, quiz: Quiz, role: str, pid: int) -> dict:
    """Someone of `role` who answered some of the questions they are asked."""
    record = {name: draw(st.just("") | spellings()) for name in ("department", "location")}
    answers: dict[int, object] = {}
    for q in quiz.questions:
        if q.profile_field or not q.asks(role) or not draw(answered):
            continue
        ids = [pk for pk, _ in q.options]
        if q.kind == Kind.SINGLE:
            answers[q.id] = (draw(st.sampled_from(ids)),)
        elif q.kind == Kind.MULTIPLE:
            most = min(q.max_choices or len(ids), len(ids))
            picks = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=most, unique=True))
            answers[q.id] = tuple(picks)
        elif q.kind == Kind.NUMBER:
            answers[q.id] = draw(numbers)
        else:
            answers[q.id] = draw(spellings())
    return {
        "id": pid,
        "first_name": draw(st.sampled_from(NAMES)),
        "last_name": draw(st.sampled_from(SURNAMES)),
        **record,
        "answers": answers,
    }


@dataclass
class Case:
    quiz: Quiz
    mentees: list[dict]
    mentors: list[dict]


@st.composite
def cases(draw, *, max_mentees: int = 6, max_mentors: int = 8) -> Case:
    quiz = draw(quizzes())
    mentees = [
        draw(people(quiz, MENTEE, n)) for n in range(1, draw(st.integers(2, max_mentees)) + 1)
    ]
    mentors = [
        draw(people(quiz, MENTOR, 1000 + n))
        for n in range(1, draw(st.integers(2, max_mentors)) + 1)
    ]
    return Case(quiz, mentees, mentors)


# --- In the database ---------------------------------------------------------------------


def saved(case: Case, organization) -> tuple[object, Case]:
    """Write a case to the database: (the program, the case with the database's ids).

    Options are created last to first, so their ids run against the list's order
    (the levels must follow positions, not ids); each person's answer rows are
    written in the order of their picks.
    """
    program = factories.ProgramFactory(organization=organization, questions=False)
    questions: dict[int, Asked] = {}
    options: dict[int, int] = {}
    for n, q in enumerate(case.quiz.questions):
        row = Question.objects.create(
            program=program,
            key=q.key,
            label=q.label,
            text=q.label,
            audience=q.audience,
            kind=q.kind,
            max_choices=q.max_choices,
            profile_field=q.profile_field,
            open_options=q.kind in CHOICES,
            position=n,
        )
        made = {}
        for position, (pk, label) in reversed(list(enumerate(q.options))):
            option = QuestionOption.objects.create(question=row, label=label, position=position)
            made[pk] = option.pk
        options.update(made)
        questions[q.id] = replace(
            q, id=row.pk, options=[(made[pk], label) for pk, label in q.options]
        )
    rules = []
    for n, r in enumerate(case.quiz.rules):
        MatchRule.objects.create(
            program=program,
            mentee_question_id=questions[r.mentee.id].id,
            mentor_question_id=questions[r.mentor.id].id,
            measure=r.measure,
            weight=r.weight,
            distance=r.distance,
            position=n,
        )
        rules.append(replace(r, mentee=questions[r.mentee.id], mentor=questions[r.mentor.id]))
    quiz = Quiz(list(questions.values()), rules)

    def write(people: list[dict], role: str) -> list[dict]:
        out = []
        for someone in people:
            row = factories.ParticipantFactory(
                program=program,
                role=role,
                first_name=someone["first_name"],
                last_name=someone["last_name"],
                department=someone["department"],
                location=someone["location"],
            )
            answers = {}
            for qid, value in someone["answers"].items():
                mine = questions[qid].id
                if isinstance(value, tuple):
                    answers[mine] = tuple(options[o] for o in value)
                    for o in answers[mine]:
                        Answer.objects.create(
                            program=program, participant=row, question_id=mine, option_id=o
                        )
                else:
                    answers[mine] = value
                    number, text = (value, None) if isinstance(value, int) else (None, value)
                    Answer.objects.create(
                        program=program, participant=row, question_id=mine, number=number, text=text
                    )
            out.append({**someone, "id": row.pk, "answers": answers})
        return out

    mentees = write(case.mentees, MENTEE)
    mentors = write(case.mentors, MENTOR)
    program.refresh_from_db()
    return program, Case(quiz, mentees, mentors)
