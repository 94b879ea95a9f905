"""Every path that takes or gives back a mentor's seat, raced and one by one.

The invariant: after any commit, no pending request targets a mentor with no
free seat (full, or not accepting requests), each request that closed for
that reason told its mentee once (or passed on to their next choice), and
nobody is both paired and still waiting. A seat that appears (a new mentor
registers or is imported, a capacity goes up, a mentor is back from
"unavailable") goes to the waitlist at once.
"""

import pytest
from django.urls import reverse

from pairing import autopair, services, waitlist
from pairing.autopair import Options
from pairing.email_kinds import EmailKind
from pairing.models import AutoPairRun, MentorRequest, Pairing, PendingRequest, WaitlistEntry
from pairing_admin.mail.models import OutboundEmail
from programs.imports.services import import_apply, import_create, import_preview
from programs.models import Participant, Program
from programs.registration import registration_submit
from programs.services import participant_update
from tests import factories
from tests.support.builders import participant_edit_form
from tests.support.race import race

Status = MentorRequest.Status
ROUNDS = 6


def _program(org, **fields) -> Program:
    """User-led with Approval, pairing on, waitlist on (the factory's defaults)."""
    return factories.ProgramFactory(organization=org, pairing_enabled=True, **fields)


def _ask(program, *mentors) -> MentorRequest:
    mentee = factories.ParticipantFactory(program=program)
    return services.preferences_submit(mentee=mentee, mentor_ids=[m.pk for m in mentors]).request


def _wait(program, *, wanted=()) -> Participant:
    mentee = factories.ParticipantFactory(program=program)
    waitlist.waitlist_join(mentee=mentee, mentor_ids=[m.pk for m in wanted])
    return mentee


def _offer_to(mentee) -> MentorRequest | None:
    return MentorRequest.objects.filter(mentee=mentee, status=Status.PENDING).first()


def _emails(kind, **filters):
    return OutboundEmail.objects.filter(kind=kind, **filters)


# --- 1. Every path at once ------------------------------------------------------------


def _staged_run(program, admin) -> AutoPairRun:
    run = autopair.autopair_start(program=program, user=admin, options=Options())
    autopair.autopair_execute(run_id=run.pk)  # the on-commit task already ran it, or this does
    run.refresh_from_db()
    assert run.status == AutoPairRun.Status.STAGED
    return run


def _set_the_stage(org, admin, *, next_choice: bool):
    """One two-seat mentor, a staged run proposing a mentee for one seat, four pending
    requests, a mentee to pair by hand and one waiting only for this mentor."""
    program = _program(
        org,
        after_decline=(
            Program.AfterDecline.NEXT_CHOICE if next_choice else Program.AfterDecline.CHOOSE_AGAIN
        ),
    )
    mentor = factories.MentorFactory(program=program, capacity=2, skills=["python"])
    proposed = factories.ParticipantFactory(program=program, goals=["python"])
    run = _staged_run(program, admin)  # before anyone else exists: only this pair to propose
    assert list(run.proposals.values_list("mentee_id", "mentor_id")) == [(proposed.pk, mentor.pk)]
    # Under "next choice" a closed request passes to a mentor with plenty of room.
    backup = [factories.MentorFactory(program=program, capacity=10)] if next_choice else []
    requests = [_ask(program, mentor, *backup) for _ in range(4)]
    assert {r.mentor_id for r in requests} == {mentor.pk}
    by_hand = factories.ParticipantFactory(program=program)
    waiting = _wait(program, wanted=[mentor])
    # Pending requests and the run's proposal speak for every seat: no offer yet.
    assert _offer_to(waiting) is None
    return program, mentor, run, requests, by_hand, waiting


def _every_path(program, mentor, run, requests, by_hand, admin) -> dict:
    return {
        "approve 1": lambda: services.request_approve(request_id=requests[0].pk),
        "approve 2": lambda: services.request_approve(request_id=requests[1].pk),
        "pair by hand": lambda: services.pairing_create_by_admin(
            program=program, mentee_id=by_hand.pk, mentor_id=mentor.pk, user=admin
        ),
        "auto-pair confirm": lambda: autopair.autopair_confirm(
            program=program, run_id=run.pk, user=admin
        ),
        "decline, unavailable": lambda: services.request_decline(
            request_id=requests[2].pk, message="On leave", unavailable=True
        ),
        "capacity to 1": lambda: participant_update(
            participant=Participant.objects.get(pk=mentor.pk), user=admin, capacity=1
        ),
        "waitlist offer": lambda: waitlist.seats_offer(program=program, mentor_ids=[mentor.pk]),
    }


