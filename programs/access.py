"""The one place that decides what an admin may see.

Every admin view goes through `admin_view` (login + at least one membership)
and then `program_for_admin` / `organizations_for` to reach data. Membership
is read from the database on every request, so removing an admin from an
organization takes effect on their next click.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from programs.models import Organization, Program


def organizations_for(user) -> QuerySet[Organization]:
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(memberships__user=user)


def programs_for(user) -> QuerySet[Program]:
    if not user.is_authenticated:
        return Program.objects.none()
    return Program.objects.filter(organization__memberships__user=user)


def program_for_admin(user, program_id: int, *, for_update: bool = False) -> Program:
    """The program if the user administers its organization; 404 otherwise.

    404 rather than 403, so an outsider cannot even learn the id exists.
    """
    qs = programs_for(user).select_related("organization")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=program_id)
    except Program.DoesNotExist:
        raise Http404("No such program") from None


def organization_for_admin(user, organization_id: int) -> Organization:
    try:
        return organizations_for(user).get(pk=organization_id)
    except Organization.DoesNotExist:
        raise Http404("No such organization") from None


def admin_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login required, and the user must belong to at least one organization."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not organizations_for(request.user).exists():
            return render(request, "programs/no_organization.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper
