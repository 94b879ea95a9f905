"""Every program gets the default questions and match rules, and today's profile lists
(skills, interests, goals) become answers; the stored match weights become the rules'
weights. The row counts are checked: each person's distinct values of each list make
exactly one answer row, or the migration stops and changes nothing.

The defaults are written out here, as they were when this ran (programs.questions
holds today's).
"""

from django.db import migrations

QUESTIONS = [
    # key, label, text, audience, kind, help_text, open_options, profile_field
    ("skills", "Skills", "What can you help with?", "everyone", "multiple",
     "Topics you could guide someone in.", True, ""),
    ("goals", "Goals", "What do you want to get better at?", "everyone", "multiple",
     "What you hope a mentor helps you with.", True, ""),
    ("interests", "Interests", "What are you interested in?", "everyone", "multiple",
     "", True, ""),
    ("department", "Department", "Which department do you work in?", "everyone", "short_text",
     "", False, "department"),
    ("location", "Location", "Where are you based?", "everyone", "short_text",
     "", False, "location"),
]  # fmt: skip
# (mentee question, mentor question, measure, old weight key, default weight)
RULES = [
    ("goals", "skills", "overlap", "skills_for_goals", 5),
    ("interests", "interests", "overlap", "shared_interests", 2),
    ("department", "department", "same", "department", 1),
    ("location", "location", "same", "location", 2),
]
LISTS = ("skills", "goals", "interests")
OPTION_MAX = 120
BATCH = 5000


def _labels(values) -> list[str]:
    """A stored list as distinct labels (whitespace collapsed, case ignored, first spelling)."""
    if isinstance(values, str):
        values = [values]
    seen: dict[str, str] = {}
    for value in values or ():
        label = " ".join(str(value).split())[:OPTION_MAX].strip()
        if label and label.casefold() not in seen:
            seen[label.casefold()] = label
    return list(seen.values())


def _weight(stored, key: str, default: int) -> int:
    value = stored.get(key, default) if isinstance(stored, dict) else default
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10
    return value if ok else default


def forward(apps, schema_editor):
    Program = apps.get_model("programs", "Program")
    Participant = apps.get_model("programs", "Participant")
    Question = apps.get_model("programs", "Question")
    QuestionOption = apps.get_model("programs", "QuestionOption")
    Answer = apps.get_model("programs", "Answer")
    MatchRule = apps.get_model("programs", "MatchRule")
    for program in Program.objects.order_by("pk").iterator():
        questions = {}
        for n, (key, label, text, audience, kind, help_text, open_options, field) in enumerate(
            QUESTIONS
        ):
            questions[key] = Question.objects.create(
                program=program,
                key=key,
                label=label,
                text=text,
                audience=audience,
                kind=kind,
                help_text=help_text,
                open_options=open_options,
                profile_field=field,
                position=n,
            )
        for n, (mentee, mentor, measure, old, default) in enumerate(RULES):
            MatchRule.objects.create(
                program=program,
                mentee_question=questions[mentee],
                mentor_question=questions[mentor],
                measure=measure,
                weight=_weight(program.match_weights, old, default),
                position=n,
            )
        options: dict[tuple[str, str], int] = {}
        expected = dict.fromkeys(LISTS, 0)
        batch = []

        def flush():
            Answer.objects.bulk_create(batch)
            batch.clear()

        rows = (
            Participant.objects.filter(program=program)
            .order_by("pk")
            .values_list("pk", *LISTS)
            .iterator(chunk_size=BATCH)
        )
        for pk, *lists in rows:
            for name, values in zip(LISTS, lists, strict=True):
                for label in _labels(values):
                    key = (name, label.casefold())
                    if key not in options:
                        options[key] = QuestionOption.objects.create(
                            question=questions[name], label=label, position=len(options)
                        ).pk
                    batch.append(
                        Answer(
                            program_id=program.pk,
                            participant_id=pk,
                            question_id=questions[name].pk,
                            option_id=options[key],
                        )
                    )
                    expected[name] += 1
            if len(batch) >= BATCH:
                flush()
        flush()
        for name in LISTS:
            found = Answer.objects.filter(question=questions[name]).count()
            if found != expected[name]:
                raise RuntimeError(
                    f"Program {program.pk}: {expected[name]} {name} values became "
                    f"{found} answers; nothing was changed."
                )


def backward(apps, schema_editor):
    """The answers to the three default lists go back into the columns (0023 reversed
    brings them back empty); the questions and rules go."""
    Participant = apps.get_model("programs", "Participant")
    Question = apps.get_model("programs", "Question")
    Answer = apps.get_model("programs", "Answer")
    Program = apps.get_model("programs", "Program")
    lists: dict[int, dict[str, list[str]]] = {}
    for pid, key, label in (
        Answer.objects.filter(question__key__in=LISTS, option__isnull=False)
        .order_by("id")
        .values_list("participant_id", "question__key", "option__label")
        .iterator(chunk_size=BATCH)
    ):
        lists.setdefault(pid, {}).setdefault(key, []).append(label)
    people = []
    for person in Participant.objects.filter(pk__in=list(lists)).iterator(chunk_size=BATCH):
        for key, values in lists[person.pk].items():
            setattr(person, key, values)
        people.append(person)
        if len(people) >= BATCH:
            Participant.objects.bulk_update(people, LISTS)
            people.clear()
    Participant.objects.bulk_update(people, LISTS)
    for program in Program.objects.all():
        old = {r[3]: r[4] for r in RULES}
        for rule in program.match_rules.select_related("mentee_question"):
            for mentee, _mentor, _measure, key, _default in RULES:
                if rule.mentee_question.key == mentee:
                    old[key] = rule.weight
        program.match_weights = old
        program.save(update_fields=["match_weights"])
    Answer.objects.all().delete()
    apps.get_model("programs", "MatchRule").objects.all().delete()
    Question.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("programs", "0021_questions")]

    operations = [migrations.RunPython(forward, backward)]
