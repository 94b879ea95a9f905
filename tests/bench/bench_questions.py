"""Benchmark: matching on a program's own questions, beside the fixed profile, in the same run.

    .venv/bin/python tests/bench/run.py bench_questions

Two programs at each size, 10,000 mentees x 2,500 mentors and 50,000 x 12,500
(every mentor at capacity 4), holding the same people (seed_demo's records:
names, department, location, manager):

- "fixed profile", the baseline: the default questions and rules, answered
  as seed_demo answers them (skills, interests, goals): what every program
  scored before questions, and bench_autopair's synthetic instances;
- "questions": eight questions of mixed kinds, answered with a fixed seed
  (QUESTIONS below): two open multiple choices over the same 200 topics
  (what a mentor offers, what a mentee wants), a level (single choice, five
  ordered options), years of experience (a number, 0-30), a language (short
  text, in varied spellings), a time zone (single choice), a long text
  (shown, never matched) and the department (the record's). The rules
  (RULES below) use every measure: overlap of choices, same value, within a
  distance, above, and the time zone must match.

Both are built through the app's services, not timed: program_create, the
questions' edits checked by programs.match_weights.check_rule (the editor's
own check), participants in one bulk insert, answers with
programs.questions.answers_replace_many.

Timed for each program, wall and CPU time of this process:
- read: the unpaired mentees and every mentor with their answers, as
  auto-pair reads them (reading.person_rows with program_answers);
- bulk scoring: pairing.matching.top_candidates, each mentee's best 50 mentors;
- solve: the auto-pair solver on problem_for's candidate graph, each
  objective BENCH_QUESTIONS_REPEAT times (default 3; medians), and the greedy
  baseline (best pair first) on the same graph;
- click-to-staged: the admin's click (autopair_start: the run, its log
  line, the task queued on an in-memory broker) and the worker's part
  (autopair_execute, in-process: reading, scoring, the graph, solving,
  writing the proposals), for each objective; each run is discarded after.

Then a table of both programs' figures side by side with the targets of
issue #21 (at 50,000: solve <= 3 s, click-to-staged <= 10 s). Set
BENCH_QUESTIONS_SIZES=small to skip the 50,000 run. Everything made is
deleted at the end.
"""

import itertools
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
SEED = 2027
CAPACITY = 4
K = 50
TARGET_SOLVE_S = 3.0
TARGET_STAGED_S = 10.0
TABLES = ("programs_participant", "programs_answer", "pairing_pairing", "pairing_mentorrequest")

# 20 areas x 10 angles: the 200 options of both topic questions.
AREAS = [
    "Python", "SQL", "Data analysis", "Cloud", "Security", "Design", "Product", "Sales",
    "Marketing", "Finance", "Legal", "People management", "Public speaking", "Writing",
    "Negotiation", "Strategy", "Operations", "Customer success", "Research", "Accessibility",
]  # fmt: skip
ANGLES = [
    "basics", "in depth", "at scale", "for leaders", "as a career", "tooling", "reviews",
    "planning", "coaching others", "teaching",
]  # fmt: skip
TOPICS = [f"{area} {angle}" for area in AREAS for angle in ANGLES]
LEVELS = ["Entry", "Junior", "Mid-level", "Senior", "Principal"]
TIME_ZONES = [
    "UTC-8 Pacific", "UTC-5 Eastern", "UTC+0 London", "UTC+1 Central Europe",
    "UTC+2 Eastern Europe", "UTC+5:30 India", "UTC+8 Singapore", "UTC+9 Tokyo",
]  # fmt: skip
ZONE_SHARES = [6, 14, 28, 22, 8, 10, 7, 5]
# Spellings people type: the score compares them regardless of case and spaces.
LANGUAGES = {
    "English": (60, ["English", "english", "ENGLISH", " English "]),
    "French": (12, ["French", "french", "Français"]),
    "Spanish": (10, ["Spanish", "spanish"]),
    "German": (8, ["German", "german"]),
    "Portuguese": (5, ["Portuguese"]),
    "Japanese": (5, ["Japanese", "japanese"]),
}

