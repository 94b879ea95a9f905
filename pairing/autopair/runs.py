"""Starting and executing a run: from the admin's click to staged proposals."""

import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from pairing.autopair import runs_pg
from pairing.autopair.options import Objective, Options, RunStatus
from pairing.autopair.problem import Problem
from pairing.autopair.reading import held_back_by_paired_before, problem_for
from pairing.autopair.solver import Solution, solve, unpaired_reasons
from pairing.models import (
    AutoPairProposal,
    AutoPairRun,
    AutoPairUnpaired,
)
from pairing.tasks import autopair_execute_task
from pairing.verbs import Verb
from pairing_admin.lib.db import is_postgresql
from pairing_admin.lib.errors import DomainError
from programs.models import Program
from programs.services import activity_record

log = logging.getLogger(__name__)

# --- Services -------------------------------------------------------------------------------


def open_run(program: Program) -> AutoPairRun | None:
    return AutoPairRun.objects.filter(program=program, status__in=AutoPairRun.OPEN).first()


def _open_run_message(run: AutoPairRun) -> str:
    if run.status == RunStatus.STAGED:
        return (
            "An auto-pair run is waiting for review: confirm or discard it before starting "
            "another (its proposals hold mentors' seats)."
        )
    return "An auto-pair run is already in progress for this program."


def _describe(options: Options) -> str:
    rules = []
    if options.waitlist_only:
        rules.append("only mentees on the waitlist")
    if options.allow_paired_before:
        rules.append("allowing pairs who were paired before")
    if options.include_not_accepting:
        rules.append("including mentors not accepting requests")
    if options.avoid_shared_manager:
        rules.append("not someone with the same manager")
    if options.different_department:
        rules.append("different department")
    if options.preference_bonus:
        rules.append(f"preference bonus {options.preference_bonus}")
    label = Objective(options.objective).label
    return label + (f" ({'; '.join(rules)})" if rules else "")


def autopair_start(*, program: Program, user, options: Options) -> AutoPairRun:
    """Queue a run; the worker builds and solves it (pairing.tasks)."""
    with transaction.atomic():
        Program.objects.select_for_update().filter(pk=program.pk).first()
        existing = open_run(program)
        if existing is not None:
            raise DomainError(_open_run_message(existing))
        try:
            with transaction.atomic():
                run = AutoPairRun.objects.create(
                    program=program,
                    objective=options.objective,
                    options=options.as_json(),
                    created_by=user,
                    progress_label="Waiting for a worker",
                )
        except IntegrityError:
            raise DomainError("An auto-pair run is already in progress for this program.") from None
        activity_record(
            program=program, actor=user, verb=Verb.AUTOPAIR_RUN, detail=_describe(options)
        )
        autopair_execute_task.delay_on_commit(run.pk)
    return run


def _progress(run_id: int, percent: int, label: str) -> None:
    AutoPairRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
        progress=percent, progress_label=label
    )


def autopair_execute(*, run_id: int) -> bool:
    """Build, solve and stage a queued run. False when it was not queued (a redelivery)."""
    started_at = timezone.now()
    claimed = AutoPairRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING,
        started_at=started_at,
        progress=5,
        progress_label="Reading mentees and mentors",
    )
    if not claimed:
        return False
    run = AutoPairRun.objects.select_related("program").get(pk=run_id)
    try:
        _execute(run)
    except Exception as exc:
        log.exception("Auto-pair run %s failed", run_id)
        AutoPairRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            closed_at=timezone.now(),
        )
    return True


