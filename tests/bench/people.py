"""What the benchmarks share about people: seed_demo's profiles, in the database or in memory.

A profile is now a person's record (department, location, title, bio) plus
their answers to the program's questions (programs.questions). seed_demo's
generator still gives skills, interests and goals as lists of labels: these
are answers to the default questions, written with the app's own bulk
service (answers_replace_many), each person answering only the questions
their role is asked. The in-memory form gives benchmarks that need no rows
(bench_matching, bench_autopair --solver-only) the default questions' Scheme
and each person's "answers" as scoring reads them.
"""

from collections.abc import Mapping, Sequence

# seed_demo's keys that are answers to the default questions (the rest is the record).
ANSWER_KEYS = ("skills", "interests", "goals")
RECORD_FIELDS = (
    "role", "first_name", "last_name", "email", "department", "location", "title", "bio",
    "manager_email", "capacity",
)  # fmt: skip


def record(person: Mapping) -> dict:
    """The record fields of a seed_demo person (no answers)."""
    return {k: person[k] for k in RECORD_FIELDS if k in person}


def answers_write(program, people: Sequence[tuple[int, Mapping]], *, keys=None) -> int:
    """Write the answers of (participant id, person dict) pairs with answers_replace_many,
    each person answering only the questions of `keys` (default: every non-profile-field
    question) that their role is asked. Returns the answer rows written."""
    from programs.questions import answers_replace_many, questions_of

    asked = {}
    for role in ("mentee", "mentor"):
        asked[role] = [
            q.key
            for q in questions_of(program, role=role)
            if not q.profile_field and (keys is None or q.key in keys)
        ]
    raw = {
        pid: {key: person[key] for key in asked[person["role"]] if _given(person.get(key))}
        for pid, person in people
    }
    return answers_replace_many(program=program, raw=raw)


def _given(value) -> bool:
    return value is not None and value != "" and value != [] and value != ()


def participants_create(program, people: Sequence[Mapping], *, batch_size: int = 5000, **extra):
    """Participants of seed_demo dicts in one bulk insert (`extra` fields on every row),
    then their answers to the program's questions. Returns the Participant rows."""
    from programs.models import Participant

    rows = Participant.objects.bulk_create(
        [Participant(program=program, **{**record(p), **extra}) for p in people],
        batch_size=batch_size,
    )
    answers_write(program, [(row.pk, person) for row, person in zip(rows, people, strict=True)])
    return rows


def organization_drop(org) -> None:
    """Delete a benchmark's organization. Answers go first: an option answers point at is
    protected (QuestionOption), so deleting the program's questions would refuse."""
    from programs.models import Answer

    Answer.objects.filter(program__organization=org).delete()
    org.delete()


def default_scheme(people: Sequence[Mapping]):
    """The default questions and rules as a Scheme, without rows: question ids 1-5 and an
    option per label the people use. Gives each person dict its "answers" (option ids,
    only for the questions its role is asked) and returns the Scheme."""
    from programs.match_weights import RuleSpec, Scheme, question_spec
    from programs.models import Question, QuestionOption
    from programs.questions import DEFAULT_QUESTIONS, DEFAULT_RULES

    questions = {}
    options: dict[str, dict[str, QuestionOption]] = {}
    next_option = 1
    for n, d in enumerate(DEFAULT_QUESTIONS, start=1):
        q = Question(
            pk=n, key=d.key, label=d.label, text=d.text, audience=d.audience, kind=d.kind,
            open_options=d.open_options, profile_field=d.profile_field, position=n,
        )  # fmt: skip
        questions[d.key] = q
        if d.key not in ANSWER_KEYS:
            continue
        labels = sorted({label for p in people for label in p.get(d.key) or ()})
        options[d.key] = {}
        for position, label in enumerate(labels):
            options[d.key][label] = QuestionOption(
                pk=next_option, question=q, label=label, position=position
            )
            next_option += 1
    for person in people:
        person["answers"] = {
            questions[key].pk: tuple(options[key][label].pk for label in person[key])
            for key in ANSWER_KEYS
            if person.get(key) and questions[key].asks(person["role"])
        }
    specs = {key: question_spec(q, options.get(key, {}).values()) for key, q in questions.items()}
    return Scheme(
        tuple(
            RuleSpec(specs[mentee], specs[mentor], measure, weight, None, n)
            for n, (mentee, mentor, measure, weight) in enumerate(DEFAULT_RULES, start=1)
        ),
        ("bench", "default questions"),
    )
