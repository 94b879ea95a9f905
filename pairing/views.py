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
    return _tab(request, program_id, "unpaired")


@admin_view
def active_pairings(request: HttpRequest, program_id: int) -> HttpResponse:
    return _tab(request, program_id, "active")


@admin_view
def health(request: HttpRequest, program_id: int) -> HttpResponse:
    return _tab(request, program_id, "health")
