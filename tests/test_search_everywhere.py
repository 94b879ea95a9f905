"""Every admin search box splits words: "Ann Lee" finds Ann Lee, not Ann Other nor Bob Lee.

"Ann" and "Lee" sit in different fields, so a search that compared the whole
text with one field would find nobody, and one that matched any word would
find all three.
"""

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from invitations import services as invite_services
from pairing.models import (
    AutoPairProposal,
    AutoPairRun,
    AutoPairUnpaired,
    MentorRequest,
    Pairing,
    WaitlistEntry,
)
from pairing_admin.mail.models import OutboundEmail
from tests import factories

PEOPLE = [("Ann", "Lee"), ("Ann", "Other"), ("Bob", "Lee")]


def _mentees(program):
    return [
        factories.ParticipantFactory(program=program, first_name=first, last_name=last)
        for first, last in PEOPLE
    ]


def _mentor(program, n=0):
    return factories.MentorFactory(program=program, first_name=f"Zed{n}", last_name="Coach")


def _url(name, program, query=""):
    return reverse(name, kwargs={"program_id": program.pk}) + query


def _participants(program, user):
    _mentees(program)
    return _url("programs:participants", program)


def _unpaired_not_invited(program, user):
    _mentees(program)
    return _url("pairing:unpaired", program, "?sub=not_invited")


def _unpaired_invited(program, user):
    mentees = _mentees(program)
    invite_services.invitation_send_selected(
        program=program, user=user, mentee_ids=[m.pk for m in mentees], expected=len(mentees)
    )
    return _url("pairing:unpaired", program, "?sub=invited")


def _requested(program):
    mentor = _mentor(program)
    for mentee in _mentees(program):
        MentorRequest.objects.create(
            program=program,
            mentee=mentee,
            mentor=mentor,
            expires_at=timezone.now() + timedelta(days=3),
        )


def _unpaired_pending(program, user):
    _requested(program)
    return _url("pairing:unpaired", program, "?sub=pending")


def _requests(program, user):
    _requested(program)
    return _url("requests:list", program)


def _paired(program):
    for n, mentee in enumerate(_mentees(program)):
        Pairing.objects.create(
            program=program, mentee=mentee, mentor=_mentor(program, n), origin="admin"
        )


def _active(program, user):
    _paired(program)
    return _url("pairing:active", program)


def _staged_run(program, user):
    return AutoPairRun.objects.create(
        program=program, created_by=user, status=AutoPairRun.Status.STAGED,
        totals={"mentees": 3, "seats": 3, "pairs": 3, "all_pairs": True,
                "candidate_edges": 3, "total_score": 0, "k": 3},
        timings={"total": 1.0, "score": 0.5, "solve": 0.1},
    )  # fmt: skip


def _autopair_proposals(program, user):
    run = _staged_run(program, user)
    for n, mentee in enumerate(_mentees(program)):
        AutoPairProposal.objects.create(
            run=run, mentee=mentee, mentor=_mentor(program, n), score=50.0, reasons=[]
        )
    url = reverse("pairing:autopair_run", kwargs={"program_id": program.pk, "run_id": run.pk})
    return url + "?view=proposals"


def _autopair_unpaired(program, user):
    run = _staged_run(program, user)
    for mentee in _mentees(program):
        AutoPairUnpaired.objects.create(
            run=run, mentee=mentee, reason=AutoPairUnpaired.Reason.NO_CANDIDATE
        )
    url = reverse("pairing:autopair_run", kwargs={"program_id": program.pk, "run_id": run.pk})
    return url + "?view=unpaired"


def _autopair_swap_mentors(program, user):
    """The mentors offered to take a proposal's mentee instead."""
    run = _staged_run(program, user)
    mentee = factories.ParticipantFactory(program=program, first_name="Zed", last_name="Mentee")
    AutoPairProposal.objects.create(
        run=run, mentee=mentee, mentor=_mentor(program), score=50.0, reasons=[]
    )
    for first, last in PEOPLE:
        factories.MentorFactory(program=program, first_name=first, last_name=last, capacity=2)
    kwargs = {"program_id": program.pk, "run_id": run.pk, "mentee_id": mentee.pk}
    return reverse("pairing:autopair_mentor", kwargs=kwargs)


def _waitlist(program, user):
    for minutes, mentee in enumerate(_mentees(program)):
        WaitlistEntry.objects.create(
            program=program, mentee=mentee, joined_at=timezone.now() + timedelta(minutes=minutes)
        )
    return _url("pairing:waitlist", program)


def _waitlist_add(program, user):
    _mentees(program)
    return _url("pairing:waitlist_add", program)


def _email_log(program, user):
    for first, last in PEOPLE:
        OutboundEmail.objects.create(
            program=program, kind="invitation", idempotency_key=f"search:{first}:{last}",
            to_email=f"{first}.{last}@example.org".lower(), to_name=f"{first} {last}",
            subject="Hello", body_text="Hello",
        )  # fmt: skip
    return _url("email_log:list", program)


PAGES = {
    "participants": _participants,
    "unpaired-not-invited": _unpaired_not_invited,
    "unpaired-invited": _unpaired_invited,
    "unpaired-pending": _unpaired_pending,
    "requests": _requests,
    "active-pairings": _active,
    "autopair-proposals": _autopair_proposals,
    "autopair-unpaired": _autopair_unpaired,
    "autopair-swap-mentors": _autopair_swap_mentors,
    "waitlist": _waitlist,
    "waitlist-add": _waitlist_add,
    "email-log": _email_log,
}


def _shown(response) -> str:
    """The page without what echoes the search: form fields and “quoted” text."""
    assert response.status_code == 200
    return re.sub(r"<input[^>]*>|“[^”]*”", "", response.content.decode())


def _search(client, url: str, query: str) -> str:
    return _shown(client.get(url + ("&" if "?" in url else "?") + urlencode({"q": query})))


@pytest.mark.parametrize("page", PAGES)
def test_search_for_two_words_finds_only_the_person_with_both(
    page, live, org_admin, org_admin_client
):
    url = PAGES[page](live, org_admin)
    everyone = _shown(org_admin_client.get(url))
    assert all(f"{first} {last}" in everyone for first, last in PEOPLE)

    # Any order, any case, extra spaces.
    for query in ["Ann Lee", "  lee   ANN "]:
        found = _search(org_admin_client, url, query)
        assert "Ann Lee" in found, query
        assert "Ann Other" not in found and "Bob Lee" not in found, query
