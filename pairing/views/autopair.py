"""Auto-pair pages: start a run, watch it, review the staged proposals, confirm or discard.

Access is checked before the method, so outsiders get 404 everywhere. Every
change is a POST answered by a redirect (works without JavaScript); the
progress fragment polls through htmx while the worker runs.
"""

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime

from pairing import autopair
from pairing.autopair import Options
from pairing.autopair import selectors as autopair_selectors
from pairing.forms import RunForm
from pairing.models import AutoPairRun, AutoPairUnpaired
from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.htmx import render_page
from pairing_admin.lib.params import search_text
from programs.access import program_view
from programs.models import Program


def _run_url(program_id: int, run_id: int) -> str:
    return reverse("pairing:autopair_run", kwargs={"program_id": program_id, "run_id": run_id})


@program_view(methods=("GET", "POST"))
def autopair_home(request: HttpRequest, program: Program) -> HttpResponse:
    """The run form, the open run if there is one, and recent runs."""
    # ?waitlist=1 (the Waitlist tab's link) starts with only the waitlist ticked.
    initial = {"waitlist_only": True} if request.GET.get("waitlist") == "1" else {}
    form = RunForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            run = autopair.autopair_start(
                program=program, user=request.user, options=form.options()
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
            status = 409
        else:
            return redirect(_run_url(program.pk, run.pk))
    elif request.method == "POST":
        status = 400
    context = {
        "program": program,
        "tab": "autopair",
        "form": form,
        "open_run": autopair.open_run(program),
        "runs": autopair_selectors.recent_runs(program),
    }
    return render_page(
        request,
        "pairing/autopair.html",
        context,
        partials={"pairing-panel": "panel"},
        status=status,
    )


def _run_or_404(program, run_id: int) -> AutoPairRun:
    run = autopair_selectors.run_for(program, run_id)
    if run is None:
        raise Http404("No such run")
    return run


@program_view(methods=("GET",))
def autopair_run(request: HttpRequest, program: Program, run_id: int) -> HttpResponse:
    """One run: its progress while it works; its proposals and unpaired mentees once staged."""
    run = _run_or_404(program, run_id)
    view = request.GET.get("view", "proposals")
    if view not in ("proposals", "unpaired"):
        view = "proposals"
    query = search_text(request.GET.get("q"))
    sort = request.GET.get("sort", "-score")
    if sort not in autopair_selectors.SORTS:
        sort = "-score"
    reason = request.GET.get("reason", "")
    context = {
        "program": program,
        "tab": "autopair",
        "run": run,
        "options": Options.from_json(run.options),
        "view": view,
        "query": query,
        "sort": sort,
        "sorts": autopair_selectors.SORT_LABELS,
        "reason": reason,
        "reasons": AutoPairUnpaired.Reason.choices,
        "low": request.GET.get("low") == "1",
        "low_score": autopair_selectors.LOW_SCORE,
        "many_mentees": autopair_selectors.MANY_MENTEES,
    }
    if run.status in (AutoPairRun.Status.STAGED,):
        context["summary"] = autopair_selectors.proposal_summary(run)
        if view == "proposals":
            context["page"] = autopair_selectors.proposals_page(
                run, query=query, sort=sort, page_number=request.GET.get("page"), low=context["low"]
            )
        else:
            context["page"] = autopair_selectors.unpaired_page(
                run, reason=reason, query=query, page_number=request.GET.get("page")
            )
    partials = {"pairing-panel": "panel", "autopair-results": "results"}
    return render_page(request, "pairing/autopair_run.html", context, partials=partials)


@program_view(methods=("GET",))
def autopair_progress(request: HttpRequest, program: Program, run_id: int) -> HttpResponse:
    """The progress fragment; once the run stops working, the page reloads itself."""
    run = _run_or_404(program, run_id)
    if not request.htmx:
        return redirect(_run_url(program.pk, run.pk))
    response = render(
        request, "pairing/autopair_run.html#progress", {"program": program, "run": run}
    )
    if not run.is_working:
        response["HX-Refresh"] = "true"
    return response


def _post_action(request, program: Program, run_id: int, action) -> HttpResponse:
    run = _run_or_404(program, run_id)
    try:
        message = action(program, run)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        if message:
            messages.success(request, message)
    return redirect(_safe_next(request, program.pk, run.pk) or _run_url(program.pk, run.pk))


def _safe_next(request, program_id: int, run_id: int) -> str:
    nxt = request.POST.get("next", "")
    return nxt if nxt.startswith(_run_url(program_id, run_id)) else ""


@program_view(methods=("POST",))
def autopair_remove(
    request: HttpRequest, program: Program, run_id: int, mentee_id: int
) -> HttpResponse:
    def action(program, run):
        autopair.proposal_remove(program=program, run_id=run.pk, mentee_id=mentee_id)
        return "Proposal removed; the mentee is in the unpaired list."

    return _post_action(request, program, run_id, action)


@program_view(methods=("GET", "POST"))
def autopair_mentor(
    request: HttpRequest, program: Program, run_id: int, mentee_id: int
) -> HttpResponse:
    """Choose another mentor (with a free seat) for a mentee of a staged run."""
    run = _run_or_404(program, run_id)
    mentee, proposal = autopair_selectors.run_mentee(run, mentee_id)
    if mentee is None:
        raise Http404("That mentee is not part of this run")
    if request.method == "POST":
        try:
            mentor_id = int(request.POST.get("mentor", ""))
        except ValueError:
            messages.error(request, "Choose a mentor.")
            return redirect(request.path)
        try:
            chosen = autopair.proposal_set_mentor(
                program=program, run_id=run.pk, mentee_id=mentee.pk, mentor_id=mentor_id
            )
        except DomainError as exc:
            messages.error(request, str(exc))
            return redirect(request.path)
        messages.success(
            request, f"{mentee.full_name} is now proposed with {chosen.mentor.full_name}."
        )
        if chosen.paired_before:
            ended = localtime(chosen.paired_before, ZoneInfo(program.organization.timezone))
            messages.warning(
                request,
                f"{mentee.full_name} and {chosen.mentor.full_name} were paired before in this "
                f"program (ended {date_format(ended, 'j M Y')}).",
            )
        return redirect(_run_url(program.pk, run.pk))
    query = search_text(request.GET.get("q"))
    context = {
        "program": program,
        "tab": "autopair",
        "run": run,
        "mentee": mentee,
        "proposal": proposal,
        "query": query,
        "here": request.path,
        "mentors": autopair_selectors.mentors_to_swap_in(run, mentee, query=query)
        if run.status == AutoPairRun.Status.STAGED
        else [],
    }
    partials = {"swap-results": "results"}
    return render_page(request, "pairing/autopair_mentor.html", context, partials=partials)


@program_view(methods=("POST",))
def autopair_confirm(request: HttpRequest, program: Program, run_id: int) -> HttpResponse:
    def action(program, run):
        result = autopair.autopair_confirm(program=program, run_id=run.pk, user=request.user)
        text = f"Created {result.created} pairing{'s' if result.created != 1 else ''}."
        if result.skipped:
            text += f" {len(result.skipped)} proposal(s) no longer fitted and were skipped (listed below)."
        return text

    return _post_action(request, program, run_id, action)


@program_view(methods=("POST",))
def autopair_discard(request: HttpRequest, program: Program, run_id: int) -> HttpResponse:
    def action(program, run):
        autopair.autopair_discard(program=program, run_id=run.pk, user=request.user)
        return "Run discarded; its proposals no longer hold any seats."

    return _post_action(request, program, run_id, action)
