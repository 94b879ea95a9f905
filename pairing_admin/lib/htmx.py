"""One URL answers with the whole page or the fragment htmx asks for.

htmx names the element it will swap in `HX-Target`; the view maps that id
to a template partial. The answer varies with both headers, so a browser or
proxy cache never serves a fragment for the page or the other way round.
"""

from collections.abc import Mapping

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

VARY = ("HX-Request", "HX-Target")


def render_page(
    request: HttpRequest,
    template: str,
    context: Mapping,
    *,
    partials: Mapping[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """`template`, or its partial `partials[target]` when htmx targets one of those ids."""
    target = request.htmx.target if request.htmx else None
    partial = (partials or {}).get(target)
    name = f"{template}#{partial}" if partial else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, VARY)
    return response