def _nobody_waits_for_a_seat_that_is_not_there(program) -> None:
    for row in PendingRequest.objects.filter(program=program).select_related("mentor"):
        mentor = row.mentor
        active = Pairing.objects.filter(mentor=mentor, status=Pairing.Status.ACTIVE).count()
        assert mentor.accepting_requests, (row.request_id, "waits for an unavailable mentor")
        assert active < mentor.capacity, (row.request_id, active, mentor.capacity)


def _each_closed_request_told_its_mentee_once(program) -> None:
    for request in MentorRequest.objects.filter(program=program, status=Status.CLOSED):
        closed = _emails(EmailKind.REQUEST_CLOSED, to_email=request.mentee.email)
        forwarded = _emails(
            EmailKind.REQUEST_FORWARDED, idempotency_key=f"request-forwarded:{request.pk}"
        ).exists()
        if forwarded:
            assert not closed.exists(), request.pk
            assert MentorRequest.objects.filter(
                mentee=request.mentee, rank__gt=request.rank
            ).exists(), request.pk
        else:
            assert list(closed.values_list("idempotency_key", flat=True)) == [
                f"request-closed:{request.pk}"
            ], request.pk


def _nobody_paired_and_still_waiting(program) -> None:
    paired = set(
        Pairing.objects.filter(program=program, status=Pairing.Status.ACTIVE).values_list(
            "mentee_id", flat=True
        )
    )
    pending = set(
        PendingRequest.objects.filter(program=program).values_list("mentee_id", flat=True)
    )
    listed = set(WaitlistEntry.objects.filter(program=program).values_list("mentee_id", flat=True))
    assert not paired & pending, paired & pending
    assert not paired & listed, paired & listed


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_every_seat_path_racing_for_one_mentor_leaves_nobody_waiting_for_a_seat_that_is_gone(
    org, org_admin
):
    for round_number in range(ROUNDS):
        # A program per round: nothing left over from one round feeds the next.
        program, mentor, run, requests, by_hand, waiting = _set_the_stage(
            org, org_admin, next_choice=round_number % 2 == 1
        )
        paths = _every_path(program, mentor, run, requests, by_hand, org_admin)

        outcomes = dict(zip(paths, race(list(paths.values())), strict=True))

        # A refusal (DomainError, a settled request) is a fair loss; anything else,
        # a deadlock included, or a thread still stuck, is not.
        lost = {p: o for p, o in outcomes.items() if not o.startswith(("won", "refused"))}
        assert not lost, (round_number, outcomes)
        mentor.refresh_from_db()
        active = Pairing.objects.filter(mentor=mentor, status=Pairing.Status.ACTIVE).count()
        assert active <= mentor.capacity, (round_number, active, mentor.capacity, outcomes)
        if active >= mentor.capacity or not mentor.accepting_requests:
            assert not PendingRequest.objects.filter(mentor=mentor).exists(), (
                round_number,
                outcomes,
            )
        if outcomes["decline, unavailable"] == "won":
            # "Unavailable for now" ended every request waiting for them in its own commit.
            still = MentorRequest.objects.filter(
                pk__in=[r.pk for r in requests], status=Status.PENDING
            )
            assert not still.exists(), (round_number, outcomes)
        _nobody_waits_for_a_seat_that_is_not_there(program)
        _each_closed_request_told_its_mentee_once(program)
        _nobody_paired_and_still_waiting(program)
        # The waiting mentee either still waits or was offered the seat, never both.
        offered = MentorRequest.objects.filter(mentee=waiting).exists()
        assert WaitlistEntry.objects.filter(mentee=waiting).exists() != offered, round_number


# --- 2. A seat that a registration or an import brings --------------------------------


def _offered(mentee, mentor) -> MentorRequest:
    """The mentee holds a pending request to this mentor, made by a waitlist offer, and
    has the waitlist_offer email; the mentor has the request email; no longer waiting."""
    request = _offer_to(mentee)
    assert request is not None, "the waiting mentee was not offered the new seat"
    assert request.mentor_id == mentor.pk
    offer = _emails(EmailKind.WAITLIST_OFFER).get()
    assert (offer.to_email, offer.idempotency_key) == (mentee.email, f"waitlist-offer:{request.pk}")
    assert mentor.full_name in offer.body_text
    assert _emails(EmailKind.MENTOR_REQUEST, to_email=mentor.email).exists()
    assert not WaitlistEntry.objects.filter(mentee=mentee).exists()
    return request


