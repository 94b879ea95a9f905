"""Auto-pair in the database: runs, staging, remove / swap, confirm, discard, and the pages."""

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from pairing import autopair
from pairing.autopair import Options, runs
from pairing.models import (
    AutoPairProposal,
    AutoPairRun,
    AutoPairUnpaired,
    MentorPreference,
    MentorRequest,
    Pairing,
)
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.models import OutboundEmail
from programs.models import ActivityEvent, Participant
from programs.questions import answer_labels, answers_of
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


@pytest.mark.parametrize("path", ["copy", "insert"])
def test_run_stages_proposals_within_capacity_and_logs_it(
    program, org_admin, django_capture_on_commit_callbacks, path, monkeypatch
):
    if path == "copy" and connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    if path == "insert":
        # The portable path (SQLite), run here against whatever database the tests use.
        monkeypatch.setattr(runs, "is_postgresql", lambda: False)
    mentees = [skilled_mentee(program) for _ in range(5)]
    big = skilled_mentor(program, capacity=3)
    small = skilled_mentor(program, capacity=1)
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    assert run.status == Status.STAGED and run.progress == 100
    assert run.totals["pairs"] == 4 and run.totals["seats"] == 4
    per_mentor = {big.pk: 0, small.pk: 0}
    for _, mentor_id in proposed_pairs(run):
        per_mentor[mentor_id] += 1
    assert per_mentor == {big.pk: 3, small.pk: 1}
    (left,) = run.unpaired.all()
    assert left.mentee_id in {m.pk for m in mentees} and left.reason == Reason.NOT_CHOSEN
    proposal = run.proposals.first()
    assert "Skills: python" in proposal.reasons
    assert ActivityEvent.objects.filter(program=program, verb="autopair_run").count() == 1
    # Staging sends nothing and pairs nobody yet.
    assert not OutboundEmail.objects.exists()
    assert not Pairing.objects.exists()


def test_only_unpaired_mentees_and_free_seats_count(
    program, org_admin, django_capture_on_commit_callbacks
):
    paired, pending, free = (
        skilled_mentee(program),
        skilled_mentee(program),
        skilled_mentee(program),
    )
    mentor = skilled_mentor(program, capacity=3)
    skilled_mentor(program, capacity=5, accepting_requests=False)
    factories.PairingFactory(program=program, mentee=paired, mentor=mentor)
    factories.MentorRequestFactory(program=program, mentee=pending, mentor=mentor)
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    # One seat left on `mentor` (3 - 1 active - 1 pending); `closed` is not accepting.
    assert proposed_pairs(run) == {(free.pk, mentor.pk)}
    assert run.totals["mentees"] == 1 and run.totals["seats"] == 1
    autopair.autopair_discard(program=program, run_id=run.pk, user=org_admin)
    run = run_autopair(
        program, org_admin, django_capture_on_commit_callbacks, include_not_accepting=True
    )
    assert run.totals["seats"] == 6


def test_rules_keep_out_do_not_pair_again_and_the_managers(
    program, org_admin, django_capture_on_commit_callbacks
):
    mentee = skilled_mentee(program, manager_email="boss@example.org", department="Eng")
    boss = skilled_mentor(program, email="boss@example.org", department="Ops")
    peer = skilled_mentor(program, manager_email="boss@example.org", department="Ops")
    same_dept = skilled_mentor(program, department="Eng")
    old = skilled_mentor(program, department="Ops")
    factories.PairingFactory(
        program=program,
        mentee=mentee,
        mentor=old,
        status="ended",
        ended_at=timezone.now(),
        do_not_pair_again=True,
    )
    run = run_autopair(
        program, org_admin, django_capture_on_commit_callbacks,
        avoid_shared_manager=True, different_department=True,
    )  # fmt: skip
    assert not proposed_pairs(run)
    assert run.unpaired.get().reason == Reason.RULE_EXCLUDED
    autopair.autopair_discard(program=program, run_id=run.pk, user=org_admin)
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    assert proposed_pairs(run) in ({(mentee.pk, peer.pk)}, {(mentee.pk, same_dept.pk)})
    assert boss.pk not in {m for _, m in proposed_pairs(run)}


def test_submitted_preference_wins_with_a_bonus(
    program, org_admin, django_capture_on_commit_callbacks
):
    mentee = skilled_mentee(program)
    skilled_mentor(program)  # the better match on paper
    chosen = skilled_mentor(program, skills=[])
    MentorPreference.objects.create(program=program, mentee=mentee, mentor=chosen, rank=1)
    run = run_autopair(
        program, org_admin, django_capture_on_commit_callbacks, objective="quality",
        preference_bonus=50,
    )  # fmt: skip
    proposal = run.proposals.get()
    assert proposal.mentor_id == chosen.pk and proposal.preference_rank == 1


