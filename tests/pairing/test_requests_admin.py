"""Admin: the requests list, cancelling a request, pairing by hand."""

import pytest
from django.urls import reverse
from django.utils import timezone

from pairing import services
from pairing.email_kinds import EmailKind
from pairing.models import MentorRequest, Pairing
from pairing.verbs import Verb as PairingVerb
from pairing_admin.mail.models import OutboundEmail
from programs.models import ActivityEvent
from tests import factories


@pytest.fixture
def live_program(program):
    program.pairing_enabled = True
    program.save()
    return program


def _requests(program, n):
    made = []
    for _ in range(n):
        mentor = factories.MentorFactory(program=program)
        mentee = factories.ParticipantFactory(program=program)
        made.append(services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk]).request)
    return made


def _url(program, name="list", **kwargs):
    return reverse(f"requests:{name}", kwargs={"program_id": program.pk, **kwargs})


def test_list_shows_status_deadline_and_decline_message(live_program, org_admin_client):
    pending, declined = _requests(live_program, 2)
    services.request_decline(request_id=declined.pk, message="Not this term")
    html = org_admin_client.get(_url(live_program)).content.decode()
    assert pending.mentee.full_name in html and declined.mentee.full_name in html
    assert "Not this term" in html and "Declined" in html and "Pending" in html
    local = timezone.localtime(pending.expires_at, timezone=None)
    assert f"{local.day} " in html
    html = org_admin_client.get(_url(live_program), {"status": "declined"}).content.decode()
    assert declined.mentee.full_name in html and pending.mentee.full_name not in html
    html = org_admin_client.get(_url(live_program), {"status": "pending"}).content.decode()
    assert pending.mentee.full_name in html and declined.mentee.full_name not in html
    html = org_admin_client.get(
        _url(live_program), {"q": pending.mentor.first_name}
    ).content.decode()
    assert pending.mentee.full_name in html and declined.mentee.full_name not in html


def test_htmx_filter_returns_only_the_results(live_program, org_admin_client):
    _requests(live_program, 1)
    response = org_admin_client.get(
        _url(live_program), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="request-results"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="request-results">') and "<html" not in html


@pytest.mark.parametrize("size", [3, 60])
def test_list_query_count_is_fixed(live_program, org_admin_client, django_assert_num_queries, size):
    _requests(live_program, size)
    # session, user, membership check, program, status counts (the page's count
    # too), page, and the idle-timeout session save (savepoint, update, release)
    with django_assert_num_queries(9):
        response = org_admin_client.get(_url(live_program))
    assert response.status_code == 200


def test_admin_cancels_a_pending_request(live_program, org_admin_client, org_admin):
    [request] = _requests(live_program, 1)
    response = org_admin_client.post(_url(live_program, "cancel", request_id=request.pk))
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == MentorRequest.Status.CANCELLED and request.decided_by == org_admin
    assert ActivityEvent.objects.filter(verb=PairingVerb.REQUEST_CANCELLED).exists()
    assert (
        org_admin_client.get(_url(live_program, "cancel", request_id=request.pk)).status_code == 405
    )


def test_cancel_of_another_programs_request_is_refused(live_program, org_admin_client, org):
    other = factories.ProgramFactory(organization=org, pairing_enabled=True)
    [request] = _requests(other, 1)
    org_admin_client.post(_url(live_program, "cancel", request_id=request.pk))
    request.refresh_from_db()
    assert request.status == MentorRequest.Status.PENDING


def test_admin_pairs_by_hand_and_both_get_mentorship_assignments(live_program, org_admin_client):
    mentee = factories.ParticipantFactory(program=live_program)
    mentor = factories.MentorFactory(program=live_program)
    page = org_admin_client.get(_url(live_program, "pair")).content.decode()
    assert mentee.full_name in page and mentor.full_name in page
    response = org_admin_client.post(
        _url(live_program, "pair"), {"mentee": mentee.pk, "mentor": mentor.pk}
    )
    assert response.status_code == 302
    pairing = Pairing.objects.get()
    assert pairing.origin == Pairing.Origin.ADMIN
    assert set(
        OutboundEmail.objects.filter(kind=EmailKind.ASSIGNMENT).values_list("to_email", flat=True)
    ) == {mentee.email, mentor.email}
    assert ActivityEvent.objects.filter(verb=PairingVerb.PAIRED_BY_ADMIN).exists()


def test_pair_by_hand_offers_only_mentors_with_room(live_program, org_admin_client):
    mentee = factories.ParticipantFactory(program=live_program)
    full = factories.MentorFactory(program=live_program, capacity=0)
    response = org_admin_client.post(
        _url(live_program, "pair"), {"mentee": mentee.pk, "mentor": full.pk}
    )
    assert response.status_code == 200 and not Pairing.objects.exists()
    assert "mentor" in response.context["form"].errors


def test_pair_by_hand_lists_a_few_of_each_and_finds_the_others_by_search(
    live_program, org_admin_client, monkeypatch
):
    from pairing.views import requests as views

    monkeypatch.setattr(views, "PICKER_SIZE", 2)
    mentees = [
        factories.ParticipantFactory(program=live_program, last_name=f"Ames{n}") for n in range(3)
    ]
    mentors = [
        factories.MentorFactory(program=live_program, last_name=f"Bell{n}") for n in range(3)
    ]
    page = org_admin_client.get(_url(live_program, "pair")).content.decode()
    listed = [p for p in (*mentees, *mentors) if f'value="{p.pk}"' in page]
    assert listed == [mentees[0], mentees[1], mentors[0], mentors[1]]
    assert page.count("find others by name or email") == 2
    found = org_admin_client.get(
        _url(live_program, "pair"), {"q": "ames2", "mq": mentors[2].email}
    ).content.decode()
    assert f'value="{mentees[2].pk}"' in found and f'value="{mentees[0].pk}"' not in found
    assert f'value="{mentors[2].pk}"' in found and f'value="{mentors[0].pk}"' not in found
    # A chosen mentee stays listed, checked, whatever the search.
    chosen = org_admin_client.get(
        _url(live_program, "pair"), {"mentee": mentees[2].pk, "q": "nobody"}
    ).content.decode()
    assert f'value="{mentees[2].pk}" required checked' in chosen


@pytest.mark.parametrize("size", [3, 40])
def test_pair_by_hand_query_count_is_fixed(
    live_program, org_admin_client, django_assert_num_queries, size
):
    factories.bulk_mentees(live_program, size)
    factories.MentorFactory.create_batch(size, program=live_program)
    org_admin_client.get(_url(live_program, "pair"))  # renews the session
    # session, user, membership check, program, the chosen mentee and mentor
    # (none: no query), the first mentees, the first mentors
    with django_assert_num_queries(6):
        response = org_admin_client.get(_url(live_program, "pair"))
    assert response.status_code == 200