# (key, label, text, audience, kind, extra fields): the eight questions, in order.
# Department is the default question reading the record; the others replace the defaults.
QUESTIONS = [
    ("skills", "Skills", "What can you help with?", "mentor", "multiple",
     {"open_options": True, "max_choices": 10}),
    ("goals", "Goals", "What do you want to get better at?", "mentee", "multiple",
     {"open_options": True, "max_choices": 5}),
    ("level", "Level", "Which level is your role?", "everyone", "single", {"required": True}),
    ("years", "Years of experience", "How many years have you worked?", "everyone", "number",
     {"min_value": 0, "max_value": 30}),
    ("language", "Language", "Which language would you rather meet in?", "everyone",
     "short_text", {}),
    ("time_zone", "Time zone", "Which time zone do you work in?", "everyone", "single",
     {"required": True}),
    ("about", "About you", "Anything a match should know?", "everyone", "long_text", {}),
    ("department", None, None, None, None, {}),
]  # fmt: skip
# (mentee question, mentor question, measure, distance, weight)
RULES = [
    ("goals", "skills", "overlap", None, 5),
    ("level", "level", "above", None, 3),
    ("years", "years", "above", None, 2),
    ("years", "years", "within", 10, 1),
    ("language", "language", "same", None, 2),
    ("department", "department", "same", None, 1),
    ("time_zone", "time_zone", "same", None, 10),
]


def _setup_django() -> None:
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairing_admin.settings")
    import django

    django.setup()


# --- The people ---------------------------------------------------------------------------


def _people(mentees: int, mentors: int) -> tuple[list[dict], list[dict]]:
    """seed_demo's people as they answer the default questions, and the same people (same
    records) answering the eight questions instead. Same seed, same answers."""
    from programs.management.commands.seed_demo import DEPARTMENTS, generate_people

    fixed = generate_people(mentees=mentees, mentors=mentors, seed=SEED)
    people = [{k: v for k, v in p.items() if k not in ("skills", "interests", "goals")}
              for p in fixed]  # fmt: skip
    departments = list(DEPARTMENTS)
    # Popular topics are picked far more often than the rest (Zipf-like), and each
    # department leans on two areas.
    popularity = list(itertools.accumulate(1 / (rank + 1) ** 0.8 for rank in range(len(TOPICS))))
    shuffled = random.Random(SEED).sample(TOPICS, len(TOPICS))
    spellings = [s for _, (share, forms) in LANGUAGES.items() for s in forms]
    spelling_shares = [share / len(forms) for _, (share, forms) in LANGUAGES.items() for _ in forms]
    for n, person in enumerate(people, start=1):
        rng = random.Random(f"{SEED}:questions:{person['role']}:{n}")
        mentor = person["role"] == "mentor"
        home = departments.index(person["department"]) * 2
        near = [f"{AREAS[(home + d) % len(AREAS)]} {angle}" for d in (0, 1) for angle in ANGLES]
        count = rng.randint(3, 8) if mentor else rng.randint(1, 5)
        picks: dict[str, None] = {}
        while len(picks) < count:
            if rng.random() < 0.6:
                picks[rng.choice(near)] = None
            else:
                picks[rng.choices(shuffled, cum_weights=popularity)[0]] = None
        person["skills" if mentor else "goals"] = list(picks)
        level = rng.choices(range(5), [2, 10, 30, 38, 20] if mentor else [35, 35, 20, 8, 2])[0]
        person["level"] = LEVELS[level]
        person["years"] = min(30, level * 4 + rng.randint(0, 6)) if mentor else rng.randint(0, 8)
        if rng.random() < 0.92:
            person["language"] = rng.choices(spellings, spelling_shares)[0]
        person["time_zone"] = rng.choices(TIME_ZONES, ZONE_SHARES)[0]
        if rng.random() < 0.7:
            person["about"] = (
                f"{person['years']} years in {person['department'].lower()}, "
                f"based in {person['location']}; {person['bio'][:120]}"
            )
    return fixed, people


# --- The programs -------------------------------------------------------------------------


