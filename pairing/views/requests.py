"""Admin: the program's mentor requests, cancelling one, pairing by hand."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from pairing import request_selectors, services
from pairing.deadlines import deadline_label
from pairing.forms import AdminPairForm
from pairing.models import MentorRequest
from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.htmx import render_page
from pairing_admin.lib.params import row_id, search_text
from programs.access import program_view
from programs.models import Participant, Program

PAGE_SIZE = 50


@program_view(methods=("GET",))
def request_list(request: HttpRequest, program: Program) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in MentorRequest.Status.values else ""
    query = search_text(request.GET.get("q"))
    requests = request_selectors.request_list(program, status=status, query=query)
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = request_selectors.request_counts(program)
    zone = program.organization.timezone
    rows = [(r, deadline_label(r.expires_at, zone)) for r in page.object_list]
    context = {
        "program": program,
        "page": page,
        "rows": rows,
        "status": status,
        "query": query,
        "statuses": MentorRequest.Status.choices,
        "count_rows": [(label, counts[value]) for value, label in MentorRequest.Status.choices],
    }
    partials = {"request-results": "results"}
    return render_page(request, "pairing/requests.html", context, partials=partials)


@program_view(methods=("POST",))
def request_cancel(request: HttpRequest, program: Program, request_id: int) -> HttpResponse:
    try:
        cancelled = services.request_cancel(
            program=program, request_id=request_id, user=request.user
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Cancelled {cancelled.mentee.full_name}'s request to {cancelled.mentor.full_name}. "
            f"We've emailed {cancelled.mentee.first_name or cancelled.mentee.full_name} a link "
            "to choose again.",
        )
    return redirect("requests:list", program_id=program.pk)


_id_or_none = row_id


@program_view(methods=("GET", "POST"))
def pair_by_hand(request: HttpRequest, program: Program) -> HttpResponse:
    initial = {}
    if request.GET.get("mentee"):
        initial["mentee"] = request.GET["mentee"]
    # The chosen mentee's own auto-pair proposal holds its seat for them, so
    # that mentor is listed for them (the service counts seats the same way).
    mentee_id = (request.POST or request.GET).get("mentee", "")
    mentors = (
        request_selectors.mentors_with_room(
            program, include_unavailable=True, for_mentee_id=_id_or_none(mentee_id)
        )
        .only("id", "first_name", "last_name", "email", "capacity")
        .order_by("first_name", "last_name", "pk")
    )
    form = AdminPairForm(
        request.POST or None,
        initial=initial,
        mentees=request_selectors.unpaired_mentees(program),
        mentors=mentors,
    )
    if request.method == "POST" and form.is_valid():
        mentee: Participant = form.cleaned_data["mentee"]
        mentor: Participant = form.cleaned_data["mentor"]
        try:
            services.pairing_create_by_admin(
                program=program,
                mentee_id=mentee.pk,
                mentor_id=mentor.pk,
                user=request.user,
                anyway=form.cleaned_data["anyway"],
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Paired {mentee.full_name} with {mentor.full_name}. "
                "We're emailing them both their Mentorship Assignments.",
            )
            return redirect("requests:list", program_id=program.pk)
    return render(request, "pairing/request_pair.html", {"program": program, "form": form})