def _execute(run: AutoPairRun) -> None:
    options = Options.from_json(run.options)
    t0 = time.perf_counter()
    _progress(run.pk, 15, "Scoring candidate pairs")
    problem = problem_for(run.program, options)
    t1 = time.perf_counter()
    _progress(run.pk, 60, "Finding the best assignment")
    solution = solve(problem, options.objective)
    t2 = time.perf_counter()
    _progress(run.pk, 75, "Writing the proposals")
    reasons = unpaired_reasons(problem, solution, options.objective)
    totals = _totals(problem, solution, reasons)
    totals["paired_before_only"] = held_back_by_paired_before(
        run.program, options, problem, reasons
    )
    with transaction.atomic():
        locked = AutoPairRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != RunStatus.RUNNING:
            return  # discarded while we worked
        _stage(locked, problem, solution, reasons)
        t3 = time.perf_counter()
        locked.timings = {
            "score": round(t1 - t0, 3),
            "solve": round(solution.seconds, 3),
            "solve_cpu": round(solution.cpu_seconds, 3),
            "stage": round(t3 - t2, 3),
            "total": round(t3 - t0, 3),
        }
        locked.totals = totals
        locked.status = RunStatus.STAGED
        locked.progress = 100
        locked.progress_label = "Ready for review"
        locked.staged_at = timezone.now()
        locked.save(
            update_fields=[
                "timings",
                "totals",
                "status",
                "progress",
                "progress_label",
                "staged_at",
            ]
        )


def _totals(problem: Problem, solution: Solution, reasons: Mapping[int, str]) -> dict:
    by_reason: dict[str, int] = defaultdict(int)
    for reason in reasons.values():
        by_reason[reason] += 1
    ranks = problem.edge_rank[solution.chosen]
    seats = int(problem.free.sum())
    return {
        "mentees": len(problem.mentees),
        "mentors": len(problem.mentors),
        "seats": seats,
        "pairs": solution.pairs,
        "total_score": round(solution.total_score, 3),
        "average_score": round(solution.total_score / solution.pairs, 2) if solution.pairs else 0,
        "preferences_honoured": int((ranks > 0).sum()),
        "first_choices": int((ranks == 1).sum()),
        "unpaired": dict(by_reason),
        "candidate_edges": len(problem.edge_mentee),
        "all_pairs": problem.all_pairs,
        "k": problem.k,
    }


def _insert(model, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """Insert many plain rows (a list, or a generator consumed as they are sent): COPY on
    PostgreSQL (runs_pg), executemany elsewhere (bulk_create would prepare every field of
    every row in Python)."""
    if isinstance(rows, list) and not rows:
        return
    table = model._meta.db_table
    if is_postgresql():
        runs_pg.copy_rows(table, columns, rows)
        return
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(
            # Names come from the model's own metadata, values are parameters.
            f"INSERT INTO {connection.ops.quote_name(table)} ({names}) VALUES ({marks})",  # noqa: S608
            rows,
        )


def _chunked_reasons(problem: Problem, rows: list[int], cols: list[int], size: int = 2000):
    """The reasons of these pairs, worked out a chunk at a time as they are consumed."""
    for start in range(0, len(rows), size):
        yield from problem.candidates.reasons_many(
            rows[start : start + size], cols[start : start + size]
        )


def _stage(run: AutoPairRun, problem: Problem, solution: Solution, reasons) -> None:
    chosen = solution.chosen
    rows, cols = problem.edge_mentee[chosen].tolist(), problem.edge_mentor[chosen].tolist()
    encode = json.JSONEncoder().encode
    mentees, mentors = problem.mentees, problem.mentors
    # Rows are made while COPY sends them: PostgreSQL inserts the first ones
    # while the later ones are being explained, on the other core.
    proposals = (
        (run.pk, mentees[i]["id"], mentors[j]["id"], score, encode(why), rank or None, False)
        for i, j, score, rank, why in zip(
            rows,
            cols,
            problem.edge_score[chosen].tolist(),
            problem.edge_rank[chosen].tolist(),
            _chunked_reasons(problem, rows, cols),
            strict=True,
        )
    )
    _insert(
        AutoPairProposal,
        ["run_id", "mentee_id", "mentor_id", "score", "reasons", "preference_rank", "swapped"],
        proposals,
    )
    _insert(
        AutoPairUnpaired,
        ["run_id", "mentee_id", "reason"],
        [(run.pk, problem.mentees[i]["id"], str(reason)) for i, reason in reasons.items()],
    )
