"""The questions editor: a program's questions, their options, and what a change does first.

Plain forms that POST and redirect. Changes that remove or move answers (removing an
option, asking a question of fewer people, deleting a question) show what they do
first, on a GET or on the form's first POST, and write only once confirmed.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from pairing_admin.lib.errors import DomainError
from programs import question_admin as svc
from programs.access import program_view
from programs.models import Program, Question, QuestionOption
from programs.question_admin_forms import DELETE, OptionForm, OptionRemoveForm, QuestionForm


def _question(program: Program, question_id: int) -> Question:
    return get_object_or_404(Question, program=program, pk=question_id)


def _option(program: Program, question_id: int, option_id: int) -> QuestionOption:
    return get_object_or_404(
        QuestionOption.objects.select_related("question"),
        question__program=program,
        question_id=question_id,
        pk=option_id,
    )


def _up(request: HttpRequest) -> bool | None:
    """The direction a Move button posted: True up, False down, None for anything else."""
    return {"up": True, "down": False}.get(request.POST.get("direction", ""))


@program_view(methods=("GET", "HEAD"))
def question_list(request: HttpRequest, program: Program) -> HttpResponse:
    return render(
        request,
        "programs/questions.html",
        {"program": program, "questions": svc.question_rows(program)},
    )


@program_view(methods=("GET", "POST"))
def question_add(request: HttpRequest, program: Program) -> HttpResponse:
    form = QuestionForm(request.POST or None, program=program)
    if request.method == "POST" and form.is_valid():
        try:
            question = svc.question_create(
                program=program, user=request.user, data=form.question_fields
            )
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Question “{question.label}” added.")
            if question.is_choice:
                return redirect("programs:question_edit", program.pk, question.pk)
            return redirect("programs:questions", program.pk)
    return render(
        request,
        "programs/questions_form.html",
        {"program": program, "form": form, "question": None},
        status=400 if form.errors else 200,
    )


def _edit_page(request, program, question, form, *, failed=None, preview=None, status=200):
    """The question's form and its options; `failed`: (option id or "add", error, what was
    typed) to show beside that option's form."""
    key, error, typed = failed or (None, "", None)
    options = svc.options_with_counts(question) if question.is_choice else []
    for option in options:
        option.error, option.typed = (error, typed) if option.pk == key else ("", None)
    context = {
        "program": program,
        "question": question,
        "form": form,
        "preview": preview,
        "options": options,
        "add_error": error if key == "add" else "",
        "add_typed": typed if key == "add" else "",
    }
    return render(request, "programs/questions_form.html", context, status=status)


@program_view(methods=("GET", "POST"), load=_question)
def question_edit(request: HttpRequest, program: Program, question: Question) -> HttpResponse:
    """GET: the form and the options. POST: save; asking fewer people first shows whose
    answers go (and what that does to the candidates), then saves on Confirm."""
    form = QuestionForm(request.POST or None, program=program, question=question)
    if request.method != "POST" or not form.is_valid():
        return _edit_page(request, program, question, form, status=400 if form.errors else 200)
    data = form.question_fields
    try:
        preview = svc.audience_change(program, question, data)
        if preview is not None and request.POST.get("confirmed_audience") != data.audience:
            return _edit_page(request, program, question, form, preview=preview)
        saved = svc.question_update(
            program=program, question_id=question.pk, user=request.user, data=data
        )
    except DomainError as error:
        form.add_error(None, str(error))
        return _edit_page(request, program, question, form, status=400)
    if not saved.changes:
        messages.info(request, "Nothing changed.")
    elif saved.answers_removed:
        messages.success(
            request,
            f"“{data.label}” saved; the answers of {svc.people(saved.answers_removed)} "
            "no longer asked were removed.",
        )
    else:
        messages.success(request, f"“{data.label}” saved.")
    return redirect("programs:questions", program.pk)


@program_view(methods=("POST",), load=_question)
def question_move(request: HttpRequest, program: Program, question: Question) -> HttpResponse:
    up = _up(request)
    if up is not None:
        try:
            svc.question_move(program=program, question_id=question.pk, user=request.user, up=up)
        except DomainError as error:
            messages.error(request, str(error))
    return redirect("programs:questions", program.pk)