def test_a_second_run_is_refused_while_one_is_open(
    program, org_admin, django_capture_on_commit_callbacks
):
    skilled_mentee(program)
    skilled_mentor(program)
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    with pytest.raises(DomainError, match="confirm or discard"):
        autopair.autopair_start(program=program, user=org_admin, options=Options())
    autopair.autopair_discard(program=program, run_id=run.pk, user=org_admin)
    assert (
        run_autopair(program, org_admin, django_capture_on_commit_callbacks).status == Status.STAGED
    )


def test_redelivered_task_does_nothing(program, org_admin, django_capture_on_commit_callbacks):
    skilled_mentee(program)
    skilled_mentor(program)
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    assert autopair.autopair_execute(run_id=run.pk) is False
    assert run.proposals.count() == 1


def test_person_rows_read_like_values(program):
    """The run's read gives what `.values()` gives, plus each person's answers."""
    skilled_mentee(program, interests=["Python", "public  speaking"], goals=[], skills=["SQL"])
    skilled_mentee(program, interests=[], goals=['Leading "teams"'], department="Legal")
    skilled_mentor(program, skills=["Python", "Zoë's topic"], interests=["Ünïcode"])
    qs = Participant.objects.filter(program=program)

    rows = autopair.reading.person_rows(qs, "capacity")

    answers = [row.pop("answers") for row in rows]
    assert rows == list(qs.order_by("pk").values(*autopair.PERSON_FIELDS, "capacity"))
    assert answers == [answers_of([row["id"]])[row["id"]] for row in rows]
    labels = answer_labels(program, {row["id"]: a for row, a in zip(rows, answers, strict=True)})
    assert labels[rows[1]["id"]] == {"goals": ['Leading "teams"']}
    assert labels[rows[0]["id"]]["interests"] == ["Python", "public speaking"]


def test_a_crash_marks_the_run_failed(
    program, org_admin, django_capture_on_commit_callbacks, monkeypatch
):
    skilled_mentee(program)
    skilled_mentor(program)

    def boom(*args, **kwargs):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(autopair.runs, "solve", boom)
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    assert run.status == Status.FAILED and "solver exploded" in run.error
    assert autopair.open_run(program) is None


def test_remove_sends_the_mentee_back_to_the_unpaired_list(
    program, org_admin, django_capture_on_commit_callbacks
):
    mentee = skilled_mentee(program)
    skilled_mentor(program)
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    autopair.proposal_remove(program=program, run_id=run.pk, mentee_id=mentee.pk)
    assert not run.proposals.exists()
    assert run.unpaired.get().reason == Reason.REMOVED


def test_swap_rechecks_seats_and_rules(program, org_admin, django_capture_on_commit_callbacks):
    a, b = skilled_mentee(program), skilled_mentee(program, manager_email="lead@example.org")
    m1 = skilled_mentor(program, capacity=2)
    spare = skilled_mentor(program, capacity=1, skills=[])
    manager = skilled_mentor(program, capacity=1, email="lead@example.org", skills=[])
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    assert proposed_pairs(run) == {(a.pk, m1.pk), (b.pk, m1.pk)}
    with pytest.raises(DomainError, match="manager"):
        autopair.proposal_set_mentor(
            program=program, run_id=run.pk, mentee_id=b.pk, mentor_id=manager.pk
        )
    swapped = autopair.proposal_set_mentor(
        program=program, run_id=run.pk, mentee_id=a.pk, mentor_id=spare.pk
    )
    assert swapped.swapped and swapped.mentor_id == spare.pk
    # The swapped proposal now holds spare's only seat.
    with pytest.raises(DomainError, match="no free seat"):
        autopair.proposal_set_mentor(
            program=program, run_id=run.pk, mentee_id=b.pk, mentor_id=spare.pk
        )
    # A removed mentee can be given a mentor again.
    autopair.proposal_remove(program=program, run_id=run.pk, mentee_id=b.pk)
    autopair.proposal_set_mentor(program=program, run_id=run.pk, mentee_id=b.pk, mentor_id=m1.pk)
    assert not run.unpaired.exists()


