"""Seats held by a staged auto-pair run count against requests and hand pairings."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from pairing import seats, services
from pairing.models import AutoPairProposal, AutoPairRun, MentorRequest, Pairing
from pairing.preference_selectors import mentor_options
from pairing.request_selectors import mentors_with_room
from pairing_admin.lib.errors import DomainError
from programs.models import Program
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_program(org):
    return factories.ProgramFactory(organization=org, pairing_enabled=True)


def _hold(program, mentor, mentee, user=None, status=AutoPairRun.Status.STAGED):
    run = AutoPairRun.objects.create(program=program, created_by=user, status=status)
    AutoPairProposal.objects.create(run=run, mentee=mentee, mentor=mentor, score=50.0)
    return run


def _mentee(program):
    return factories.ParticipantFactory(program=program)


def test_a_held_seat_is_not_offered_and_comes_back_when_the_run_is_discarded(live_program):
    held = factories.MentorFactory(program=live_program, capacity=1)
    roomy = factories.MentorFactory(program=live_program, capacity=2)
    run = _hold(live_program, held, _mentee(live_program))
    # One open run per program: a second proposal joins the same run.
    AutoPairProposal.objects.create(run=run, mentee=_mentee(live_program), mentor=roomy, score=1)
    assert set(mentors_with_room(live_program).values_list("pk", flat=True)) == {roomy.pk}
    AutoPairRun.objects.filter(pk=run.pk).update(status=AutoPairRun.Status.DISCARDED)
    assert set(mentors_with_room(live_program).values_list("pk", flat=True)) == {held.pk, roomy.pk}


def test_user_led_submit_skips_a_mentor_whose_seat_is_held(live_program):
    live_program.pairing_process = Program.Process.USER_LED
    live_program.save()
    held = factories.MentorFactory(program=live_program, capacity=1)
    free = factories.MentorFactory(program=live_program, capacity=1)
    _hold(live_program, held, _mentee(live_program))
    mentee = _mentee(live_program)
    result = services.preferences_submit(mentee=mentee, mentor_ids=[held.pk, free.pk], note="")
    assert result.pairing.mentor_id == free.pk


def test_with_approval_the_request_goes_past_a_held_mentor(live_program):
    held = factories.MentorFactory(program=live_program, capacity=1)
    free = factories.MentorFactory(program=live_program, capacity=1)
    _hold(live_program, held, _mentee(live_program))
    request = services.preferences_submit(
        mentee=_mentee(live_program), mentor_ids=[held.pk, free.pk], note=""
    ).request
    assert request.mentor_id == free.pk and request.status == MentorRequest.Status.PENDING


def test_approving_into_a_held_seat_is_refused_with_a_reason(live_program):
    mentor = factories.MentorFactory(program=live_program, capacity=1)
    request = services.preferences_submit(
        mentee=_mentee(live_program), mentor_ids=[mentor.pk], note=""
    ).request
    _hold(live_program, mentor, _mentee(live_program))  # staged after the request was made
    with pytest.raises(DomainError, match="reviewing an automatic pairing"):
        services.request_approve(request_id=request.pk)
    assert MentorRequest.objects.get(pk=request.pk).status == MentorRequest.Status.PENDING
    assert not Pairing.objects.exists()


def test_a_mentees_own_proposal_does_not_block_their_own_request(live_program):
    mentor = factories.MentorFactory(program=live_program, capacity=1)
    mentee = _mentee(live_program)
    request = services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk], note="").request
    _hold(live_program, mentor, mentee)
    pairing = services.request_approve(request_id=request.pk)
    assert pairing.mentee_id == mentee.pk and pairing.mentor_id == mentor.pk


def test_admin_pairing_by_hand_into_a_held_seat_is_refused(live_program, org_admin):
    mentor = factories.MentorFactory(program=live_program, capacity=1)
    _hold(live_program, mentor, _mentee(live_program))
    with pytest.raises(DomainError, match="held by the auto-pair run under review"):
        services.pairing_create_by_admin(
            program=live_program, mentee_id=_mentee(live_program).pk, mentor_id=mentor.pk,
            user=org_admin,
        )  # fmt: skip
    assert not Pairing.objects.exists()


@pytest.mark.parametrize("status", [AutoPairRun.Status.CONFIRMED, AutoPairRun.Status.DISCARDED])
def test_closed_runs_hold_nothing(live_program, org_admin, status):
    mentor = factories.MentorFactory(program=live_program, capacity=1)
    _hold(live_program, mentor, _mentee(live_program), status=status)
    pairing = services.pairing_create_by_admin(
        program=live_program, mentee_id=_mentee(live_program).pk, mentor_id=mentor.pk,
        user=org_admin,
    )  # fmt: skip
    assert pairing.mentor_id == mentor.pk


def test_a_proposal_for_a_mentee_paired_meanwhile_holds_nothing(live_program, org_admin):
    mentor = factories.MentorFactory(program=live_program, capacity=2)
    mentee = _mentee(live_program)
    request = services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk], note="").request
    _hold(live_program, mentor, mentee)
    services.request_approve(request_id=request.pk)  # one seat taken, by the proposed mentee
    assert seats.held_seats_of(mentor.pk) == 0
    assert mentor.pk in set(mentors_with_room(live_program).values_list("pk", flat=True))
    other = services.pairing_create_by_admin(
        program=live_program, mentee_id=_mentee(live_program).pk, mentor_id=mentor.pk,
        user=org_admin,
    )  # fmt: skip
    assert other.mentor_id == mentor.pk


# --- A mentee's own proposal is theirs to take, on the form and by hand -----------


def _link(mentee):
    return factories.preferences_link(mentee)


def _ways():
    return [True, False] if connection.vendor == "postgresql" else [False]


@pytest.mark.parametrize("use_sql", _ways())
def test_the_form_offers_a_held_mentor_to_the_mentee_proposed_and_nobody_else(
    live_program, use_sql
):
    held = factories.MentorFactory(program=live_program, capacity=1)
    roomy = factories.MentorFactory(program=live_program, capacity=1)
    proposed, other = _mentee(live_program), _mentee(live_program)
    _hold(live_program, held, proposed)
    for _ in range(2):  # on PostgreSQL the second round comes from the kept pool
        mine = mentor_options(proposed, live_program, use_sql=use_sql).matches
        theirs = mentor_options(other, live_program, use_sql=use_sql).matches
        assert {m.mentor["pk"] for m in mine} == {held.pk, roomy.pk}
        assert {m.mentor["pk"] for m in theirs} == {roomy.pk}


def test_staging_a_proposal_for_a_mentors_last_seat_hides_them_from_a_kept_pool(live_program):
    # The last seat going to a held one changes no participant row; the pool still follows.
    mentor = factories.MentorFactory(program=live_program, capacity=2)
    first, second, other = (_mentee(live_program) for _ in range(3))
    run = _hold(live_program, mentor, first)
    assert [m.mentor["pk"] for m in mentor_options(other, live_program).matches] == [mentor.pk]
    AutoPairProposal.objects.create(run=run, mentee=second, mentor=mentor, score=1)
    assert mentor_options(other, live_program).matches == []
    assert [m.mentor["pk"] for m in mentor_options(second, live_program).matches] == [mentor.pk]
    AutoPairRun.objects.filter(pk=run.pk).update(status=AutoPairRun.Status.DISCARDED)
    assert [m.mentor["pk"] for m in mentor_options(other, live_program).matches] == [mentor.pk]


@pytest.mark.parametrize("process", [Program.Process.USER_LED, Program.Process.USER_LED_APPROVAL])
def test_the_mentee_proposed_can_choose_their_held_mentor_on_the_form(
    live_program, client, process
):
    live_program.pairing_process = process
    live_program.save()
    held = factories.MentorFactory(program=live_program, capacity=1)
    mentee = _mentee(live_program)
    _hold(live_program, held, mentee)
    raw = _link(mentee)
    assert f"rank_{held.pk}" in client.get(f"/p/{raw}/").content.decode()
    response = client.post(f"/p/{raw}/choose/", {f"rank_{held.pk}": "1"})
    assert response.status_code == 302
    request = MentorRequest.objects.get(mentee=mentee)
    assert request.mentor_id == held.pk
    if process == Program.Process.USER_LED:
        assert Pairing.objects.get(mentee=mentee, status=Pairing.Status.ACTIVE).mentor_id == held.pk


def test_another_mentee_posting_a_held_mentor_is_told_it_has_no_room(live_program, client):
    held = factories.MentorFactory(program=live_program, capacity=1)
    _hold(live_program, held, _mentee(live_program))
    response = client.post(f"/p/{_link(_mentee(live_program))}/choose/", {f"rank_{held.pk}": "1"})
    assert response.status_code == 409 and "has room any more" in response.content.decode()
    assert not MentorRequest.objects.exists()


def test_pairing_by_hand_offers_a_held_mentor_for_the_mentee_proposed_only(
    live_program, org_admin_client
):
    held = factories.MentorFactory(program=live_program, capacity=1)
    proposed, other = _mentee(live_program), _mentee(live_program)
    _hold(live_program, held, proposed)
    url = reverse("requests:pair", kwargs={"program_id": live_program.pk})
    assert (
        f'value="{held.pk}"' in org_admin_client.get(f"{url}?mentee={proposed.pk}").content.decode()
    )
    assert (
        f'value="{held.pk}"'
        not in org_admin_client.get(f"{url}?mentee={other.pk}").content.decode()
    )
    refused = org_admin_client.post(url, {"mentee": other.pk, "mentor": held.pk})
    assert refused.status_code == 200 and "mentor" in refused.context["form"].errors
    response = org_admin_client.post(url, {"mentee": proposed.pk, "mentor": held.pk})
    assert response.status_code == 302
    assert Pairing.objects.get(mentee=proposed, status=Pairing.Status.ACTIVE).mentor_id == held.pk


def test_pairing_by_hand_with_a_junk_mentee_id_lists_only_mentors_with_room(
    live_program, org_admin_client
):
    held = factories.MentorFactory(program=live_program, capacity=1)
    _hold(live_program, held, _mentee(live_program))
    url = reverse("requests:pair", kwargs={"program_id": live_program.pk})
    for junk in ("x", "99999999999999999999999", "-1"):
        response = org_admin_client.get(f"{url}?mentee={junk}")
        assert response.status_code == 200 and f'value="{held.pk}"' not in response.content.decode()


# --- Requests past their deadline, not yet expired by the sweeper -----------------
# (Here rather than in test_requests.py, whose owner is someone else this round.)


def _past_deadline(program):
    mentee = _mentee(program)
    mentor = factories.MentorFactory(program=program, capacity=1)
    request = services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk]).request
    MentorRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    return request


def test_cancelling_a_request_past_its_deadline_says_so_and_changes_nothing(
    live_program, org_admin
):
    request = _past_deadline(live_program)
    with pytest.raises(DomainError, match="passed its deadline, so it can no longer be cancelled"):
        services.request_cancel(program=live_program, request_id=request.pk, user=org_admin)
    assert MentorRequest.objects.get(pk=request.pk).status == MentorRequest.Status.PENDING


def test_withdrawing_a_request_past_its_deadline_says_so_and_changes_nothing(live_program):
    request = _past_deadline(live_program)
    with pytest.raises(DomainError, match="passed its deadline, so it can no longer be withdrawn"):
        services.request_withdraw(mentee=request.mentee, request_id=request.pk)
    assert MentorRequest.objects.get(pk=request.pk).status == MentorRequest.Status.PENDING


def test_cancelling_a_settled_request_still_says_how_it_ended(live_program, org_admin):
    request = _past_deadline(live_program)
    services.requests_expire_due()
    with pytest.raises(DomainError, match="already expired"):
        services.request_cancel(program=live_program, request_id=request.pk, user=org_admin)
