"""Match weights page: the program's match rules, how much each counts, adding and removing them.

Every change takes two POSTs. The first checks it and shows what it would do
to the current candidates (programs.hooks.candidates_preview; nothing is
written); the second, from the preview's own form with `confirm`, saves it.
The preview carries the questions_version it was made at, so a change saved
in between makes the second POST refuse instead of saving what nobody saw.
"""

from dataclasses import dataclass, field

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.params import row_id
from programs import hooks
from programs.access import program_view
from programs.forms import MatchRuleForm, MatchWeightsForm
from programs.match_weights import (
    MEASURE_WORDS,
    MUST_MATCH,
    CandidatesChange,
    Scheme,
    clean_rule,
    match_rule_add,
    match_rule_remove,
    match_weights_update,
    new_rule_spec,
    program_rules,
    rule_title,
    rule_to_remove,
    scheme_of,
    weight_label,
    weights_changed,
)
from programs.models import MatchRule, Program, Question

PAGE = "programs/match_weights.html"


@dataclass
class Preview:
    """A change checked but not saved: what it is, what it does, and the form that saves it."""

    title: str
    lines: list[str]
    action: str
    button: str
    hidden: list[tuple[str, object]] = field(default_factory=list)
    change: CandidatesChange | None = None


def _questions(program: Program) -> list[Question]:
    """What the add-a-rule form offers (one query)."""
    return list(Question.objects.filter(program=program).only("id", "label", "kind", "audience"))


def _confirmed(request: HttpRequest) -> bool:
    return request.POST.get("confirm") == "1"


def _version(request: HttpRequest) -> int:
    """The questions_version the preview was made at (-1, never current, when missing)."""
    version = row_id(request.POST.get("version"))
    return -1 if version is None else version


def _preview(program: Program, preview: Preview, after: Scheme) -> Preview:
    preview.change = hooks.candidates_preview(
        program=program, before=scheme_of(program), after=after
    )
    preview.hidden += [("version", program.questions_version)]
    return preview


def _page(
    request: HttpRequest,
    program: Program,
    *,
    rules: list[MatchRule],
    form: MatchWeightsForm | None = None,
    rule_form: MatchRuleForm | None = None,
    preview: Preview | None = None,
    error: str = "",
) -> HttpResponse:
    return render(
        request,
        PAGE,
        {
            "program": program,
            "form": form or MatchWeightsForm(rules=rules),
            "rule_form": rule_form or MatchRuleForm(questions=_questions(program)),
            "measures": [
                (label, MEASURE_WORDS[value]) for value, label in MatchRule.Measure.choices
            ],
            "must_match": MUST_MATCH,
            "preview": preview,
            "error": error,
        },
    )


def _back(program: Program) -> HttpResponse:
    return redirect("programs:match_weights", program_id=program.pk)


@program_view(methods=("GET", "HEAD", "POST"))
def match_weights(request: HttpRequest, program: Program) -> HttpResponse:
    """GET: the rules and their weights. POST: preview new weights; with `confirm`, save them."""
    rules = program_rules(program)
    form = MatchWeightsForm(request.POST or None, rules=rules)
    preview = None
    if request.method == "POST" and form.is_valid():
        lines = weights_changed(rules, form.weights)
        if not lines:
            messages.info(request, "Nothing changed.")
            return _back(program)
        if _confirmed(request):
            try:
                match_weights_update(
                    program=program,
                    weights=form.weights,
                    user=request.user,
                    version=_version(request),
                )
            except DomainError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "Match weights saved.")
                return _back(program)
        else:
            preview = _preview(
                program,
                Preview(
                    title="Save these weights?",
                    lines=lines,
                    action=reverse("programs:match_weights", args=[program.pk]),
                    button="Save",
                    hidden=[(f"rule_{pk}", weight) for pk, weight in form.weights.items()],
                ),
                scheme_of(program).with_weights(form.weights),
            )
    return _page(request, program, rules=rules, form=form, preview=preview)


@program_view(methods=("POST",))
def add_rule(request: HttpRequest, program: Program) -> HttpResponse:
    """Preview a new rule; with `confirm`, add it."""
    rules = program_rules(program)
    form = MatchRuleForm(request.POST, questions=_questions(program))
    preview = None
    if form.is_valid():
        try:
            if _confirmed(request):
                rule = match_rule_add(
                    program=program, **form.rule, user=request.user, version=_version(request)
                )
                messages.success(request, f"Rule added: {rule_title(rule)}.")
                return _back(program)
            new = clean_rule(program=program, rules=rules, **form.rule)
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            scheme = scheme_of(program)
            hidden = {**form.cleaned_data, "distance": "" if new.distance is None else new.distance}
            preview = _preview(
                program,
                Preview(
                    title=f"Add the rule “{new.title}”?",
                    lines=[f"Added rule {new.title}, weight {weight_label(new.weight)}"],
                    action=reverse("programs:match_rule_add", args=[program.pk]),
                    button="Add rule",
                    hidden=list(hidden.items()),
                ),
                scheme.adding(new_rule_spec(scheme, new)),
            )
    return _page(request, program, rules=rules, rule_form=form, preview=preview)


@program_view(methods=("POST",))
def remove_rule(request: HttpRequest, program: Program) -> HttpResponse:
    """Preview removing a rule (`rule`: its id); with `confirm`, remove it."""
    rules = program_rules(program)
    rule_id = row_id(request.POST.get("rule"))
    try:
        if _confirmed(request):
            title = match_rule_remove(
                program=program, rule_id=rule_id, user=request.user, version=_version(request)
            )
            messages.success(request, f"Rule removed: {title}.")
            return _back(program)
        rule = rule_to_remove(rules, rule_id)
    except DomainError as error:
        return _page(request, program, rules=rules, error=str(error))
    title = rule_title(rule)
    preview = _preview(
        program,
        Preview(
            title=f"Remove the rule “{title}”?",
            lines=[f"Removed rule {title}, weight {weight_label(rule.weight)}"],
            action=reverse("programs:match_rule_remove", args=[program.pk]),
            button="Remove rule",
            hidden=[("rule", rule.pk)],
        ),
        scheme_of(program).without(rule.pk),
    )
    return _page(request, program, rules=rules, preview=preview)
