"""The Pairing page's pairing tabs: Unpaired Mentees, Active Pairings, Health.

Each tab is one URL: the whole Pairing page, or only the tab's panel when
htmx asks for it (target "pairing-panel"). Until mentor requests and pairings
exist they show what will appear there and what to do first.
"""

from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import dateformat

from pairing import health as monitor_health
from pairing import selectors
from pairing.forms import filter_query, monitor_filters
from pairing.models import Pairing
from pairing_admin.lib.htmx import render_page
from pairing_admin.lib.params import search_text
from programs.access import program_view
from programs.models import Program


@program_view(methods=("GET",))
def unpaired_mentees(request: HttpRequest, program: Program) -> HttpResponse:
    """Unpaired Mentees: sub-tabs with live counts, search, 50 rows a page.

    htmx asks for the whole panel (tab switch) or only the results (search,
    sub-tab, page); without JavaScript every link and form reloads the page.
    """
    sub = request.GET.get("sub", "")
    if sub not in selectors.SUB_TABS:
        sub = selectors.NOT_INVITED
    query = search_text(request.GET.get("q"))
    counts = selectors.unpaired_counts(program)
    context = {
        "program": program,
        "tab": "unpaired",
        "sub": sub,
        "sub_tabs": selectors.SUB_TABS,
        "sub_label": selectors.SUB_TABS[sub],
        "query": query,
        "counts": counts,
        "page": selectors.unpaired_page(
            program, sub=sub, query=query, page_number=request.GET.get("page"), counts=counts
        ),
        "ability": selectors.invite_ability(program),
    }
    partials = {"pairing-panel": "panel", "unpaired-results": "results"}
    return render_page(request, "pairing/unpaired.html", context, partials=partials)


@program_view(methods=("GET",))
def active_pairings(request: HttpRequest, program: Program) -> HttpResponse:
    """Active Pairings: search, health filter, sortable columns, 50 rows a page.

    htmx asks for the whole panel (tab switch) or only the results (search,
    sort, page); without JavaScript every link and form reloads the page.
    """
    filters = monitor_filters(request)
    rules = monitor_health.rules_for(program)
    sort_key, descending = monitor_health.parse_sort(filters["sort"])
    headers = []
    for key, label in monitor_health.SORT_LABELS.items():
        current = key == sort_key
        flip = f"{key}" if current and descending else f"-{key}" if current else key
        link = filter_query({**filters, "sort": flip})
        aria = ("descending" if descending else "ascending") if current else ""
        headers.append({"key": key, "label": label, "query": link, "aria_sort": aria})
    page = monitor_health.active_page(
        program, page_number=request.GET.get("page"), rules=rules, **filters
    )
    rows = _rows(program, page.object_list)
    context = {
        "program": program,
        "tab": "active",
        "headers": headers,
        "filters": filters,
        "sort_key": sort_key,
        "descending": descending,
        "health_labels": monitor_health.HEALTH_LABELS,
        "health_label": monitor_health.HEALTH_LABELS.get(filters["health"], ""),
        "page": page,
        "rows": rows,
        "query_string": filter_query(filters),
    }
    partials = {"pairing-panel": "panel", "active-results": "results"}
    return render_page(request, "pairing/active.html", context, partials=partials)


def _rows(program: Program, pairings) -> list[dict[str, object]]:
    """Each row's cells, worked out here: the template only places them.

    Fifty rows of lookups through pairing.mentee.full_name, date filters and
    reverse() were most of the page's time at a real program's size (the SQL
    takes a few milliseconds). The links come from one reversed URL each.
    """
    zone = ZoneInfo(program.organization.timezone)
    origins = {value: str(label) for value, label in Pairing.Origin.choices}
    health_words = monitor_health.HEALTH_LABELS
    too_early = health_words[monitor_health.TOO_EARLY]
    links = {}
    for name in ("pairing:detail", "pairing:end"):
        url = reverse(name, kwargs={"program_id": program.pk, "pairing_id": 0})
        links[name] = url.rpartition("/0/")[::2]
    (detail_head, detail_tail), (end_head, end_tail) = links.values()
    rows = []
    for pairing in pairings:
        rows.append(
            {
                "pk": pairing.pk,
                "mentee": pairing.mentee.full_name,
                "mentor": pairing.mentor.full_name,
                "detail_url": f"{detail_head}/{pairing.pk}/{detail_tail}",
                "end_url": f"{end_head}/{pairing.pk}/{end_tail}",
                "started": dateformat.format(pairing.started_at.astimezone(zone), "j M Y"),
                "origin": origins.get(pairing.origin, pairing.origin),
                "sessions_done": pairing.sessions_done,
                "last_session": (
                    dateformat.format(pairing.last_session, "j M Y") if pairing.last_session else ""
                ),
                "health": pairing.health,
                "health_words": health_words.get(pairing.health, too_early),
            }
        )
    return rows


@program_view(methods=("GET",))
def health(request: HttpRequest, program: Program) -> HttpResponse:
    """Monitor Health: live figures, the pairings that need a check-in, two charts."""
    context = {
        "program": program,
        "tab": "health",
        "summary": monitor_health.health_summary(program),
    }
    return render_page(request, "pairing/health.html", context, partials={"pairing-panel": "panel"})
