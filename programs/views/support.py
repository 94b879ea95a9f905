from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.htmx import render_page
from pairing_admin.lib.params import row_id
from programs.access import program_view
from programs.forms import SupportRequestForm
from programs.models import LaunchStep, Program, SupportRequest
from programs.selectors import support_recipient
from programs.support import (
    AlreadySent,
    clean_form_token,
    support_form_token,
    support_request_submit,
)

SUPPORT_PAGE = "programs/support_request.html"


@program_view(methods=("GET", "POST"))
def support_request(request: HttpRequest, program: Program) -> HttpResponse:
    """Write to the customer support advisor; afterwards, offer to tick the step off."""
    form = SupportRequestForm(request.POST or None)
    sent = None
    fresh_token = False
    sent_id = row_id(request.GET.get("sent")) if request.method == "GET" else None
    if sent_id is not None:
        sent = SupportRequest.objects.filter(program=program, pk=sent_id).first()
    if request.method == "POST" and form.is_valid():
        try:
            sent = support_request_submit(
                program=program,
                user=request.user,
                form_token=clean_form_token(request.POST.get("form_token")),
                **form.cleaned_data,
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
            fresh_token = isinstance(exc, AlreadySent)
        else:
            if not request.htmx:
                url = reverse("invitations:support_request", kwargs={"program_id": program.pk})
                return redirect(f"{url}?sent={sent.pk}")
            form = SupportRequestForm()
    # A form page's one-time token: kept when its POST is re-rendered with errors, new for
    # each fresh form, so only a repeat of the same submission is recognised as one.
    posted = clean_form_token(request.POST.get("form_token")) if form.is_bound else None
    if fresh_token:  # that page's token is spent: the corrected words go as a new request
        posted = None
    context = {
        "program": program,
        "form": form,
        "form_token": posted or support_form_token(),
        "sent": sent,
        "to_email": support_recipient(program.organization),
        "step_done": LaunchStep.objects.filter(
            program=program, step=LaunchStep.Step.SUPPORT_ADVISOR
        )
        .select_related("done_by")
        .first(),
        "step": LaunchStep.Step.SUPPORT_ADVISOR,
    }
    return render_page(request, SUPPORT_PAGE, context, partials={"support-panel": "panel"})
