"""A pairing ended with "do not pair again" rules the pair out wherever a mentee chooses.

Auto-pair already left such pairs out; the preference form, the submit,
forwarding to the next choice and the admin's pair-by-hand follow the same
mark (Pairing.do_not_pair_again).
"""

import pytest
from django.db import connection
from django.urls import reverse

from pairing import services
from pairing.email_kinds import EmailKind
from pairing.models import AutoPairProposal, AutoPairRun, MentorPreference, MentorRequest, Pairing
from pairing.preference_selectors import mentor_options
from pairing.services import pairing_end
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.models import OutboundEmail
from programs.match_weights import MUST_MATCH
from programs.models import Program
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_program(org):
    return factories.ProgramFactory(organization=org, pairing_enabled=True)


def _link(mentee):
    return factories.preferences_link(mentee)


def _ruled_out(program, mentee, mentor, user):
    """Pair them by hand, then end the pairing with "do not pair again"."""
    pairing = services.pairing_create_by_admin(
        program=program, mentee_id=mentee.pk, mentor_id=mentor.pk, user=user
    )
    pairing_end(
        program=program, pairing_id=pairing.pk, user=user, reason="Not a fit", notify=False,
        do_not_pair_again=True,
    )  # fmt: skip


def _ways():
    return [True, False] if connection.vendor == "postgresql" else [False]


@pytest.mark.parametrize("use_sql", _ways())
def test_the_form_leaves_out_a_mentor_ruled_out_for_this_mentee_only(
    live_program, org_admin, use_sql
):
    mentee = factories.ParticipantFactory(program=live_program)
    other = factories.ParticipantFactory(program=live_program)
    ruled_out = factories.MentorFactory(
        program=live_program, capacity=2, department="Legal", location="Oslo"
    )
    fine = factories.MentorFactory(
        program=live_program, capacity=2, department="Sales", location="Lima"
    )
    _ruled_out(live_program, mentee, ruled_out, org_admin)
    options = mentor_options(mentee, live_program, use_sql=use_sql)
    assert [m.mentor["pk"] for m in options.matches] == [fine.pk]
    # Nor do the filters offer what only that mentor has.
    assert (options.departments, options.locations) == (["Sales"], ["Lima"])
    # The exclusion is the mentee's, not the shared pool's: the next mentee
    # (on PostgreSQL, served from the same kept pool) still sees both.
    theirs = mentor_options(other, live_program, use_sql=use_sql)
    assert {m.mentor["pk"] for m in theirs.matches} == {ruled_out.pk, fine.pk}
    assert theirs.departments == ["Legal", "Sales"]


@pytest.mark.parametrize("use_sql", _ways())
def test_a_must_match_field_does_not_bring_a_ruled_out_mentor_back(
    live_program, org_admin, use_sql
):
    live_program.match_weights = {"department": MUST_MATCH}
    live_program.save()
    mentee = factories.ParticipantFactory(program=live_program, department="Sales")
    ruled_out = factories.MentorFactory(program=live_program, department="Sales")
    fine = factories.MentorFactory(program=live_program, department="Sales")
    _ruled_out(live_program, mentee, ruled_out, org_admin)
    offered = [
        m.mentor["pk"] for m in mentor_options(mentee, live_program, use_sql=use_sql).matches
    ]
    assert offered == [fine.pk]


def test_the_page_does_not_list_the_mentor_and_keeps_its_query_count(
    live_program, org_admin, client, django_assert_num_queries
):
    mentee = factories.ParticipantFactory(program=live_program)
    ruled_out = factories.MentorFactory(program=live_program, capacity=2)
    fine = factories.MentorFactory(program=live_program, capacity=2)
    _ruled_out(live_program, mentee, ruled_out, org_admin)
    raw = _link(mentee)
    # link, mentee's pairing, latest request, mentors with room (with the
    # mentee's ruled-out mentors, own proposal and, on PostgreSQL, the requests
    # waiting per mentor), bios of the cards shown, the mentee's waitlist entry
    # and the mentee's answers, once the process holds the program's mentor pool and
    # rules (the first view also reads the rules, their options and the questions the
    # mentors' cards show)
    client.get(f"/p/{raw}/")
    with django_assert_num_queries(7 if connection.vendor == "postgresql" else 11):
        html = client.get(f"/p/{raw}/").content.decode()
    assert f"rank_{fine.pk}" in html and f"rank_{ruled_out.pk}" not in html


@pytest.mark.parametrize("process", [Program.Process.USER_LED, Program.Process.USER_LED_APPROVAL])
def test_choosing_a_ruled_out_mentor_is_refused_and_writes_nothing(
    live_program, org_admin, client, process
):
    live_program.pairing_process = process
    live_program.save()
    mentee = factories.ParticipantFactory(program=live_program)
    ruled_out = factories.MentorFactory(program=live_program, capacity=2, first_name="Rex")
    fine = factories.MentorFactory(program=live_program, capacity=2)
    _ruled_out(live_program, mentee, ruled_out, org_admin)
    emails = OutboundEmail.objects.count()
    response = client.post(
        f"/p/{_link(mentee)}/choose/", {f"rank_{ruled_out.pk}": "1", f"rank_{fine.pk}": "2"}
    )
    assert response.status_code == 409
    assert "asked that you not be paired with Rex Example again" in response.content.decode()
    assert not MentorPreference.objects.exists()
    assert not MentorRequest.objects.exclude(status=MentorRequest.Status.APPROVED).exists()
    assert not Pairing.objects.filter(status=Pairing.Status.ACTIVE).exists()
    assert OutboundEmail.objects.count() == emails


