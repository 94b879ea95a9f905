"""The Pairing page's pairing tabs: Unpaired Mentees, Active Pairings, Health.

Each tab is one URL: the whole Pairing page, or only the tab's panel when
htmx asks for it (target "pairing-panel"). Until mentor requests and pairings
exist they show what will appear there and what to do first.
"""

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render

from pairing import selectors
from programs.access import admin_view, program_for_admin


def _tab(request: HttpRequest, program_id: int, tab: str) -> HttpResponse:
    program = program_for_admin(request.user, program_id)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    template = f"pairing/{tab}.html"
    if request.htmx and request.htmx.target == "pairing-panel":
        template += "#panel"
    context = {"program": program, "tab": tab, "overview": selectors.pairing_overview(program)}
    return render(request, template, context)


@admin_view
def unpaired_mentees(request: HttpRequest, program_id: int) -> HttpResponse:
    """Unpaired Mentees: sub-tabs with live counts, search, 50 rows a page.

    htmx asks for the whole panel (tab switch) or only the results (search,
    sub-tab, page); without JavaScript every link and form reloads the page.
    """
    program = program_for_admin(request.user, program_id)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    sub = request.GET.get("sub", "")
    if sub not in selectors.SUB_TABS:
        sub = selectors.NOT_INVITED
    query = request.GET.get("q", "").strip()[:100]
    context = {
        "program": program,
        "tab": "unpaired",
        "sub": sub,
        "sub_tabs": selectors.SUB_TABS,
        "sub_label": selectors.SUB_TABS[sub],
        "query": query,
        "counts": selectors.unpaired_counts(program),
        "page": selectors.unpaired_page(
            program, sub=sub, query=query, page_number=request.GET.get("page")
        ),
        "ability": selectors.invite_ability(program),
    }
    template = "pairing/unpaired.html"
    target = request.htmx.target if request.htmx else None
    template += {"pairing-panel": "#panel", "unpaired-results": "#results"}.get(target, "")
    return render(request, template, context)


@admin_view
def active_pairings(request: HttpRequest, program_id: int) -> HttpResponse:
    return _tab(request, program_id, "active")


@admin_view
def health(request: HttpRequest, program_id: int) -> HttpResponse:
    return _tab(request, program_id, "health")
