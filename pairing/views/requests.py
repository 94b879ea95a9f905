"""Admin: the program's mentor requests, cancelling one, pairing by hand."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from pairing import request_selectors, services
from pairing.deadlines import deadline_label
from pairing.forms import AdminPairForm
from pairing.models import MentorRequest
from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.htmx import render_page
from pairing_admin.lib.params import row_id, search_text
from pairing_admin.lib.search import words_filter
from programs.access import program_view
from programs.models import Participant, Program
from programs.selectors import NAME_FIELDS


@program_view(methods=("GET",))
def request_list(request: HttpRequest, program: Program) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in MentorRequest.Status.values else ""
    query = search_text(request.GET.get("q"))
    counts = request_selectors.request_counts(program)
    page = request_selectors.request_page(
        program, status=status, query=query, counts=counts, page_number=request.GET.get("page")
    )
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


PICKER_SIZE = 25  # people listed in each of Pair by hand's pickers; a search finds the rest


def _picked(qs, query: str, chosen_id: int | None) -> tuple[list[Participant], bool]:
    """The first PICKER_SIZE of `qs` matching the search (the chosen one first, even
    when it is not among them), and whether there are more."""
    chosen = list(qs.filter(pk=chosen_id)) if chosen_id is not None else []
    rows = list(
        qs.filter(words_filter(query, NAME_FIELDS)).exclude(pk=chosen_id)[: PICKER_SIZE + 1]
    )
    return chosen + rows[:PICKER_SIZE], len(rows) > PICKER_SIZE


@program_view(methods=("GET", "POST"))
def pair_by_hand(request: HttpRequest, program: Program) -> HttpResponse:
    """Pair a mentee with a mentor: two pickers of PICKER_SIZE people each, searched
    by name or email, so the page stays small at any program size."""
    source = request.POST or request.GET
    mentee_id, mentor_id = row_id(source.get("mentee")), row_id(source.get("mentor"))
    mentee_query, mentor_query = (
        search_text(request.GET.get("q")),
        search_text(request.GET.get("mq")),
    )
    mentees = request_selectors.unpaired_mentees(program)
    # The chosen mentee's own auto-pair proposal holds its seat for them, so
    # that mentor is listed for them (the service counts seats the same way).
    mentors = (
        request_selectors.mentors_with_room(
            program, include_unavailable=True, for_mentee_id=mentee_id
        )
        .only("id", "first_name", "last_name", "email", "capacity")
        .order_by("last_name", "first_name", "pk")
    )
    form = AdminPairForm(
        request.POST or None,
        initial={"mentee": mentee_id, "mentor": mentor_id},
        mentees=mentees,
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
    mentee_rows, more_mentees = _picked(mentees, mentee_query, mentee_id)
    mentor_rows, more_mentors = _picked(mentors, mentor_query, mentor_id)
    context = {
        "program": program,
        "form": form,
        "mentee_id": mentee_id,
        "mentor_id": mentor_id,
        "mentee_query": mentee_query,
        "mentor_query": mentor_query,
        "mentee_rows": mentee_rows,
        "mentor_rows": mentor_rows,
        "more_mentees": more_mentees,
        "more_mentors": more_mentors,
    }
    return render(request, "pairing/request_pair.html", context)