def _questions(program) -> None:
    """Make the default questions the eight of QUESTIONS and their rules RULES, as an
    admin's edits would (each rule checked as the editor checks it)."""
    from django.db import transaction

    from programs.match_weights import check_rule
    from programs.models import MatchRule, Question, QuestionOption
    from programs.questions import bump_questions_version

    keys = [key for key, *_ in QUESTIONS]
    with transaction.atomic():
        MatchRule.objects.filter(program=program).delete()
        Question.objects.filter(program=program).exclude(key__in=keys).delete()
        by_key = {q.key: q for q in Question.objects.filter(program=program)}
        for position, (key, label, text, audience, kind, extra) in enumerate(QUESTIONS):
            q = by_key.get(key) or Question(program=program, key=key)
            if label is not None:
                q.label, q.text, q.audience, q.kind = label, text, audience, kind
                for name, value in extra.items():
                    setattr(q, name, value)
            q.position = position
            q.full_clean(exclude=["program"])
            q.save()
            by_key[key] = q
        options = {"skills": TOPICS, "goals": TOPICS, "level": LEVELS, "time_zone": TIME_ZONES}
        QuestionOption.objects.bulk_create(
            QuestionOption(question=by_key[key], label=label, position=n)
            for key, labels in options.items()
            for n, label in enumerate(labels)
        )
        rules = []
        for position, (mentee, mentor, measure, distance, weight) in enumerate(RULES):
            check_rule(
                mentee_question=by_key[mentee], mentor_question=by_key[mentor], measure=measure
            )
            rules.append(
                MatchRule(
                    program=program,
                    mentee_question=by_key[mentee],
                    mentor_question=by_key[mentor],
                    measure=measure,
                    distance=distance,
                    weight=weight,
                    position=position,
                )
            )
        MatchRule.objects.bulk_create(rules)
        bump_questions_version(program)


def _program(org, label: str, people: list[dict], *, questions: bool):
    from django.db import connection

    from programs.services import program_create
    from tests.bench.dbtools import vacuum
    from tests.bench.people import participants_create

    started = time.perf_counter()
    program = program_create(organization=org, name=f"Bench questions: {label}")
    if questions:
        _questions(program)
    rows = [
        dict(p, email=f"q{n}@bench.example.org", capacity=CAPACITY if p["role"] == "mentor" else 0)
        for n, p in enumerate(people, start=1)
    ]
    participants_create(program, rows)
    with connection.cursor() as cursor:
        # What autovacuum does after a bulk load (off on some of our machines).
        vacuum(cursor, TABLES, analyze=True)
    from programs.models import Answer

    answers = Answer.objects.filter(program=program).count()
    print(
        f"  {label}: {len(people):,} people and {answers:,} answers written through the "
        f"services in {time.perf_counter() - started:.1f} s (not timed)",
        flush=True,
    )
    return program


# --- Timing -------------------------------------------------------------------------------