def test_confirm_creates_pairings_and_only_assignment_emails(
    program, org_admin, django_capture_on_commit_callbacks
):
    mentees = [skilled_mentee(program) for _ in range(3)]
    mentor = skilled_mentor(program, capacity=3)
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    result = autopair.autopair_confirm(program=program, run_id=run.pk, user=org_admin)
    assert result.created == 3 and result.skipped == []
    pairings = Pairing.objects.filter(program=program)
    assert {p.mentee_id for p in pairings} == {m.pk for m in mentees}
    assert {p.origin for p in pairings} == {"auto_pair"} and {p.mentor_id for p in pairings} == {
        mentor.pk
    }
    emails = OutboundEmail.objects.filter(program=program)
    # One email per person: each mentee gets theirs, the mentor one naming all three.
    assert sorted(e.kind for e in emails) == ["assignment"] * 3 + ["assignments"]
    expected = {f"assignment:{p.pk}:{p.mentee_id}" for p in pairings} | {
        f"assignments:autopair-{run.pk}:{mentor.pk}"
    }
    assert {e.idempotency_key for e in emails} == expected
    digest = emails.get(kind="assignments")
    assert digest.to_email == mentor.email
    assert all(m.full_name in digest.body_text for m in mentees)
    assert digest.body_text.count("/s/") == 3
    assert all("/s/" in e.body_text for e in emails)
    run.refresh_from_db()
    assert run.status == Status.CONFIRMED and run.totals["confirmed"] == 3
    assert ActivityEvent.objects.filter(program=program, verb="autopair_confirmed").exists()
    with pytest.raises(DomainError):
        autopair.autopair_confirm(program=program, run_id=run.pk, user=org_admin)


def test_confirm_skips_and_reports_proposals_that_no_longer_fit(
    program, org_admin, django_capture_on_commit_callbacks
):
    for _ in range(3):
        skilled_mentee(program)
    m1 = skilled_mentor(program, capacity=2)
    m2 = skilled_mentor(program, capacity=1)
    other = skilled_mentor(program, capacity=1, skills=[])
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    pairs = proposed_pairs(run)
    assert len(pairs) == 3
    # The three mentees are alike: whichever two the run gave m1, one of them
    # gets paired elsewhere meanwhile, and m2 fills up through a request.
    with_m1 = sorted(mentee for mentee, mentor in pairs if mentor == m1.pk)
    assert len(with_m1) == 2 and other.pk not in {mentor for _, mentor in pairs}
    factories.PairingFactory(program=program, mentee_id=with_m1[0], mentor=other)
    late = skilled_mentee(program)
    factories.MentorRequestFactory(program=program, mentee=late, mentor=m2)
    result = autopair.autopair_confirm(program=program, run_id=run.pk, user=org_admin)
    reasons = sorted(s["why"] for s in result.skipped)
    assert len(result.skipped) == 2
    assert any("mentee was paired" in r for r in reasons)
    assert any("no free seat" in r for r in reasons)
    assert result.created == 1
    assert Pairing.objects.filter(origin="auto_pair").count() == 1
    for mentor in (m1, m2):
        active = Pairing.objects.filter(mentor=mentor, status="active").count()
        pending = MentorRequest.objects.filter(mentor=mentor, status="pending").count()
        assert active + pending <= mentor.capacity
    # The one created is the other m1 proposal.
    assert Pairing.objects.get(origin="auto_pair").mentee_id == with_m1[1]


def test_confirm_skips_a_mentee_who_is_no_longer_a_mentee(
    program, org_admin, django_capture_on_commit_callbacks
):
    mentee = skilled_mentee(program)
    mentor = skilled_mentor(program, capacity=2)
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    assert proposed_pairs(run) == {(mentee.pk, mentor.pk)}
    # As the data may stand after a database edit (the admin's form refuses it while the
    # run is staged).
    Participant.objects.filter(pk=mentee.pk).update(role="mentor")
    result = autopair.autopair_confirm(program=program, run_id=run.pk, user=org_admin)
    assert result.created == 0
    assert [s["why"] for s in result.skipped] == ["the mentee is no longer a mentee in the program"]
    assert not Pairing.objects.exists()


def test_discard_drops_the_proposals_and_logs_it(
    program, org_admin, django_capture_on_commit_callbacks
):
    skilled_mentee(program)
    skilled_mentor(program)
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    autopair.autopair_discard(program=program, run_id=run.pk, user=org_admin)
    run.refresh_from_db()
    assert run.status == Status.DISCARDED and not AutoPairProposal.objects.exists()
    assert ActivityEvent.objects.filter(program=program, verb="autopair_discarded").exists()
    assert not Pairing.objects.exists() and not OutboundEmail.objects.exists()


# --- Pages -----------------------------------------------------------------------------


def test_run_form_starts_a_run_and_redirects_to_it(
    program, org_admin_client, django_capture_on_commit_callbacks
):
    skilled_mentee(program)
    skilled_mentor(program)
    url = reverse("pairing:autopair", kwargs={"program_id": program.pk})
    page = org_admin_client.get(url)
    assert page.status_code == 200 and b"Pair as many mentees as possible" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = org_admin_client.post(
            url, {"objective": "quality", "preference_bonus": "5", "different_department": "on"}
        )
    run = AutoPairRun.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/auto-pair/{run.pk}/")
    assert run.options["different_department"] is True and run.objective == "quality"
    again = org_admin_client.post(url, {"objective": "quality", "preference_bonus": "5"})
    assert again.status_code == 409 and b"waiting for your review" in again.content