@pytest.mark.django_db
def test_a_mentor_registering_offers_their_seat_to_the_waiting_mentee_at_once(org):
    program = _program(org)
    waiting = _wait(program)  # no mentor at all yet
    assert _offer_to(waiting) is None

    mentor, created = registration_submit(
        program=program,
        email="Nia.New@Example.org",
        capacity=1,
        role=Participant.Role.MENTOR,
        first_name="Nia",
        last_name="New",
    )

    assert created
    _offered(waiting, mentor)


def _import(program, admin, csv_text: str, *, new: int, updated: int) -> None:
    upload = import_create(
        program=program, user=admin, filename="people.csv", data=csv_text.encode()
    )
    preview = import_preview(participant_import=upload)
    assert preview.parsed.error_count == 0, preview.parsed.row_errors
    assert (preview.new_count, preview.update_count) == (new, updated)
    import_apply(participant_import=upload, user=admin)


@pytest.mark.django_db
def test_a_csv_import_adding_a_mentor_offers_their_seat_to_the_waiting_mentee_at_once(
    org, org_admin
):
    program = _program(org)
    waiting = _wait(program)
    assert _offer_to(waiting) is None

    _import(
        program,
        org_admin,
        "email,role,first_name,last_name,capacity\nomar@example.org,mentor,Omar,Imported,1\n",
        new=1,
        updated=0,
    )

    _offered(waiting, Participant.objects.get(program=program, email="omar@example.org"))


@pytest.mark.django_db
def test_a_csv_import_raising_a_full_mentors_capacity_offers_the_new_seat_at_once(org, org_admin):
    program = _program(org)
    mentor = factories.mentor_with_pairings(program, 1, capacity=1)
    waiting = _wait(program)
    assert _offer_to(waiting) is None  # the only seat is taken

    _import(
        program,
        org_admin,
        "email,role,first_name,last_name,capacity\n"
        f"{mentor.email},mentor,{mentor.first_name},{mentor.last_name},2\n",
        new=0,
        updated=1,
    )

    assert Participant.objects.get(pk=mentor.pk).capacity == 2
    _offered(waiting, mentor)


# --- 3. Back from "unavailable" --------------------------------------------------------


@pytest.mark.django_db
def test_a_mentor_set_back_to_accepting_offers_their_free_seat_to_the_waiting_mentee(
    org, org_admin
):
    program = _program(org)
    mentor = factories.MentorFactory(program=program, capacity=2, accepting_requests=False)
    waiting = _wait(program)
    assert _offer_to(waiting) is None  # a free seat, but the mentor takes no requests

    participant_update(participant=mentor, user=org_admin, accepting_requests=True)

    _offered(waiting, mentor)


@pytest.mark.django_db
def test_an_admins_unrelated_edit_saved_after_unavailable_for_now_keeps_the_mentor_unavailable(
    org, org_admin_client
):
    """The admin opens a mentor's page; the mentor then answers a request with "I'm
    unavailable for now"; the admin saves a department change. The box the admin
    never touched must not switch the mentor back on, nor offer their seat."""
    program = _program(org)
    mentor = factories.MentorFactory(program=program, capacity=1, department="Sales")
    request = _ask(program, mentor)
    waiting = _wait(program)
    assert _offer_to(waiting) is None  # the request speaks for the only seat
    url = reverse(
        "programs:participant_edit",
        kwargs={"program_id": program.pk, "participant_id": mentor.pk},
    )
    assert org_admin_client.get(url).status_code == 200
    as_shown = participant_edit_form(Participant.objects.get(pk=mentor.pk))

    services.request_decline(request_id=request.pk, message="On leave", unavailable=True)
    response = org_admin_client.post(url, {**as_shown, "department": "Legal"})

    assert response.status_code == 302
    mentor.refresh_from_db()
    assert mentor.department == "Legal"
    assert mentor.accepting_requests is False, "the edit undid “unavailable for now”"
    assert _offer_to(waiting) is None
    assert not _emails(EmailKind.WAITLIST_OFFER).exists()