@dataclass
class Figures:
    """What one program measured: (wall s, CPU s) per figure, and the runs' outcomes."""

    timed: dict[str, tuple[float, float]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def _clock(fn, *args, **kwargs):
    """fn's result and (wall s, CPU s of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, (time.perf_counter() - wall, time.process_time() - cpu)


def _measure(program, repeat: int) -> Figures:
    from pairing import autopair
    from pairing.autopair import Options
    from pairing.autopair.reading import person_rows, run_mentees_qs
    from pairing.matching import top_candidates
    from pairing_admin.celery import app
    from programs.match_weights import scheme_of
    from programs.models import Participant
    from programs.questions import program_answers

    out = Figures()
    options = Options()

    def read():
        mentees = person_rows(
            run_mentees_qs(program, options),
            answers=program_answers(program, role=Participant.Role.MENTEE),
        )
        mentors = person_rows(
            Participant.objects.mentors().filter(program=program),
            answers=program_answers(program, role=Participant.Role.MENTOR),
        )
        return mentees, mentors

    (mentees, mentors), out.timed["read"] = _clock(read)
    scheme = scheme_of(program)
    found, out.timed["bulk scoring"] = _clock(top_candidates, mentees, mentors, scheme, k=K)
    has = found.offsets[1:] > found.offsets[:-1]
    out.notes["bulk scoring"] = (
        f"{len(found.mentor):,} edges, {int((~has).sum()):,} mentees without a candidate, "
        f"mean best score {found.score[found.offsets[:-1][has]].mean():.1f}"
    )
    del found, mentees, mentors

    problem, out.timed["read + score + graph"] = _clock(autopair.problem_for, program, options)
    for objective in ("most_pairs", "quality"):
        runs = [autopair.solve(problem, objective) for _ in range(repeat)]
        out.timed[f"solve ({objective})"] = (
            statistics.median(r.seconds for r in runs),
            statistics.median(r.cpu_seconds for r in runs),
        )
        out.notes[f"solve ({objective})"] = (
            f"{runs[0].pairs:,} pairs, average score "
            f"{runs[0].total_score / max(runs[0].pairs, 1):.1f}"
        )
    greedy = autopair.solve_greedy(problem)
    out.timed["greedy solve (baseline)"] = (greedy.seconds, greedy.cpu_seconds)
    out.notes["greedy solve (baseline)"] = (
        f"{greedy.pairs:,} pairs, average score {greedy.total_score / max(greedy.pairs, 1):.1f}"
    )
    del problem

    # The click's task goes to a broker nobody reads: the worker's part runs here.
    app.conf.broker_url = "memory://"
    for objective in ("most_pairs", "quality"):

        def click(objective=objective):
            run = autopair.autopair_start(
                program=program, user=None, options=Options(objective=objective)
            )
            autopair.autopair_execute(run_id=run.pk)
            return run

        run, out.timed[f"click-to-staged ({objective})"] = _clock(click)
        run.refresh_from_db()
        assert run.status == "staged", (run.status, run.error)
        t = run.timings
        out.notes[f"click-to-staged ({objective})"] = (
            f"read+score {t['score']:.2f}, solve {t['solve']:.2f}, stage {t['stage']:.2f} s; "
            f"{run.totals['pairs']:,} pairs, average score {run.totals['average_score']}"
        )
        autopair.autopair_discard(program=program, run_id=run.pk, user=None)
    return out


def _target(label: str, big: bool) -> tuple[float | None, str]:
    if not big:
        return None, ""
    if label.startswith("solve"):
        return TARGET_SOLVE_S, f"<= {TARGET_SOLVE_S:g} s"
    if label.startswith("click-to-staged"):
        return TARGET_STAGED_S, f"<= {TARGET_STAGED_S:g} s"
    return None, ""


def _table(title: str, fixed: Figures, questions: Figures, big: bool) -> None:
    print(f"\n{title} (wall s, CPU s in brackets)", flush=True)
    print(f"  {'figure':<28}{'fixed profile':>20}{'questions':>20}{'ratio':>8}  target")
    for label, (wall, cpu) in questions.timed.items():
        base_wall, base_cpu = fixed.timed[label]
        limit, words = _target(label, big)
        verdict = ""
        if limit is not None:
            verdict = f"{words} {'met' if wall <= limit else 'MISSED'}"
        print(
            f"  {label:<28}{f'{base_wall:.2f} ({base_cpu:.2f})':>20}"
            f"{f'{wall:.2f} ({cpu:.2f})':>20}{wall / max(base_wall, 1e-9):>7.2f}x  {verdict}",
            flush=True,
        )
    for label in questions.notes:
        print(f"  {label}:\n    fixed profile: {fixed.notes[label]}\n"
              f"    questions:     {questions.notes[label]}")  # fmt: skip


def _size(mentees: int, mentors: int, repeat: int) -> None:
    from django.db import connection

    from programs.models import Organization
    from tests.bench.people import organization_drop

    title = f"{mentees:,} mentees x {mentors:,} mentors"
    print(f"\n{title}: building both programs", flush=True)
    fixed_people, question_people = _people(mentees, mentors)
    org = Organization.objects.create(name=f"Bench questions {mentees}")
    try:
        fixed = _program(org, "fixed profile", fixed_people, questions=False)
        mixed = _program(org, "questions", question_people, questions=True)
        del fixed_people, question_people
        print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
        figures = {}
        # In turn, so that a change of load falls on both alike.
        figures["fixed"] = _measure(fixed, repeat)
        figures["questions"] = _measure(mixed, repeat)
        _table(title, figures["fixed"], figures["questions"], big=mentees >= 50_000)
    finally:
        organization_drop(org)
        connection.close()


def main() -> None:
    _setup_django()
    repeat = int(os.environ.get("BENCH_QUESTIONS_REPEAT", "3"))
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall times include "
        "waiting for the CPU"
    )
    _size(10_000, 2_500, repeat)
    if os.environ.get("BENCH_QUESTIONS_SIZES") != "small":
        _size(50_000, 12_500, repeat)


if __name__ == "__main__":
    main()
