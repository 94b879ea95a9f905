"""Match weights page: how much each profile field counts when mentors are ranked for a mentee."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from pairing_admin.lib.errors import DomainError
from programs.access import program_view
from programs.forms import MatchWeightsForm
from programs.match_weights import MUST_MATCH, match_weights_update, weights_of
from programs.models import Program


@program_view(methods=("GET", "HEAD", "POST"))
def match_weights(request: HttpRequest, program: Program) -> HttpResponse:
    if request.method == "POST":
        form = MatchWeightsForm(request.POST)
        if form.is_valid():
            try:
                changed = match_weights_update(
                    program=program, weights=form.cleaned_data, user=request.user
                )
            except DomainError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "Match weights saved." if changed else "Nothing changed.")
                return redirect("programs:match_weights", program_id=program.pk)
    else:
        form = MatchWeightsForm(initial=weights_of(program))
    return render(
        request,
        "programs/match_weights.html",
        {"program": program, "form": form, "must_match": MUST_MATCH},
    )
