"""The auto-pair review reads as a decision: who gets a mentor, who stays unpaired and
why, what is unusual; the solver's figures folded away under "How this was computed".

Helpers: tests/support/autopair.py.
"""

import re
from datetime import UTC, datetime

from django.urls import reverse

from pairing.autopair import selectors
from pairing.models import AutoPairProposal, AutoPairRun, AutoPairUnpaired
from programs.match_weights import MUST_MATCH, match_weights_update, program_rules
from tests import factories
from tests.support.autopair import run_autopair, skilled_mentee, skilled_mentor

Reason = AutoPairUnpaired.Reason


def _run_url(run):
    return reverse("pairing:autopair_run", kwargs={"program_id": run.program_id, "run_id": run.pk})


def _text(html: str) -> str:
    """The page's words, tags dropped and spaces folded, to read sentences across markup."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" .", ".").replace(" :", ":")


def _ended(program, mentee, mentor, **kw):
    return factories.PairingFactory(
        program=program,
        mentee=mentee,
        mentor=mentor,
        status="ended",
        ended_at=datetime(2026, 3, 3, 12, 0, tzinfo=UTC),
        **kw,
    )


def _known_run(program, user):
    """A staged run written row by row, with figures known in advance:

    Ada is given 4 mentees (her full capacity), Ben 3 of his 5 seats, Cy 1;
    one match scores 10, one was swapped in by hand, one pairs people paired
    before; 2 mentees have no candidate and 1 was removed.
    """
    run = AutoPairRun.objects.create(
        program=program, created_by=user, status=AutoPairRun.Status.STAGED,
        totals={"mentees": 11, "mentors": 3, "seats": 10, "pairs": 9, "all_pairs": True,
                "candidate_edges": 27, "total_score": 480, "k": 3},
        timings={"total": 1.0, "score": 0.5, "solve": 0.1},
    )  # fmt: skip
    ada = skilled_mentor(program, capacity=4, first_name="Ada", last_name="Lovelace")
    ben = skilled_mentor(program, capacity=5, first_name="Ben", last_name="Bright")
    cy = skilled_mentor(program, capacity=1, first_name="Cy", last_name="Clear")
    mentors = [ada] * 4 + [ben] * 3 + [cy]
    mentees = [skilled_mentee(program) for _ in mentors]
    scores = [10.0] + [60.0] * 7
    AutoPairProposal.objects.bulk_create(
        AutoPairProposal(run=run, mentee=mentee, mentor=mentor, score=score, swapped=n == 7)
        for n, (mentee, mentor, score) in enumerate(zip(mentees, mentors, scores, strict=True))
    )
    _ended(program, mentees[7], cy)
    reasons = [Reason.NO_CANDIDATE, Reason.NO_CANDIDATE, Reason.REMOVED]
    AutoPairUnpaired.objects.bulk_create(
        AutoPairUnpaired(run=run, mentee=skilled_mentee(program), reason=reason)
        for reason in reasons
    )
    return run


def test_the_summary_figures_of_a_run_with_known_numbers(program, org_admin):
    run = _known_run(program, org_admin)

    summary = selectors.proposal_summary(run)

    assert summary["pairs"] == 8 and summary["unpaired"] == 3
    assert summary["average"] == (10 + 7 * 60) / 8
    assert summary["low"] == 1 and summary["swapped"] == 1 and summary["paired_before"] == 1
    assert [(value, count) for value, _, count in summary["by_reason"]] == [
        (Reason.NO_CANDIDATE, 2),
        (Reason.REMOVED, 1),
    ]
    assert summary["busy_count"] == 2 and summary["busy_more"] == 0
    assert summary["busy_mentors"] == [
        {"name": "Ada Lovelace", "mentees": 4, "capacity": 4},
        {"name": "Ben Bright", "mentees": 3, "capacity": 5},
    ]


def test_the_review_leads_with_the_decision_in_plain_words(
    program, org_admin, org_admin_client, monkeypatch
):
    run = _known_run(program, org_admin)
    monkeypatch.setattr(selectors, "MANY_MENTEES_NAMED", 1)

    text = _text(org_admin_client.get(_run_url(run)).content.decode())

    assert (
        "8 of 11 mentees would get a mentor; 3 would stay unpaired. The average match is 54 out of 100"
        in (text)
    )
    assert "Why 3 mentees are left unpaired" in text
    assert "2 mentees: no mentor matches their must-match fields" in text
    assert "1 mentee: you removed their proposal" in text
    # Unusual: the busiest mentor named (one, here), the rest counted.
    assert "2 mentors are given 3 mentees or more: Ada Lovelace (4, their full capacity)" in text
    assert ", and 1 more." in text and "Ben Bright (3" not in text
    assert "1 proposal pairs people who were paired before in this program" in text
    assert "1 match scores below 20 out of 100" in text
    assert "You changed 1 mentor by hand" in text


def test_the_summary_comes_first_and_the_solver_figures_are_folded_away(
    program, org_admin, org_admin_client
):
    run = _known_run(program, org_admin)

    page = org_admin_client.get(_run_url(run)).content.decode()

    order = [
        "mentees would get a mentor",
        "Why 3 mentees are left unpaired",
        "Worth a look",
        "Confirm 8 pairs",
        "<details",
        "<summary>How this was computed</summary>",
        "Proven optimal over every allowed pair",
        "27 candidate pairs",
        "solving 0.10 s",
        "</details>",
        'id="autopair-results"',
    ]
    at = [page.index(words) for words in order]
    assert at == sorted(at), [words for words, n in zip(order, at, strict=True)]
    before = page[: page.index("<details")]
    for solver_word in ("Proven optimal", "candidate pair", "solving", "total score"):
        assert solver_word not in before
    # Collapsed: no `open` on the details.
    assert '<details class="how" id="autopair-how">' in page


def test_nothing_unusual_is_said_plainly(
    program, org_admin, org_admin_client, django_capture_on_commit_callbacks
):
    skilled_mentee(program)
    skilled_mentor(program)
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)

    text = _text(org_admin_client.get(_run_url(run)).content.decode())

    assert "1 of 1 mentee would get a mentor." in text
    assert "Nothing unusual: no mentor is given 3 mentees or more" in text
    assert "would stay unpaired" not in text


def test_the_review_page_with_every_kind_of_figure_keeps_its_query_count(
    program, org_admin, org_admin_client, django_assert_num_queries
):
    """The same count as a plain run (tests/pairing/test_autopair.py): busy mentors,
    low scores, pairs paired before and reasons cost no query each."""
    run = _known_run(program, org_admin)
    url = _run_url(run)
    org_admin_client.get(url)  # renews the session (once a minute)

    with django_assert_num_queries(10):
        response = org_admin_client.get(url)

    assert b"Ada Lovelace (4, their full capacity)" in response.content


def test_why_unpaired_from_a_real_run(
    program, org_admin, org_admin_client, django_capture_on_commit_callbacks
):
    """Each reason as the worker finds it, and which rule-bound mentees only the
    "paired before" rule held back (not "do not pair again")."""
    weights = {
        rule.pk: MUST_MATCH if rule.mentee_question.key == "department" else rule.weight
        for rule in program_rules(program)
    }
    assert match_weights_update(program=program, weights=weights, user=org_admin)
    ada = skilled_mentor(program, capacity=4, department="Eng", first_name="Ada")
    ola = skilled_mentor(program, department="Ops")
    lee = skilled_mentor(program, department="Legal")
    skilled_mentor(program, capacity=0, department="Sales")
    engineers = [skilled_mentee(program, department="Eng") for _ in range(5)]
    returning = skilled_mentee(program, department="Ops")
    _ended(program, returning, ola)
    barred = skilled_mentee(program, department="Legal")
    _ended(program, barred, lee, do_not_pair_again=True)
    skilled_mentee(program, department="Sales")
    skilled_mentee(program, department="HR")

    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)

    assert {p.mentor_id for p in run.proposals.all()} == {ada.pk}
    assert run.proposals.count() == 4
    assert {p.mentee_id for p in run.proposals.all()} < {m.pk for m in engineers}
    assert run.totals["unpaired"] == {
        Reason.NOT_CHOSEN: 1,
        Reason.RULE_EXCLUDED: 2,
        Reason.ALL_FULL: 1,
        Reason.NO_CANDIDATE: 1,
    }
    assert run.totals["paired_before_only"] == 1

    text = _text(org_admin_client.get(_run_url(run)).content.decode())

    assert "4 of 9 mentees would get a mentor; 5 would stay unpaired" in text
    assert "1 mentee: no mentor matches their must-match fields" in text
    assert "1 mentee: the mentors who match them have no free seat or aren't accepting" in text
    assert "2 mentees: every mentor with a free seat who matches them is ruled out" in text
    assert "For 1 of them only the “paired before” rule stood in the way" in text
    assert (
        "1 mentee: mentors who match them had free seats, but those seats went to other mentees: pairing them would leave someone else unpaired"
        in text
    )
    assert "1 mentor is given 3 mentees or more: Ada" in text and "their full capacity" in text


def test_allowing_pairs_paired_before_leaves_nobody_held_back_by_that_rule(
    program, org_admin, django_capture_on_commit_callbacks
):
    mentee = skilled_mentee(program)
    mentor = skilled_mentor(program)
    _ended(program, mentee, mentor, do_not_pair_again=True)

    run = run_autopair(
        program, org_admin, django_capture_on_commit_callbacks, allow_paired_before=True
    )

    assert run.totals["unpaired"] == {Reason.RULE_EXCLUDED: 1}
    assert run.totals["paired_before_only"] == 0


def test_paired_before_only_counts_nobody_another_rule_also_holds_back(
    program, org_admin, django_capture_on_commit_callbacks
):
    """Allowing pairs paired before would not help a mentee whose old mentor is in
    their own department when the run asks for a different one."""
    mentee = skilled_mentee(program, department="Eng")
    old = skilled_mentor(program, department="Eng")
    _ended(program, mentee, old)

    run = run_autopair(
        program, org_admin, django_capture_on_commit_callbacks, different_department=True
    )

    assert run.totals["unpaired"] == {Reason.RULE_EXCLUDED: 1}
    assert run.totals["paired_before_only"] == 0


def test_a_run_over_each_mentees_best_mentors_says_others_might_have_room(
    program, org_admin, org_admin_client
):
    run = AutoPairRun.objects.create(
        program=program, created_by=org_admin, status=AutoPairRun.Status.STAGED,
        totals={"mentees": 1, "seats": 0, "pairs": 0, "all_pairs": False, "k": 50,
                "candidate_edges": 50, "total_score": 0},
        timings={"total": 1.0, "score": 0.5, "solve": 0.1},
    )  # fmt: skip
    AutoPairUnpaired.objects.create(
        run=run, mentee=skilled_mentee(program), reason=Reason.NOT_CHOSEN
    )

    text = _text(org_admin_client.get(_run_url(run)).content.decode())

    assert "0 of 1 mentee would get a mentor; 1 would stay unpaired." in text
    assert "Only each mentee's 50 best-matching mentors and their own choices were looked at" in (
        text
    )
    assert "Proven optimal over each mentee's 50 best-matching mentors" in text