def _ranked_before_the_rule(program, mentee, *mentors):
    """Later choices the mentee made before the pair was ruled out (the submit refuses them now)."""
    MentorPreference.objects.bulk_create(
        MentorPreference(program=program, mentee=mentee, mentor=mentor, rank=rank)
        for rank, mentor in enumerate(mentors, start=2)
    )


def test_forwarding_skips_a_ruled_out_mentor_for_the_next_choice(live_program, org_admin):
    live_program.after_decline = Program.AfterDecline.NEXT_CHOICE
    live_program.save()
    first = factories.MentorFactory(program=live_program, capacity=1)
    ruled_out = factories.MentorFactory(program=live_program, capacity=1)
    third = factories.MentorFactory(program=live_program, capacity=1)
    mentee = factories.ParticipantFactory(program=live_program)
    _ruled_out(live_program, mentee, ruled_out, org_admin)
    request = services.preferences_submit(mentee=mentee, mentor_ids=[first.pk]).request
    _ranked_before_the_rule(live_program, mentee, ruled_out, third)
    services.request_decline(request_id=request.pk)
    forwarded = MentorRequest.objects.get(mentee=mentee, status=MentorRequest.Status.PENDING)
    assert forwarded.mentor_id == third.pk and forwarded.rank == 3


def test_forwarding_with_only_a_ruled_out_mentor_left_sends_the_choose_again_email(
    live_program, org_admin
):
    live_program.after_decline = Program.AfterDecline.NEXT_CHOICE
    live_program.save()
    first = factories.MentorFactory(program=live_program, capacity=1)
    ruled_out = factories.MentorFactory(program=live_program, capacity=1)
    mentee = factories.ParticipantFactory(program=live_program)
    _ruled_out(live_program, mentee, ruled_out, org_admin)
    request = services.preferences_submit(mentee=mentee, mentor_ids=[first.pk]).request
    _ranked_before_the_rule(live_program, mentee, ruled_out)
    services.request_decline(request_id=request.pk)
    assert not MentorRequest.objects.filter(status=MentorRequest.Status.PENDING).exists()
    assert OutboundEmail.objects.filter(
        kind=EmailKind.REQUEST_DECLINED, to_email=mentee.email
    ).exists()
    assert not OutboundEmail.objects.filter(kind=EmailKind.REQUEST_FORWARDED).exists()


def test_pairing_by_hand_a_ruled_out_pair_is_refused_with_the_reason(
    live_program, org_admin, org_admin_client
):
    mentee = factories.ParticipantFactory(program=live_program, first_name="Mia")
    ruled_out = factories.MentorFactory(program=live_program, capacity=2, first_name="Rex")
    _ruled_out(live_program, mentee, ruled_out, org_admin)
    response = org_admin_client.post(
        reverse("requests:pair", kwargs={"program_id": live_program.pk}),
        {"mentee": mentee.pk, "mentor": ruled_out.pk},
    )
    assert response.status_code == 200
    assert "Mia Example and Rex Example were marked “do not pair again”" in (
        response.content.decode()
    )
    assert not Pairing.objects.filter(status=Pairing.Status.ACTIVE).exists()
    with pytest.raises(DomainError, match="do not pair again"):
        services.pairing_create_by_admin(
            program=live_program, mentee_id=mentee.pk, mentor_id=ruled_out.pk, user=org_admin
        )


def test_a_ruled_out_mentor_held_for_the_mentee_is_still_not_offered(live_program, org_admin):
    mentee = factories.ParticipantFactory(program=live_program)
    ruled_out = factories.MentorFactory(program=live_program, capacity=1)
    _ruled_out(live_program, mentee, ruled_out, org_admin)
    run = AutoPairRun.objects.create(program=live_program, status=AutoPairRun.Status.STAGED)
    AutoPairProposal.objects.create(run=run, mentee=mentee, mentor=ruled_out, score=1.0)
    assert mentor_options(mentee, live_program).matches == []


def test_approving_a_request_made_before_the_rule_is_refused(live_program, org_admin):
    mentee = factories.ParticipantFactory(program=live_program, first_name="Mia", last_name="")
    mentor = factories.MentorFactory(program=live_program, capacity=3)
    _ruled_out(live_program, mentee, mentor, org_admin)
    # A request that reached the mentor before the mark existed (made directly here).
    request = factories.MentorRequestFactory(program=live_program, mentee=mentee, mentor=mentor)
    with pytest.raises(DomainError, match="you and Mia not be paired again"):
        services.request_approve(request_id=request.pk)
    request.refresh_from_db()
    assert request.status == MentorRequest.Status.PENDING
    assert not Pairing.objects.filter(mentee=mentee, status=Pairing.Status.ACTIVE).exists()


def test_a_person_no_longer_a_mentor_cannot_approve(live_program):
    mentee = factories.ParticipantFactory(program=live_program)
    mentor = factories.MentorFactory(program=live_program, capacity=3)
    request = services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk]).request
    # Not through the admin's form (which refuses it while a request waits): the data as it
    # may stand after an older release or a database edit.
    type(mentor).objects.filter(pk=mentor.pk).update(role="mentee")
    with pytest.raises(DomainError, match="no longer a mentor"):
        services.request_approve(request_id=request.pk)
    assert not Pairing.objects.filter(mentee=mentee).exists()
