"""Auto-pair and people who were paired before, and runs over the waitlist only.

A pair whose pairing in this program ended is left out of a run unless the
run allows it; the review marks such a pair and lets an admin choose it by
hand with a warning. A run may take only the mentees on the waitlist.
Helpers: tests/support/autopair.py.
"""

import json
from datetime import UTC, datetime

from django.urls import reverse
from django.utils import timezone

from pairing import autopair
from pairing.autopair import Options
from pairing.models import AutoPairRun, AutoPairUnpaired, Pairing, WaitlistEntry
from pairing.request_selectors import paired_before_pairs
from programs.models import ActivityEvent
from tests import factories
from tests.support.autopair import (
    proposed_pairs,
    run_autopair,
    skilled_mentee,
    skilled_mentor,
    staged_run,
)

Status = AutoPairRun.Status
Reason = AutoPairUnpaired.Reason

# Noon in London: the same calendar day whatever the server's zone.
ENDED_AT = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def _ended(program, mentee, mentor, *, do_not_pair_again=False, ended_at=ENDED_AT):
    return factories.PairingFactory(
        program=program,
        mentee=mentee,
        mentor=mentor,
        status="ended",
        ended_at=ended_at,
        do_not_pair_again=do_not_pair_again,
    )


def _run_url(run):
    return reverse("pairing:autopair_run", kwargs={"program_id": run.program_id, "run_id": run.pk})


def _swap_url(run, mentee):
    return reverse(
        "pairing:autopair_mentor",
        kwargs={"program_id": run.program_id, "run_id": run.pk, "mentee_id": mentee.pk},
    )


# --- Building the run ---------------------------------------------------------------


def test_a_pair_whose_pairing_ended_is_not_proposed_again_by_default(
    program, org_admin, django_capture_on_commit_callbacks
):
    mentee = skilled_mentee(program)
    old = skilled_mentor(program)
    _ended(program, mentee, old)

    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    assert proposed_pairs(run) == set()

    autopair.autopair_discard(program=program, run_id=run.pk, user=org_admin)
    third = skilled_mentor(program, skills=[])  # a weaker match on paper, but free
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    assert proposed_pairs(run) == {(mentee.pk, third.pk)}


def test_the_mentee_whose_only_candidate_was_paired_before_is_left_out_by_a_rule(
    program, org_admin, django_capture_on_commit_callbacks
):
    mentee = skilled_mentee(program)
    old = skilled_mentor(program)
    skilled_mentor(program, capacity=0)  # full: not a candidate, whatever the rules
    _ended(program, mentee, old)

    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)

    assert not run.proposals.exists()
    assert run.unpaired.get().reason == Reason.RULE_EXCLUDED
    assert run.totals["unpaired"] == {Reason.RULE_EXCLUDED: 1}


def test_allowing_pairs_who_were_paired_before_proposes_them_and_confirms_them(
    program, org_admin, django_capture_on_commit_callbacks
):
    mentee = skilled_mentee(program)
    old = skilled_mentor(program)
    _ended(program, mentee, old)

    run = run_autopair(
        program, org_admin, django_capture_on_commit_callbacks, allow_paired_before=True
    )
    assert proposed_pairs(run) == {(mentee.pk, old.pk)}
    detail = ActivityEvent.objects.get(program=program, verb="autopair_run").detail
    assert "allowing pairs who were paired before" in detail

    result = autopair.autopair_confirm(program=program, run_id=run.pk, user=org_admin)
    assert result.created == 1 and result.skipped == []
    assert Pairing.objects.get(program=program, status="active").mentor_id == old.pk


def test_do_not_pair_again_stays_excluded_when_pairs_paired_before_are_allowed(
    program, org_admin, django_capture_on_commit_callbacks
):
    mentee = skilled_mentee(program)
    never = skilled_mentor(program)
    again = skilled_mentor(program)
    _ended(program, mentee, never, do_not_pair_again=True)
    _ended(program, mentee, again)

    run = run_autopair(
        program, org_admin, django_capture_on_commit_callbacks, allow_paired_before=True
    )

    assert proposed_pairs(run) == {(mentee.pk, again.pk)}


