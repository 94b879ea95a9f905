from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.htmx import render_page
from pairing_admin.lib.pagination import page_by_ids
from pairing_admin.lib.params import search_text
from programs import selectors, services
from programs.access import program_view
from programs.forms import ParticipantForm
from programs.models import Participant, Program
from programs.questions import questions_of

PAGE_SIZE = 50


@program_view(methods=("GET", "HEAD"))
def participant_list(request: HttpRequest, program: Program) -> HttpResponse:
    query = search_text(request.GET.get("q"))
    role = request.GET.get("role", "")
    ids = selectors.participant_search(program, query=query, role=role).values_list("pk", flat=True)
    known = None if query else selectors.participant_count(program, role=role)
    rows = Participant.objects.order_by("last_name", "first_name", "id")
    page = page_by_ids(ids, rows, PAGE_SIZE, request.GET.get("page"), count=known)
    context = {
        "program": program,
        "page": page,
        "query": query,
        "role": role if role in Participant.Role.values else "",
        "roles": Participant.Role.choices,
    }
    return render_page(
        request,
        "programs/participant_list.html",
        context,
        partials={"participant-results": "results"},
    )


@program_view(methods=("GET", "POST"))
def participant_edit(request: HttpRequest, program: Program, participant_id: int) -> HttpResponse:
    participant = get_object_or_404(Participant, program=program, pk=participant_id)
    form = ParticipantForm(
        request.POST or None, instance=participant, questions=questions_of(program)
    )
    if request.method == "POST" and form.is_valid():
        participant.refresh_from_db()
        try:
            services.participant_update(
                participant=participant,
                user=request.user,
                answers=form.answer_values,
                **form.changed_record,
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{participant.full_name} saved.")
            return redirect("programs:participants", program_id=program.pk)
    return render(
        request,
        "programs/participant_form.html",
        {"program": program, "participant": participant, "form": form},
    )
