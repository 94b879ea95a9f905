"""Match weights page: how much each profile field counts when mentors are ranked for a mentee."""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from programs.access import program_view
from programs.match_weights import (
    FIELDS,
    IGNORED,
    MUST_MATCH,
    clean_weights,
    match_weights_update,
    weights_of,
)
from programs.models import Program
from programs.services import DomainError


class MatchWeightsForm(forms.Form):
    """One whole number from 0 to 10 per field."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        message = "Choose a whole number from 0 (ignored) to 10 (must match)."
        for field in FIELDS:
            self.fields[field.key] = forms.IntegerField(
                label=field.label,
                help_text=field.compares,
                min_value=IGNORED,
                max_value=MUST_MATCH,
                error_messages={
                    "required": f"Give “{field.label}” a weight: 0 ignores it.",
                    "invalid": message,
                    "min_value": message,
                    "max_value": message,
                },
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "weight"}),
            )

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                data = clean_weights(data)
            except DomainError as error:
                raise forms.ValidationError(str(error)) from None
        return data


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
