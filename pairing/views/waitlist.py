"""The Pairing page's Waitlist tab: who waits, in offer order; add, remove, export.

One URL serves the whole Pairing page, the tab's panel (htmx target "pairing-panel"), only
the results (search, pages) or only the tab's count (loaded by the other tabs after they
render). GET only reads; every change is a POST that redirects, so it all works without
JavaScript. The rules (who may wait, the order, offering seats) live in pairing.waitlist.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from pairing import export, selectors, waitlist
from pairing.forms import AddForm
from pairing.models import WaitlistEntry
from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.htmx import render_page
from pairing_admin.lib.params import row_id, search_text
from programs.access import program_view
from programs.models import Participant, Program

# Mentees offered in the add form's list at once; a search narrows it.
CANDIDATES_SHOWN = 100
TEMPLATE = "pairing/waitlist.html"


def _url(program: Program, name: str = "waitlist") -> str:
    return reverse(f"pairing:{name}", kwargs={"program_id": program.pk})


def _back(request: HttpRequest, program: Program) -> str:
    """Where a Remove came from (the tab with its search and page), else the tab."""
    back = request.POST.get("next", "")
    ok = url_has_allowed_host_and_scheme(back, allowed_hosts=None) and back.startswith(
        _url(program)
    )
    return back if ok else _url(program)


@program_view(methods=("GET",))
def waitlist_tab(request: HttpRequest, program: Program) -> HttpResponse:
    """Waitlist: "N waiting, M seats free", search, 50 rows a page, Remove per row."""
    target = request.htmx.target if request.htmx else None
    if target == "waitlist-count":
        context = {"waitlist_count": selectors.waiting_count(program)}
        return render_page(request, "programs/_pairing_tabs.html#waitlist_count", context)
    query = search_text(request.GET.get("q"))
    summary = waitlist.waiting_summary(program)
    context = {
        "program": program,
        "tab": "waitlist",
        "query": query,
        "summary": summary,
        "waitlist_count": summary["waiting"],
        "page": selectors.waitlist_page(program, query=query, page_number=request.GET.get("page")),
    }
    partials = {"pairing-panel": "panel", "waitlist-results": "results"}
    return render_page(request, TEMPLATE, context, partials=partials)


@program_view(methods=("GET", "POST"))
def waitlist_add(request: HttpRequest, program: Program) -> HttpResponse:
    """GET: the form (a list of mentees who could join, narrowed by a search). POST: add one."""
    source = request.POST if request.method == "POST" else request.GET
    query = search_text(source.get("q"))
    form = AddForm(request.POST or None, program=program)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            mentee = form.cleaned_data["mentee"]
            first = form.cleaned_data["place"] == "first"
            try:
                waitlist.waitlist_join(mentee=mentee, user=request.user, first=first)
            except DomainError as exc:
                form.add_error(None, str(exc))
                status = 409
            else:
                messages.success(request, _joined_message(mentee))
                return redirect(_url(program))
    candidates = list(selectors.add_candidates(program, query=query)[: CANDIDATES_SHOWN + 1])
    context = {
        "program": program,
        "tab": "waitlist",
        "adding": True,
        "form": form,
        "query": query,
        "candidates": candidates[:CANDIDATES_SHOWN],
        "more_candidates": len(candidates) > CANDIDATES_SHOWN,
        "chosen_id": row_id(request.POST.get("mentee")),
        "waitlist_count": selectors.waiting_count(program),
    }
    return render_page(request, TEMPLATE, context, partials={"pairing-panel": "add"}, status=status)


def _joined_message(mentee: Participant) -> str:
    entry = WaitlistEntry.objects.filter(mentee=mentee).first()
    if entry is None:
        # waitlist_join offers a free seat at once (user-led programs): the
        # mentee got a request or a pairing instead of a place in line.
        return (
            f"A mentor had room, so {mentee.full_name} was offered a seat at once instead of "
            "waiting. See the Requests page or Active Pairings."
        )
    place = waitlist.position_of(entry)
    return f"{mentee.full_name} is on the waitlist, position {place:,}."


@program_view(methods=("POST",))
def waitlist_remove(request: HttpRequest, program: Program, mentee_id: int) -> HttpResponse:
    """Take a mentee off the waitlist (POST only); they keep no place in line."""
    mentee = get_object_or_404(Participant.objects.mentees(), program=program, pk=mentee_id)
    if waitlist.waitlist_leave(mentee=mentee, user=request.user):
        messages.success(request, f"{mentee.full_name} was removed from the waitlist.")
    else:
        messages.info(
            request,
            f"{mentee.full_name} was no longer on the waitlist (they may just have been "
            "offered a seat); nothing changed.",
        )
    back = _back(request, program)
    return HttpResponseClientRedirect(back) if request.htmx else redirect(back)


@program_view(methods=("GET", "HEAD"))
def export_waitlist(request: HttpRequest, program: Program) -> HttpResponse:
    """The waitlist as CSV, in offer order (the whole list, whatever the tab's search)."""
    body = export.waitlist_export(program)
    return export.csv_response(export.filename_for(program, "waitlist"), body)
