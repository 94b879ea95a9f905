import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.htmx import render_page
from pairing_admin.lib.pagination import page_by_ids
from pairing_admin.lib.params import row_id, search_text
from programs import selectors, services
from programs.access import program_view
from programs.forms import ParticipantForm
from programs.models import Participant, Program, Question
from programs.questions import questions_of
from programs.selectors import AnswerFilter

PAGE_SIZE = 50
# A number filter: a whole number the answer column (a 32-bit integer) can hold.
_WHOLE = re.compile(r"-?[0-9]{1,9}")


@dataclass
class AnswerFilters:
    """The list's filters on answers, read from the query string: a select per choice
    question (`q_<key>=<option id>`), a range per number question (`min_<key>`,
    `max_<key>`). What cannot be read is left out, and `problems` says so."""

    choices: list[tuple[Question, int | None]] = field(default_factory=list)
    numbers: list[tuple[Question, str, str]] = field(default_factory=list)
    applied: list[AnswerFilter] = field(default_factory=list)
    params: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def answer_filters(questions: Sequence[Question], given: Mapping[str, str]) -> AnswerFilters:
    found = AnswerFilters()
    for q in questions:
        if q.profile_field:
            continue
        if q.is_choice and q.option_list:
            found.choices.append((q, _option_picked(q, given, found)))
        elif q.kind == Question.Kind.NUMBER:
            low = _number(q, f"min_{q.key}", given, found)
            high = _number(q, f"max_{q.key}", given, found)
            found.numbers.append((q, low, high))
            if low or high:
                found.applied.append(
                    AnswerFilter(q, low=int(low) if low else None, high=int(high) if high else None)
                )
    return found


def _option_picked(q: Question, given: Mapping[str, str], found: AnswerFilters) -> int | None:
    name = f"q_{q.key}"
    text = str(given.get(name) or "").strip()
    if not text:
        return None
    option = row_id(text)
    if option not in {o.pk for o in q.option_list}:
        found.problems.append(f"“{q.label}” has no such option: that filter was left out.")
        return None
    found.applied.append(AnswerFilter(q, option_id=option))
    found.params.append((name, str(option)))
    return option


def _number(q: Question, name: str, given: Mapping[str, str], found: AnswerFilters) -> str:
    text = str(given.get(name) or "").strip()
    if not text:
        return ""
    if not _WHOLE.fullmatch(text):
        shown = search_text(text, max_length=20)
        found.problems.append(
            f"“{q.label}” takes a whole number, not “{shown}”: that filter was left out."
        )
        return ""
    number = str(int(text))
    found.params.append((name, number))
    return number


@program_view(methods=("GET", "HEAD"))
def participant_list(request: HttpRequest, program: Program) -> HttpResponse:
    query = search_text(request.GET.get("q"))
    role = request.GET.get("role", "")
    role = role if role in Participant.Role.values else ""
    filters = answer_filters(questions_of(program), request.GET)
    ids = selectors.participant_search(
        program, query=query, role=role, answers=filters.applied
    ).values_list("pk", flat=True)
    # The kept counts know each role's total; a search or a filter is counted.
    narrowed = bool(query or filters.applied)
    known = None if narrowed else selectors.participant_count(program, role=role)
    rows = Participant.objects.order_by("last_name", "first_name", "id")
    page = page_by_ids(ids, rows, PAGE_SIZE, request.GET.get("page"), count=known)
    kept = [("q", query), ("role", role), *filters.params]
    context = {
        "program": program,
        "page": page,
        "query": query,
        "role": role,
        "roles": Participant.Role.choices,
        "filters": filters,
        "narrowed": narrowed or bool(role),
        # The filters again in the page links.
        "query_string": urlencode([(name, value) for name, value in kept if value]),
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
