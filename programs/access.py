"""The one place that decides what an admin may see.

Every admin view goes through `admin_view` (login + at least one membership)
and then `program_for_admin` / `organizations_for` to reach data; a view of
one program does both through `program_view` (of one organization:
`organization_view`). Membership
is read from the database on every request, so removing an admin from an
organization takes effect on their next click.
"""

from collections.abc import Callable, Sequence
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
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


def _scoped_view(find: Callable[..., object], id_name: str, methods: Sequence[str], load=None):
    """The decorator behind program_view and organization_view: `find(user, id)` or 404,
    then `load`, then the method check, so an outsider gets 404 before any 405."""
    allowed = list(methods)

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def scoped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            (owner_id,) = args or (kwargs.pop(id_name),)
            owner = find(request.user, owner_id)
            loaded = (load(owner, **kwargs),) if load else ()
            if request.method not in allowed:
                return HttpResponseNotAllowed(allowed)
            return view(request, owner, *loaded, **({} if load else kwargs))

        return admin_view(scoped)

    return decorate


def program_view(
    methods: Sequence[str] = ("GET",), *, load: Callable[..., object] | None = None
) -> Callable:
    """An admin view of one program: `view(request, program, **url_kwargs)`.

    The program comes from the URL's `program_id`, scoped to the admin's
    organizations: anyone else gets 404 before any 405 for a wrong method, so
    an outsider never learns that a URL exists. `load(program, **url_kwargs)`,
    when given, finds the row the rest of the URL names (or raises 404), also
    before the method check; the view then gets `view(request, program, row)`.
    """
    return _scoped_view(program_for_admin, "program_id", methods, load)


def organization_view(methods: Sequence[str] = ("GET",)) -> Callable:
    """An admin view of one organization: `view(request, organization, **url_kwargs)`.

    Like `program_view`: the URL's `organization_id`, scoped to the admin's
    organizations, 404 for anyone else before any 405.
    """
    return _scoped_view(organization_for_admin, "organization_id", methods)