@program_view(methods=("GET", "POST"), load=_question)
def question_delete(request: HttpRequest, program: Program, question: Question) -> HttpResponse:
    """GET: how many answers go, or why it cannot. POST: delete."""
    error = ""
    if request.method == "POST":
        try:
            n = svc.question_delete(program=program, question_id=question.pk, user=request.user)
        except DomainError as exc:
            error = str(exc)
        else:
            messages.success(
                request,
                f"Question “{question.label}” deleted, with the answers of {svc.people(n)}.",
            )
            return redirect("programs:questions", program.pk)
    rules = svc.rules_reading(question)
    context = {
        "program": program,
        "question": question,
        "answered": svc.answered_count(question),
        "problem": svc.delete_problem(question, rules),
        "error": error,
    }
    return render(request, "programs/questions_delete.html", context, status=400 if error else 200)


# --- Options ------------------------------------------------------------------------------


def _back_to_edit(program: Program, question_id: int) -> HttpResponse:
    return redirect("programs:question_edit", program.pk, question_id)


def _option_failed(request, program, question, key, message) -> HttpResponse:
    """The question's page again, with the option form's error beside it."""
    question.refresh_from_db()
    form = QuestionForm(program=program, question=question)
    typed = request.POST.get("label", "")
    return _edit_page(request, program, question, form, failed=(key, message, typed), status=400)


@program_view(methods=("POST",), load=_question)
def option_add(request: HttpRequest, program: Program, question: Question) -> HttpResponse:
    form = OptionForm(request.POST)
    if not form.is_valid():
        return _option_failed(request, program, question, "add", form.errors["label"][0])
    try:
        option = svc.option_add(
            program=program,
            question_id=question.pk,
            user=request.user,
            label=form.cleaned_data["label"],
        )
    except DomainError as error:
        return _option_failed(request, program, question, "add", str(error))
    messages.success(request, f"Option “{option.label}” added.")
    return _back_to_edit(program, question.pk)


@program_view(methods=("POST",), load=_option)
def option_rename(request: HttpRequest, program: Program, option: QuestionOption) -> HttpResponse:
    form = OptionForm(request.POST)
    question = option.question
    if not form.is_valid():
        return _option_failed(request, program, question, option.pk, form.errors["label"][0])
    try:
        renamed = svc.option_rename(
            program=program,
            option_id=option.pk,
            user=request.user,
            label=form.cleaned_data["label"],
        )
    except DomainError as error:
        return _option_failed(request, program, question, option.pk, str(error))
    if renamed:
        messages.success(
            request, f"Option renamed “{form.cleaned_data['label']}”; its answers kept."
        )
    return _back_to_edit(program, question.pk)


@program_view(methods=("POST",), load=_option)
def option_move(request: HttpRequest, program: Program, option: QuestionOption) -> HttpResponse:
    up = _up(request)
    if up is not None:
        try:
            svc.option_move(program=program, option_id=option.pk, user=request.user, up=up)
        except DomainError as error:
            messages.error(request, str(error))
    return _back_to_edit(program, option.question_id)


@program_view(methods=("GET", "POST"), load=_option)
def option_remove(request: HttpRequest, program: Program, option: QuestionOption) -> HttpResponse:
    """GET: how many people picked the option and, once the admin says where their answers
    go, what that does (counts, candidates). POST: remove it."""
    data = (
        request.POST
        if request.method == "POST"
        else (request.GET if "answers" in request.GET else None)
    )
    form = OptionRemoveForm(data, option=option)
    chosen = form.is_valid()
    move_to = form.cleaned_data.get("move_to") if chosen else None
    error = ""
    if request.method == "POST":
        try:
            done = svc.option_remove(
                program=program,
                option_id=option.pk,
                user=request.user,
                move_to=move_to.pk if move_to is not None else None,
                delete_answers=chosen and form.cleaned_data["answers"] == DELETE,
            )
        except DomainError as exc:
            error = str(exc)
        else:
            messages.success(request, _removed_words(done))
            return _back_to_edit(program, option.question_id)
    removal = svc.option_removal(program, option, move_to=move_to, impact=chosen)
    context = {
        "program": program,
        "question": option.question,
        "option": option,
        "form": form,
        "chosen": chosen,
        "removal": removal,
        "error": error,
    }
    status = 400 if error or (request.method == "POST" and form.errors) else 200
    return render(request, "programs/questions_option_remove.html", context, status=status)


def _removed_words(done: svc.OptionRemoved) -> str:
    said = f"Option “{done.label}” removed"
    if done.moved:
        said += f"; the answers of {svc.people(done.moved)} moved to “{done.move_to}”"
        if done.merged:
            said += f" ({done.merged} had picked both: one answer kept)"
    elif done.deleted:
        said += f"; the answers of {svc.people(done.deleted)} deleted"
    return said + "."
