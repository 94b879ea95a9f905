"""Pages mentees and mentors open from the links in their emails (no login).

GET and HEAD only look; a POST from the page is the only thing that acts.
Unknown, tampered, expired or cross-purpose links all get one neutral page.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from invitations.links import Purpose, link_resolve, token_page


def _neutral(request: HttpRequest) -> HttpResponse:
    return render(request, "pairing/link_invalid.html", status=404)


@require_safe
@token_page
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    resolved = link_resolve(token)
    if resolved.problem or resolved.link.purpose != Purpose.PREFERENCES:
        return _neutral(request)
    link = resolved.link
    return render(
        request,
        "pairing/preferences_placeholder.html",
        {"participant": link.participant, "program": link.program},
    )


@require_safe
@token_page
def request_link(request: HttpRequest, token: str) -> HttpResponse:
    return _neutral(request)


@require_safe
@token_page
def session_link(request: HttpRequest, token: str) -> HttpResponse:
    return _neutral(request)
