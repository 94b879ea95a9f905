"""Auto-pair runs over their life: cancelled while queued or running, queued after commit,
and the program's match weights reaching the run through the database.

Helpers: tests/support/autopair.py.
"""

from django.urls import reverse

from pairing import autopair, seats
from pairing.autopair import Options
from pairing.models import AutoPairProposal, AutoPairRun, AutoPairUnpaired
from pairing.tasks import autopair_execute_task
from programs.match_weights import MUST_MATCH, match_weights_update, program_rules
from programs.models import ActivityEvent
from tests.support.autopair import skilled_mentee, skilled_mentor

Status = AutoPairRun.Status
Reason = AutoPairUnpaired.Reason

CANCEL_BUTTON = b"Cancel this run"


def _pairs(run):
    return {(p.mentee_id, p.mentor_id) for p in run.proposals.all()}


def _kwargs(run):
    return {"program_id": run.program_id, "run_id": run.pk}


def _queued(program, user, django_capture_on_commit_callbacks, **options):
    """A run started but not yet taken by a worker: (run, the captured on-commit callbacks)."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = autopair.autopair_start(program=program, user=user, options=Options(**options))
    run.refresh_from_db()
    assert run.status == Status.QUEUED
    assert len(callbacks) == 1  # the task, handed over on commit
    return run, callbacks


def _staged(program, user, django_capture_on_commit_callbacks, **options):
    with django_capture_on_commit_callbacks(execute=True):
        run = autopair.autopair_start(program=program, user=user, options=Options(**options))
    run.refresh_from_db()
    return run


def _assert_cancelled_and_holds_nothing(run, user, mentor):
    run.refresh_from_db()
    assert run.status == Status.DISCARDED
    assert run.closed_by == user and run.closed_at is not None
    assert run.staged_at is None and run.totals == {}
    assert not AutoPairProposal.objects.filter(run=run).exists()
    assert not AutoPairUnpaired.objects.filter(run=run).exists()
    assert autopair.open_run(run.program) is None
    assert seats.seats_free(run, [mentor.pk]) == {mentor.pk: mentor.capacity}
    discarded = ActivityEvent.objects.filter(program=run.program, verb="autopair_discarded")
    assert [(e.actor, e.detail) for e in discarded] == [(user, "Discarded 0 proposed pairs")]


def _next_run_gets_the_seat(program, user, django_capture_on_commit_callbacks, mentee, mentor):
    """The cancelled run holds nothing: a new run starts and proposes the same mentor."""
    run = _staged(program, user, django_capture_on_commit_callbacks)
    assert run.status == Status.STAGED
    assert _pairs(run) == {(mentee.pk, mentor.pk)}


# --- 1. Cancelling a run that is queued or running ------------------------------------


def test_cancelling_a_queued_run_from_its_page_stages_nothing_even_when_the_task_comes_later(
    program, org_admin, org_admin_client, django_capture_on_commit_callbacks
):
    mentee = skilled_mentee(program)
    mentor = skilled_mentor(program)
    run, callbacks = _queued(program, org_admin, django_capture_on_commit_callbacks)
    page = org_admin_client.get(reverse("pairing:autopair_run", kwargs=_kwargs(run)))
    cancel_url = reverse("pairing:autopair_discard", kwargs=_kwargs(run))
    assert CANCEL_BUTTON in page.content
    assert f'action="{cancel_url}"'.encode() in page.content

    # A GET is refused and changes nothing.
    assert org_admin_client.get(cancel_url).status_code == 405
    run.refresh_from_db()
    assert run.status == Status.QUEUED and run.closed_at is None
    assert not ActivityEvent.objects.filter(verb="autopair_discarded").exists()

    response = org_admin_client.post(cancel_url, follow=True)
    assert response.redirect_chain[-1][0].endswith(f"/auto-pair/{run.pk}/")
    assert b"Run discarded; its proposals no longer hold any seats." in response.content
    assert b"This run was discarded" in response.content
    assert CANCEL_BUTTON not in response.content
    _assert_cancelled_and_holds_nothing(run, org_admin, mentor)

    # The worker picks the task up after the cancel: it finds the run no longer queued.
    for callback in callbacks:
        callback()
    _assert_cancelled_and_holds_nothing(run, org_admin, mentor)
    assert autopair.autopair_execute(run_id=run.pk) is False
    _assert_cancelled_and_holds_nothing(run, org_admin, mentor)

    _next_run_gets_the_seat(program, org_admin, django_capture_on_commit_callbacks, mentee, mentor)


def test_cancelling_a_run_while_it_solves_stages_nothing(
    program, org_admin, org_admin_client, django_capture_on_commit_callbacks, monkeypatch
):
    mentee = skilled_mentee(program)
    mentor = skilled_mentor(program)
    run, callbacks = _queued(program, org_admin, django_capture_on_commit_callbacks)
    cancel_url = reverse("pairing:autopair_discard", kwargs=_kwargs(run))
    real_solve = autopair.runs.solve
    seen = []

    def solve_after_a_cancel(problem, objective):
        # The admin presses "Cancel this run" while the worker is solving.
        during = AutoPairRun.objects.get(pk=run.pk)
        page = org_admin_client.get(reverse("pairing:autopair_run", kwargs=_kwargs(run)))
        assert org_admin_client.get(cancel_url).status_code == 405
        still = AutoPairRun.objects.get(pk=run.pk).status
        response = org_admin_client.post(cancel_url)
        seen.append((during.status, CANCEL_BUTTON in page.content, still, response.status_code))
        return real_solve(problem, objective)

    monkeypatch.setattr(autopair.runs, "solve", solve_after_a_cancel)
    for callback in callbacks:  # the worker takes the task
        callback()

    assert seen == [(Status.RUNNING, True, Status.RUNNING, 302)]
    # Neither staged over the cancel, nor marked failed: discarded, holding nothing.
    _assert_cancelled_and_holds_nothing(run, org_admin, mentor)
    assert run.error == ""

    monkeypatch.setattr(autopair.runs, "solve", real_solve)
    _next_run_gets_the_seat(program, org_admin, django_capture_on_commit_callbacks, mentee, mentor)


# --- 2. Starting a run never blocks the request ---------------------------------------


def test_the_run_form_answers_at_once_and_hands_the_task_over_on_commit(
    program, org_admin_client, django_capture_on_commit_callbacks, monkeypatch
):
    mentee = skilled_mentee(program)
    mentor = skilled_mentor(program)
    handed = []
    real_apply_async = autopair_execute_task.apply_async

    def spy(args=None, kwargs=None, **options):
        handed.append(tuple(args or ()))
        return real_apply_async(args, kwargs, **options)

    monkeypatch.setattr(autopair_execute_task, "apply_async", spy)
    url = reverse("pairing:autopair", kwargs={"program_id": program.pk})

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = org_admin_client.post(url, {"objective": "most_pairs", "preference_bonus": "10"})

    run = AutoPairRun.objects.get(program=program)
    assert response.status_code == 302
    assert response.url == reverse("pairing:autopair_run", kwargs=_kwargs(run))
    # Answered before any work: queued, no proposals, the task not even handed over yet.
    assert run.status == Status.QUEUED and run.started_at is None
    assert run.progress_label == "Waiting for a worker"
    assert not run.proposals.exists() and not run.unpaired.exists()
    assert handed == []
    assert len(callbacks) == 1
    assert ActivityEvent.objects.filter(program=program, verb="autopair_run").count() == 1
    page = org_admin_client.get(response.url)
    assert b"Waiting for a worker" in page.content and CANCEL_BUTTON in page.content

    # On commit the task is handed over (and, run inline here, stages the run).
    callbacks[0]()
    assert handed == [(run.pk,)]
    run.refresh_from_db()
    assert run.status == Status.STAGED and run.progress == 100
    assert _pairs(run) == {(mentee.pk, mentor.pk)}


# --- 3. The program's match weights, read from the database ----------------------------


def test_a_must_match_weight_saved_on_the_program_changes_who_is_proposed(
    program, org_admin, django_capture_on_commit_callbacks
):
    mentee = skilled_mentee(
        program, goals=["python", "sql", "go"], department="Eng", location="Paris"
    )
    expert = skilled_mentor(
        program, skills=["python", "sql", "go"], department="Ops", location="Oslo"
    )
    colleague = skilled_mentor(program, skills=[], department="Eng", location="Oslo")

    before = _staged(program, org_admin, django_capture_on_commit_callbacks)
    assert _pairs(before) == {(mentee.pk, expert.pk)}  # the better score under the defaults
    autopair.autopair_discard(program=program, run_id=before.pk, user=org_admin)

    weights = {
        rule.pk: MUST_MATCH if rule.mentee_question.key == "department" else rule.weight
        for rule in program_rules(program)
    }
    assert match_weights_update(program=program, weights=weights, user=org_admin)

    after = _staged(program, org_admin, django_capture_on_commit_callbacks)
    assert _pairs(after) == {(mentee.pk, colleague.pk)}
    assert expert.pk not in {mentor for _, mentor in _pairs(after)}


def test_quality_says_no_candidate_adds_any_match_score_for_a_mentee_whose_pairs_score_zero(
    program, org_admin, org_admin_client, django_capture_on_commit_callbacks
):
    mentor = skilled_mentor(program, skills=["python"], department="Ops", location="Oslo")
    scored = skilled_mentee(program, goals=["python"], department="Eng", location="Paris")
    zero = skilled_mentee(program, goals=["knitting"], department="Eng", location="Paris")

    run = _staged(program, org_admin, django_capture_on_commit_callbacks, objective="quality")
    assert run.status == Status.STAGED
    assert _pairs(run) == {(scored.pk, mentor.pk)}
    row = AutoPairUnpaired.objects.get(run=run)
    assert row.mentee_id == zero.pk and row.reason == Reason.NO_SCORE
    assert row.get_reason_display() == "No candidate adds any match score"
    assert run.totals["unpaired"] == {"no_score": 1}
    page = org_admin_client.get(
        reverse("pairing:autopair_run", kwargs=_kwargs(run)) + "?view=unpaired"
    )
    assert b"No candidate adds any match score" in page.content

    # The same people under "most pairs": the zero-score mentee simply lost the seat.
    autopair.autopair_discard(program=program, run_id=run.pk, user=org_admin)
    most = _staged(program, org_admin, django_capture_on_commit_callbacks)
    assert _pairs(most) == {(scored.pk, mentor.pk)}
    assert AutoPairUnpaired.objects.get(run=most).reason == Reason.NOT_CHOSEN
