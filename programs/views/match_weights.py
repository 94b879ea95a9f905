"""Match weights page: how much each match rule counts when mentors are ranked for a mentee."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from pairing_admin.lib.errors import DomainError
from programs.access import program_view
from programs.forms import MatchWeightsForm
from programs.match_weights import MUST_MATCH, match_weights_update
from programs.models import MatchRule, Program


@program_view(methods=("GET", "HEAD", "POST"))
def match_weights(request: HttpRequest, program: Program) -> HttpResponse:
    rules = MatchRule.objects.filter(program=program).select_related(
        "mentee_question", "mentor_question"
    )
    form = MatchWeightsForm(request.POST or None, rules=rules)
    if request.method == "POST" and form.is_valid():
        try:
            changed = match_weights_update(program=program, weights=form.weights, user=request.user)
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Match weights saved." if changed else "Nothing changed.")
            return redirect("programs:match_weights", program_id=program.pk)
    return render(
        request,
        "programs/match_weights.html",
        {"program": program, "form": form, "must_match": MUST_MATCH},
    )