def test_paired_before_pairs_are_the_ended_pairings_of_the_program(program, other_org):
    mentee, ended_with, active_with = (
        skilled_mentee(program),
        skilled_mentor(program),
        skilled_mentor(program),
    )
    _ended(program, mentee, ended_with)
    factories.PairingFactory(program=program, mentee=mentee, mentor=active_with)
    elsewhere = factories.ProgramFactory(organization=other_org)
    _ended(elsewhere, skilled_mentee(elsewhere), skilled_mentor(elsewhere))

    assert paired_before_pairs(program) == {(mentee.pk, ended_with.pk)}


# --- The review -----------------------------------------------------------------------


def test_the_review_marks_a_proposal_between_people_paired_before(
    program, org_admin, org_admin_client, django_capture_on_commit_callbacks
):
    mentee = skilled_mentee(program, first_name="Returning", goals=["rust"])
    old = skilled_mentor(program, last_name="Oldhand", skills=["rust"])
    skilled_mentee(program, first_name="Newcomer", goals=["go"])
    skilled_mentor(program, last_name="Freshface", skills=["go"])
    _ended(program, mentee, old)
    # Earlier, shorter pairing of the same two: the latest end is the one shown.
    _ended(program, mentee, old, ended_at=datetime(2025, 1, 10, 12, 0, tzinfo=UTC))
    run = run_autopair(
        program, org_admin, django_capture_on_commit_callbacks, allow_paired_before=True
    )
    assert (mentee.pk, old.pk) in proposed_pairs(run) and len(proposed_pairs(run)) == 2

    body = org_admin_client.get(_run_url(run)).content.decode()

    assert body.count("Paired before</span>") == 1
    assert "ended 3 Mar 2026" in body and "10 Jan 2025" not in body
    assert "1 proposal pairs people who were paired before" in body
    assert "pairs who were paired before allowed" in body
    row = next(r for r in body.split("<tr>") if "Returning" in r)
    assert "Paired before" in row
    assert "Paired before" not in next(r for r in body.split("<tr>") if "Newcomer" in r)


def test_the_review_page_marks_paired_before_at_the_same_query_count(
    program, org_admin, org_admin_client, django_assert_num_queries
):
    """tests/pairing/test_autopair.py pins this page at 13 queries; marks add none."""
    run = staged_run(program, org_admin, 120, 4)
    for proposal in run.proposals.order_by("id")[:60]:
        _ended(program, proposal.mentee, proposal.mentor)

    with django_assert_num_queries(13):
        response = org_admin_client.get(_run_url(run))

    assert response.status_code == 200
    # The first page (equal scores, so in id order) is all of the first 50.
    assert response.content.count(b"Paired before</span>") == 50
    assert b"60 proposals pair people who were paired before" in response.content


def test_swapping_in_a_mentor_paired_before_is_allowed_with_a_warning(
    program, org_admin, org_admin_client, django_capture_on_commit_callbacks
):
    mentee = skilled_mentee(program)
    old = skilled_mentor(program, last_name="Oldhand")
    skilled_mentor(program, last_name="Freshface")
    _ended(program, mentee, old)
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    assert old.pk not in {mentor for _, mentor in proposed_pairs(run)}
    url = _swap_url(run, mentee)

    page = org_admin_client.get(url).content.decode()
    row = next(r for r in page.split("<tr>") if "Oldhand" in r)
    assert "Paired before" in row and "ended 3 Mar 2026" in row
    assert "Paired before" not in next(r for r in page.split("<tr>") if "Freshface" in r)

    response = org_admin_client.post(url, {"mentor": old.pk}, follow=True)

    assert run.proposals.get().mentor_id == old.pk
    body = response.content.decode()
    assert "is now proposed with" in body
    assert "were paired before in this program (ended 3 Mar 2026)" in body
    assert "Paired before</span>" in body  # the review marks the swapped-in pair too


def test_proposal_set_mentor_says_when_the_two_were_paired_before(
    program, org_admin, django_capture_on_commit_callbacks
):
    mentee = skilled_mentee(program)
    old = skilled_mentor(program, skills=[])
    fresh = skilled_mentor(program)
    _ended(program, mentee, old)
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    assert proposed_pairs(run) == {(mentee.pk, fresh.pk)}

    swapped = autopair.proposal_set_mentor(
        program=program, run_id=run.pk, mentee_id=mentee.pk, mentor_id=old.pk
    )
    assert swapped.mentor_id == old.pk and swapped.paired_before == ENDED_AT
    back = autopair.proposal_set_mentor(
        program=program, run_id=run.pk, mentee_id=mentee.pk, mentor_id=fresh.pk
    )
    assert back.mentor_id == fresh.pk and back.paired_before is None