def test_run_form_rejects_a_bad_bonus(program, org_admin_client):
    url = reverse("pairing:autopair", kwargs={"program_id": program.pk})
    response = org_admin_client.post(url, {"objective": "most_pairs", "preference_bonus": "99"})
    assert response.status_code == 400 and not AutoPairRun.objects.exists()


def test_progress_fragment_polls_while_working_and_refreshes_when_done(
    program, org_admin, org_admin_client
):
    run = AutoPairRun.objects.create(program=program, created_by=org_admin, progress=40)
    url = reverse("pairing:autopair_progress", kwargs={"program_id": program.pk, "run_id": run.pk})
    working = org_admin_client.get(url, headers={"HX-Request": "true"})
    assert b'hx-trigger="every 1s"' in working.content and "HX-Refresh" not in working
    assert b'value="40"' in working.content
    AutoPairRun.objects.filter(pk=run.pk).update(status=Status.STAGED)
    done = org_admin_client.get(url, headers={"HX-Request": "true"})
    assert done["HX-Refresh"] == "true"
    assert org_admin_client.get(url).status_code == 302  # without htmx: the run page


@pytest.mark.parametrize("size", [5, 120])
def test_review_page_query_count_does_not_grow_with_the_run(
    size, program, org_admin, org_admin_client, django_assert_num_queries
):
    run = staged_run(program, org_admin, size, 4)
    url = reverse("pairing:autopair_run", kwargs={"program_id": program.pk, "run_id": run.pk})
    org_admin_client.get(url)  # renews the session (once a minute)
    # The same count at 5 and 120 proposals: no query per row.
    with django_assert_num_queries(10):
        response = org_admin_client.get(url)
    assert response.status_code == 200
    assert response.content.count(b"Change mentor") == min(size, 50)
    with django_assert_num_queries(10):
        unpaired = org_admin_client.get(url + "?view=unpaired")
    assert unpaired.content.count(b"No mentor passes the must-match fields") >= 3


def test_review_page_searches_and_sorts_with_htmx(program, org_admin, org_admin_client):
    run = staged_run(program, org_admin, 4, 2)
    target = run.proposals.order_by("id").first()
    target.mentee.first_name = "Philippa"
    target.mentee.save()
    url = reverse("pairing:autopair_run", kwargs={"program_id": program.pk, "run_id": run.pk})
    response = org_admin_client.get(
        url + "?q=philippa&sort=score",
        headers={"HX-Request": "true", "HX-Target": "autopair-results"},
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="autopair-results">')
    assert "Philippa" in body and body.count("Change mentor") == 1


def test_swap_page_lists_mentors_with_seats_and_swaps(
    program, org_admin, org_admin_client, django_capture_on_commit_callbacks
):
    mentee = skilled_mentee(program)
    first = skilled_mentor(program, last_name="First")
    full = skilled_mentor(program, capacity=0, last_name="Fullone")
    spare = skilled_mentor(program, last_name="Sparesome", skills=[])
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    url = reverse(
        "pairing:autopair_mentor",
        kwargs={"program_id": program.pk, "run_id": run.pk, "mentee_id": mentee.pk},
    )
    page = org_admin_client.get(url).content.decode()
    assert "Sparesome" in page and "Fullone" not in page
    # The current mentor's seat is this mentee's own, so they are listed too.
    assert f'value="{first.pk}"' in page
    response = org_admin_client.post(url, {"mentor": spare.pk})
    assert response.status_code == 302
    assert run.proposals.get().mentor_id == spare.pk
    refused = org_admin_client.post(url, {"mentor": full.pk}, follow=True)
    assert b"no free seat" in refused.content
    assert run.proposals.get().mentor_id == spare.pk


def test_confirm_and_discard_buttons(
    program, org_admin, org_admin_client, django_capture_on_commit_callbacks
):
    skilled_mentee(program)
    skilled_mentor(program)
    run = run_autopair(program, org_admin, django_capture_on_commit_callbacks)
    kwargs = {"program_id": program.pk, "run_id": run.pk}
    assert (
        org_admin_client.get(reverse("pairing:autopair_confirm", kwargs=kwargs)).status_code == 405
    )
    response = org_admin_client.post(
        reverse("pairing:autopair_confirm", kwargs=kwargs), follow=True
    )
    assert b"Created 1 pairing." in response.content
    assert Pairing.objects.filter(origin="auto_pair").count() == 1
    response = org_admin_client.post(
        reverse("pairing:autopair_discard", kwargs=kwargs), follow=True
    )
    assert b"confirmed; it cannot change" in response.content


def test_unpaired_tab_bar_links_to_auto_pair(program, org_admin_client):
    page = org_admin_client.get(reverse("pairing:unpaired", kwargs={"program_id": program.pk}))
    assert reverse("pairing:autopair", kwargs={"program_id": program.pk}).encode() in page.content
