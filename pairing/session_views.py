"""The page a mentee or mentor opens from the "log a session" link in their email.

The link is personal (one per person per pairing), reusable while the pairing
is active: a GET shows the form and never writes, a POST logs a session.
The POST is CSRF-exempt like every token page's: the token in the URL is the
credential (another site cannot forge it), and the page's no-referrer policy
makes browsers send "Origin: null", which Django's CSRF check would refuse. After the pairing ends, or for any link that is
unknown, expired or meant for something else, one neutral page answers.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from pairing import services
from pairing.health import local_today
from pairing.models import MentoringSession, Pairing
from pairing.monitor_views import SessionForm
from pairing.public_views import rate_limited
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.links import Purpose, link_resolve, token_page


def _neutral(request: HttpRequest) -> HttpResponse:
    return render(request, "pairing/link_invalid.html", status=404)


def _pairing_for(token: str) -> tuple[Pairing | None, object]:
    resolved = link_resolve(token)
    link = resolved.link
    if resolved.problem or link.purpose != Purpose.SESSION or link.object_id is None:
        return None, None
    pairing = (
        Pairing.objects.filter(
            pk=link.object_id, program_id=link.program_id, status=Pairing.Status.ACTIVE
        )
        .select_related("mentee", "mentor", "program", "program__organization")
        .first()
    )
    if pairing is None or link.participant_id not in (pairing.mentee_id, pairing.mentor_id):
        return None, None
    return pairing, link.participant


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@token_page
@rate_limited
def session_link(request: HttpRequest, token: str) -> HttpResponse:
    pairing, person = _pairing_for(token)
    if pairing is None:
        return _neutral(request)
    program = pairing.program
    today = local_today(program)
    form = SessionForm(request.POST or None, initial={"date": today, "minutes": 60})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.session_log(
                    pairing=pairing,
                    on=form.cleaned_data["date"],
                    minutes=form.cleaned_data["minutes"],
                    note=form.cleaned_data["note"],
                    participant=person,
                )
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect(request.path + "?logged=1", permanent=False)
    partner = pairing.mentor if person.pk == pairing.mentee_id else pairing.mentee
    recent = list(
        MentoringSession.objects.filter(pairing=pairing)
        .exclude(status=MentoringSession.Status.CANCELLED)
        .only("date", "minutes", "status")[:10]
    )
    context = {
        "program": program,
        "person": person,
        "partner": partner,
        "form": form,
        "recent": recent,
        "today": today,
        "logged": request.method == "GET" and request.GET.get("logged") == "1",
    }
    return render(request, "pairing/session_log.html", context, status=status)