# --- The waitlist -----------------------------------------------------------------------


def _wait(program, mentee):
    return WaitlistEntry.objects.create(program=program, mentee=mentee, joined_at=timezone.now())


def test_waitlist_only_pairs_only_the_mentees_on_the_waitlist(
    program, org_admin, django_capture_on_commit_callbacks
):
    waiting = skilled_mentee(program)
    skilled_mentee(program)  # unpaired, not waiting
    paired_meanwhile = skilled_mentee(program)
    mentor = skilled_mentor(program, capacity=3)
    other = skilled_mentor(program, capacity=1, skills=[])
    _wait(program, waiting)
    _wait(program, paired_meanwhile)
    factories.PairingFactory(program=program, mentee=paired_meanwhile, mentor=other)

    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks, waitlist_only=True)

    assert proposed_pairs(run) == {(waiting.pk, mentor.pk)}
    assert run.totals["mentees"] == 1 and not run.unpaired.exists()
    detail = ActivityEvent.objects.get(program=program, verb="autopair_run").detail
    assert "only mentees on the waitlist" in detail

    autopair.autopair_discard(program=program, run_id=run.pk, user=org_admin)
    everyone = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    assert everyone.totals["mentees"] == 2


def test_the_run_form_pre_ticks_the_waitlist_from_the_link(program, org_admin_client):
    url = reverse("pairing:autopair", kwargs={"program_id": program.pk})

    ticked = org_admin_client.get(url + "?waitlist=1").content.decode()
    plain = org_admin_client.get(url).content.decode()

    assert 'name="waitlist_only" id="id_waitlist_only" checked' in ticked
    assert 'name="waitlist_only" id="id_waitlist_only">' in plain
    assert 'name="allow_paired_before" id="id_allow_paired_before">' in plain
    assert "Allow pairs who were paired before in this program" in plain
    assert "Only mentees on the waitlist" in plain


def test_the_run_form_stores_both_options(
    program, org_admin_client, django_capture_on_commit_callbacks
):
    _wait(program, skilled_mentee(program))
    skilled_mentor(program)
    url = reverse("pairing:autopair", kwargs={"program_id": program.pk})
    with django_capture_on_commit_callbacks(execute=True):
        response = org_admin_client.post(
            url,
            {
                "objective": "most_pairs",
                "preference_bonus": "10",
                "waitlist_only": "on",
                "allow_paired_before": "on",
            },
        )
    run = AutoPairRun.objects.get()
    assert response.status_code == 302
    assert run.options["waitlist_only"] is True and run.options["allow_paired_before"] is True
    page = org_admin_client.get(response.url).content.decode()
    assert (
        "Only mentees on the waitlist." in page
        and "<dd>1 waitlisted mentee; 1 mentor with free seats" in page
    )
    assert "<strong>1 of 1</strong> waitlisted mentee would get a mentor" in page


def test_the_waitlist_link_is_for_the_programs_admins_only(
    program, other_admin_client, anon_client
):
    url = reverse("pairing:autopair", kwargs={"program_id": program.pk}) + "?waitlist=1"
    assert other_admin_client.get(url).status_code == 404
    response = anon_client.get(url)
    assert response.status_code == 302 and "login" in response.url


def test_options_round_trip_through_json():
    options = Options(allow_paired_before=True, waitlist_only=True, preference_bonus=5)

    stored = json.loads(json.dumps(options.as_json()))

    assert stored["allow_paired_before"] is True and stored["waitlist_only"] is True
    assert Options.from_json(stored) == options
    # A run stored before these options existed reads as the defaults.
    older = {k: v for k, v in stored.items() if k not in ("allow_paired_before", "waitlist_only")}
    assert Options.from_json(older) == Options(preference_bonus=5)
    assert Options().allow_paired_before is False and Options().waitlist_only is False
