"""Nobody waits for nothing: a full mentor's other requests close at once, a mentor who
said no is never offered again, a freed seat goes to the waitlist, End Pairing's next steps.

The outbox rows are written in the transaction that made the change
(pairing_admin.mail.outbox.outbox_add), so the tests read OutboundEmail rows; only
their sending waits for the commit.
"""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client

from pairing import services, waitlist
from pairing.email_kinds import EmailKind
from pairing.models import (
    AutoPairProposal,
    AutoPairRun,
    MentorPreference,
    MentorRequest,
    Pairing,
    PendingRequest,
    WaitlistEntry,
)
from pairing.preference_selectors import mentor_options
from pairing.request_selectors import said_no
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.links import Purpose, link_resolve
from pairing_admin.mail.models import AccessLink, OutboundEmail
from programs.imports.services import import_apply, import_create
from programs.models import Participant, Program
from programs.services import participant_update
from tests import factories
from tests.support.builders import program_set
from tests.support.race import race
from tests.support.schemes import set_weights

pytestmark = pytest.mark.django_db

Status = MentorRequest.Status
Process = Program.Process
NextStep = services.NextStep
ROUNDS = 5
REQUEST_LINK = re.compile(r"https?://[^\s<>\"]+(/r/[A-Za-z0-9_-]+/)")
PREFERENCES_LINK = re.compile(r"https?://[^\s<>\"]+(/p/[A-Za-z0-9_-]+/)")


def _ask(program, *mentors, mentee=None) -> MentorRequest:
    """A new mentee (or `mentee`) submits these mentors, in rank order: their request."""
    mentee = mentee or factories.ParticipantFactory(program=program)
    return services.preferences_submit(mentee=mentee, mentor_ids=[m.pk for m in mentors]).request


def _full(program, capacity: int = 1, **fields) -> tuple[Participant, list[Pairing]]:
    """A mentor with `capacity` seats, all taken by active pairings."""
    mentor = factories.mentor_with_pairings(program, capacity, capacity=capacity, **fields)
    return mentor, list(Pairing.objects.filter(mentor=mentor).order_by("pk"))


def _statuses(requests) -> list[str]:
    return [MentorRequest.objects.get(pk=r.pk).status for r in requests]


def _emails(kind, **filters):
    return OutboundEmail.objects.filter(kind=kind, **filters)


def _closed_emails_are_for(requests) -> None:
    """Each of these requests closed and its mentee got exactly the request_closed email."""
    assert set(_statuses(requests)) == {Status.CLOSED}
    emails = _emails(EmailKind.REQUEST_CLOSED)
    assert sorted((e.to_email, e.idempotency_key) for e in emails) == sorted(
        (r.mentee.email, f"request-closed:{r.pk}") for r in requests
    )
    for email in emails:
        request = next(r for r in requests if r.mentee.email == email.to_email)
        assert request.mentor.full_name in email.body_text
        assert PREFERENCES_LINK.search(email.body_text), email.body_text


def _no_one_waits_for_a_full_mentor() -> None:
    """The invariant: no pending request targets a mentor without a free seat."""
    for row in PendingRequest.objects.select_related("mentor"):
        mentor = row.mentor
        active = Pairing.objects.filter(mentor=mentor, status=Pairing.Status.ACTIVE).count()
        assert mentor.role == Participant.Role.MENTOR, row
        assert mentor.accepting_requests, row
        assert active < mentor.capacity, (mentor.pk, active, mentor.capacity)


def _request_links(request: MentorRequest) -> dict[str, str]:
    """{purpose: /r/<token>/} from the Mentor request email the mentor actually got."""
    email = OutboundEmail.objects.get(idempotency_key=f"mentor-request:{request.pk}")
    links = {}
    for path in REQUEST_LINK.findall(email.body_text):
        link = link_resolve(path.split("/")[2]).link
        assert link.object_id == request.pk
        links[link.purpose] = path
    assert set(links) == {Purpose.APPROVE, Purpose.DECLINE}
    return links


# --- 1. A full mentor's other requests close, by every path ------------------------------


def test_second_approval_of_a_two_seat_mentor_closes_the_other_three_requests(live_program):
    mentor = factories.MentorFactory(program=live_program, capacity=2)
    requests = [_ask(live_program, mentor) for _ in range(5)]

    services.request_approve(request_id=requests[0].pk)
    # One seat left: the others may still be approved, so they keep waiting.
    assert _statuses(requests[1:]) == [Status.PENDING] * 4
    assert not _emails(EmailKind.REQUEST_CLOSED).exists()

    services.request_approve(request_id=requests[1].pk)
    assert _statuses(requests[:2]) == [Status.APPROVED] * 2
    _closed_emails_are_for(requests[2:])
    assert all(MentorRequest.objects.get(pk=r.pk).decided_at is not None for r in requests[2:])
    assert not PendingRequest.objects.filter(mentor=mentor).exists()
    # The mentor hears nothing about requests they never had to answer.
    assert not _emails(EmailKind.REQUEST_CLOSED, to_email=mentor.email).exists()
    # A closed request is not a "no": the mentor stays choosable for those mentees.
    for request in requests[2:]:
        assert (
            not Participant.objects.filter(pk=mentor.pk).filter(said_no(request.mentee_id)).exists()
        )


def test_approving_for_a_one_seat_mentor_closes_the_other_request_at_once(live_program):
    mentor = factories.MentorFactory(program=live_program, capacity=1)
    other = factories.MentorFactory(program=live_program, capacity=1)
    approved, waiting = _ask(live_program, mentor), _ask(live_program, mentor)
    elsewhere = _ask(live_program, other)

    services.request_approve(request_id=approved.pk)

    _closed_emails_are_for([waiting])
    # Only the mentor who filled up: a request to someone else keeps waiting.
    assert _statuses([elsewhere]) == [Status.PENDING]
    _no_one_waits_for_a_full_mentor()


def test_a_pairing_without_approval_closes_requests_left_from_approval(live_program):
    """Requests made while the program had Approval, then it switched to pairing at once:
    the mentee paired straight away takes the last seat, and the old request closes."""
    mentor = factories.MentorFactory(program=live_program, capacity=1)
    earlier = _ask(live_program, mentor)
    program_set(live_program, pairing_process=Process.USER_LED)

    result = _ask(live_program, mentor)

    assert result.status == Status.APPROVED
    assert Pairing.objects.get(mentor=mentor, status="active").request_id == result.pk
    _closed_emails_are_for([earlier])
    _no_one_waits_for_a_full_mentor()


def test_pairing_by_hand_into_the_last_seat_closes_the_mentors_requests(live_program, org_admin):
    mentor = factories.MentorFactory(program=live_program, capacity=1)
    waiting = _ask(live_program, mentor)
    chosen = factories.ParticipantFactory(program=live_program)

    services.pairing_create_by_admin(
        program=live_program, mentee_id=chosen.pk, mentor_id=mentor.pk, user=org_admin
    )

    _closed_emails_are_for([waiting])
    _no_one_waits_for_a_full_mentor()


def test_pairing_by_hand_with_a_seat_left_closes_nothing(live_program, org_admin):
    mentor = factories.MentorFactory(program=live_program, capacity=2)
    waiting = _ask(live_program, mentor)
    services.pairing_create_by_admin(
        program=live_program,
        mentee_id=factories.ParticipantFactory(program=live_program).pk,
        mentor_id=mentor.pk,
        user=org_admin,
    )
    assert _statuses([waiting]) == [Status.PENDING]
    assert not _emails(EmailKind.REQUEST_CLOSED).exists()


def test_auto_pair_confirm_closes_requests_to_an_unavailable_mentor_it_pairs(
    live_program, org_admin
):
    """Confirm counts pending requests as taken seats, so it can fill a mentor only when
    no request waits for them; what it can still meet is a request to a mentor marked
    unavailable before "unavailable for now" closed requests (data from before this
    feature, nothing migrated it). Pairing that mentor closes the request."""
    mentor = factories.MentorFactory(program=live_program, capacity=2)
    waiting = _ask(live_program, mentor)
    Participant.objects.filter(pk=mentor.pk).update(accepting_requests=False)
    proposed = factories.ParticipantFactory(program=live_program)
    run = AutoPairRun.objects.create(
        program=live_program, created_by=org_admin, status=AutoPairRun.Status.STAGED
    )
    AutoPairProposal.objects.create(run=run, mentee=proposed, mentor=mentor, score=40.0)

    from pairing import autopair

    result = autopair.autopair_confirm(program=live_program, run_id=run.pk, user=org_admin)

    assert result.created == 1 and result.skipped == []
    _closed_emails_are_for([waiting])
    _no_one_waits_for_a_full_mentor()


def test_lowering_capacity_to_the_active_count_closes_the_mentors_requests(live_program, org_admin):
    mentor = factories.mentor_with_pairings(live_program, 2, capacity=3)
    roomy = factories.mentor_with_pairings(live_program, 2, capacity=4)
    waiting, still = _ask(live_program, mentor), _ask(live_program, roomy)

    participant_update(participant=mentor, user=org_admin, capacity=2)
    participant_update(participant=roomy, user=org_admin, capacity=3)  # one seat still free

    _closed_emails_are_for([waiting])
    assert _statuses([still]) == [Status.PENDING]
    _no_one_waits_for_a_full_mentor()


def test_a_csv_import_lowering_capacity_closes_the_mentors_requests(live_program, org_admin):
    mentor = factories.mentor_with_pairings(live_program, 1, capacity=2)
    waiting = _ask(live_program, mentor)
    csv_text = (
        "email,role,first_name,last_name,capacity\n"
        f"{mentor.email},mentor,{mentor.first_name},{mentor.last_name},1\n"
    )
    upload = import_create(
        program=live_program, user=org_admin, filename="people.csv", data=csv_text.encode()
    )

    import_apply(participant_import=upload, user=org_admin)

    assert Participant.objects.get(pk=mentor.pk).capacity == 1
    _closed_emails_are_for([waiting])
    _no_one_waits_for_a_full_mentor()


def test_declining_as_unavailable_closes_the_mentors_other_requests(live_program):
    mentor = factories.MentorFactory(program=live_program, capacity=3)
    declined, other = _ask(live_program, mentor), _ask(live_program, mentor)

    services.request_decline(request_id=declined.pk, message="On leave", unavailable=True)

    assert _statuses([declined]) == [Status.DECLINED]
    assert _emails(EmailKind.REQUEST_DECLINED).get().to_email == declined.mentee.email
    _closed_emails_are_for([other])
    assert Participant.objects.get(pk=mentor.pk).accepting_requests is False
    _no_one_waits_for_a_full_mentor()


def test_declining_without_unavailable_leaves_the_other_requests_waiting(live_program):
    mentor = factories.MentorFactory(program=live_program, capacity=3)
    declined, other = _ask(live_program, mentor), _ask(live_program, mentor)
    services.request_decline(request_id=declined.pk, message="Not a fit")
    assert _statuses([other]) == [Status.PENDING]
    assert not _emails(EmailKind.REQUEST_CLOSED).exists()


def test_an_admin_marking_a_mentor_not_accepting_closes_their_requests(live_program, org_admin):
    mentor = factories.MentorFactory(program=live_program, capacity=3)
    waiting = [_ask(live_program, mentor) for _ in range(2)]

    participant_update(participant=mentor, user=org_admin, accepting_requests=False)

    _closed_emails_are_for(waiting)
    _no_one_waits_for_a_full_mentor()


def test_under_next_choice_a_closed_request_passes_to_the_next_mentor_with_room(live_program):
    program_set(live_program, after_decline=Program.AfterDecline.NEXT_CHOICE)
    mentor = factories.MentorFactory(program=live_program, capacity=1)
    full_too = factories.mentor_with_pairings(live_program, 1, capacity=1)
    roomy = factories.MentorFactory(program=live_program, capacity=2, first_name="Nia")
    # Ranked: the mentor who fills, one already full (skipped), then one with room.
    passed_on = _ask(live_program, mentor, full_too, roomy)
    approved = _ask(live_program, mentor)

    services.request_approve(request_id=approved.pk)

    assert _statuses([passed_on]) == [Status.CLOSED]
    new = MentorRequest.objects.get(mentee=passed_on.mentee, status=Status.PENDING)
    assert (new.mentor_id, new.rank) == (roomy.pk, 3)
    forwarded = _emails(EmailKind.REQUEST_FORWARDED).get()
    assert forwarded.to_email == passed_on.mentee.email
    assert forwarded.idempotency_key == f"request-forwarded:{passed_on.pk}"
    assert "Nia" in forwarded.body_text
    assert _emails(EmailKind.MENTOR_REQUEST, idempotency_key=f"mentor-request:{new.pk}").get()
    # Passed on instead of "choose again": no closed email for that mentee.
    assert not _emails(EmailKind.REQUEST_CLOSED).exists()
    _no_one_waits_for_a_full_mentor()


def test_under_next_choice_with_nobody_left_the_mentee_is_told_to_choose_again(live_program):
    program_set(live_program, after_decline=Program.AfterDecline.NEXT_CHOICE)
    mentor = factories.MentorFactory(program=live_program, capacity=1)
    waiting, approved = _ask(live_program, mentor), _ask(live_program, mentor)
    services.request_approve(request_id=approved.pk)
    _closed_emails_are_for([waiting])
    assert not _emails(EmailKind.REQUEST_FORWARDED).exists()


def test_the_approve_link_of_a_closed_request_says_the_seats_filled_and_changes_nothing(
    live_program,
):
    mentor = factories.MentorFactory(program=live_program, capacity=1)
    closed, approved = _ask(live_program, mentor), _ask(live_program, mentor)
    links = _request_links(closed)
    client = Client()
    assert "Approve and pair us" in client.get(links[Purpose.APPROVE]).content.decode()
    services.request_approve(request_id=approved.pk)

    def state():
        return (
            sorted(MentorRequest.objects.values_list("pk", "status")),
            sorted(Pairing.objects.values_list("pk", "mentee_id", "status")),
            sorted(AccessLink.objects.values_list("pk", "used_at")),
            OutboundEmail.objects.count(),
        )

    before = state()
    for purpose in (Purpose.APPROVE, Purpose.DECLINE):
        for response in (client.get(links[purpose]), client.post(links[purpose])):
            html = response.content.decode()
            assert response.status_code == 200, html
            assert "This request is closed" in html
            assert f"Your seats in {live_program.name} filled" in html
            assert closed.mentee.full_name in html and "closed before you answered" in html
            assert "Approve and pair us" not in html and "Decline the request" not in html
    assert state() == before
    assert _statuses([closed]) == [Status.CLOSED]


# --- 2. The invariant under concurrent approvals, hand pairings and a capacity drop -----


def _contenders(program, mentor, requests, admin) -> list:
    """Approvals of three requests, a hand pairing, a capacity drop to 2 and a new
    submit, all for one mentor."""
    by_hand = factories.ParticipantFactory(program=program)
    late = factories.ParticipantFactory(program=program)
    return [
        *(lambda r=r: services.request_approve(request_id=r.pk) for r in requests),
        lambda: services.pairing_create_by_admin(
            program=program, mentee_id=by_hand.pk, mentor_id=mentor.pk, user=admin
        ),
        lambda: participant_update(
            participant=Participant.objects.get(pk=mentor.pk), user=admin, capacity=2
        ),
        lambda: services.preferences_submit(mentee=late, mentor_ids=[mentor.pk]),
    ]


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_racing_approvals_hand_pairing_and_capacity_drop_leave_nobody_waiting_for_a_full_mentor(
    org, org_admin
):
    program = factories.ProgramFactory(organization=org, pairing_enabled=True)
    for round_number in range(ROUNDS):
        # Two free seats, six requests waiting, four ways to fill them and a capacity drop.
        mentor = factories.mentor_with_pairings(program, 1, capacity=3)
        requests = [_ask(program, mentor) for _ in range(6)]

        outcomes = race(_contenders(program, mentor, requests[:3], org_admin))

        assert not [o for o in outcomes if o.startswith("crashed")], (round_number, outcomes)
        mentor.refresh_from_db()
        active = Pairing.objects.filter(mentor=mentor, status="active").count()
        # Four contenders for at most two seats: the mentor always ends up full.
        assert active == mentor.capacity, (round_number, active, mentor.capacity, outcomes)
        assert not PendingRequest.objects.filter(mentor=mentor).exists(), (round_number, outcomes)
        _no_one_waits_for_a_full_mentor()
        # Every request that closed told its mentee, once.
        closed = list(
            MentorRequest.objects.filter(mentor=mentor, status=Status.CLOSED).values_list(
                "pk", flat=True
            )
        )
        assert closed, (round_number, outcomes)
        keys = [f"request-closed:{pk}" for pk in closed]
        assert _emails(EmailKind.REQUEST_CLOSED, idempotency_key__in=keys).count() == len(closed)


# --- 3. A mentor who said no is never offered again -------------------------------------


def _ways():
    return [True, False] if connection.vendor == "postgresql" else [False]


def _declined(program, mentor, mentee=None) -> Participant:
    request = _ask(program, mentor, mentee=mentee)
    services.request_decline(request_id=request.pk, message="Not this time")
    return request.mentee


def _ended(program, mentor, admin) -> Participant:
    mentee = factories.ParticipantFactory(program=program)
    pairing = services.pairing_create_by_admin(
        program=program, mentee_id=mentee.pk, mentor_id=mentor.pk, user=admin
    )
    services.pairing_end(
        program=program, pairing_id=pairing.pk, user=admin, reason="Moved away", notify=False
    )
    return mentee


def _offered(mentee, program, use_sql) -> set[int]:
    return {m.mentor["pk"] for m in mentor_options(mentee, program, use_sql=use_sql).matches}


@pytest.mark.parametrize("use_sql", _ways())
def test_a_mentor_who_declined_is_not_on_that_mentees_form(live_program, use_sql):
    declining = factories.MentorFactory(program=live_program, capacity=3)
    other = factories.MentorFactory(program=live_program, capacity=3)
    mentee = _declined(live_program, declining)
    stranger = factories.ParticipantFactory(program=live_program)
    assert _offered(mentee, live_program, use_sql) == {other.pk}
    # Only for that mentee: the pool is shared, the exclusion is not.
    assert _offered(stranger, live_program, use_sql) == {declining.pk, other.pk}


@pytest.mark.parametrize("use_sql", _ways())
def test_a_mentor_whose_pairing_with_the_mentee_ended_is_not_on_their_form(
    live_program, org_admin, use_sql
):
    ended_with = factories.MentorFactory(program=live_program, capacity=3)
    other = factories.MentorFactory(program=live_program, capacity=3)
    mentee = _ended(live_program, ended_with, org_admin)
    assert _offered(mentee, live_program, use_sql) == {other.pk}


def _nothing_written():
    return (
        MentorRequest.objects.count(),
        MentorPreference.objects.count(),
        Pairing.objects.count(),
        OutboundEmail.objects.count(),
    )


@pytest.mark.parametrize("process", [Process.USER_LED_APPROVAL, Process.USER_LED])
def test_choosing_a_mentor_who_declined_is_refused_with_a_reason_and_writes_nothing(
    live_program, process
):
    declining = factories.MentorFactory(
        program=live_program, capacity=3, first_name="Rex", last_name="Nay"
    )
    other = factories.MentorFactory(program=live_program, capacity=3)
    mentee = _declined(live_program, declining)
    program_set(live_program, pairing_process=process)
    before = _nothing_written()

    with pytest.raises(DomainError, match="Rex Nay can't be asked again: they declined"):
        services.preferences_submit(mentee=mentee, mentor_ids=[other.pk, declining.pk])

    assert _nothing_written() == before


def test_the_form_refuses_a_mentor_whose_pairing_ended_with_a_message(
    live_program, org_admin, client
):
    ended_with = factories.MentorFactory(
        program=live_program, capacity=3, first_name="Ola", last_name="Past"
    )
    other = factories.MentorFactory(program=live_program, capacity=3)
    mentee = _ended(live_program, ended_with, org_admin)
    token = factories.preferences_link(mentee)
    before = _nothing_written()

    response = client.post(
        f"/p/{token}/choose/", {f"rank_{ended_with.pk}": "1", f"rank_{other.pk}": "2"}
    )

    html = response.content.decode()
    assert response.status_code == 409, html[:2000]
    assert "Ola Past can&#x27;t be asked again" in html and "your pairing with them ended" in html
    assert _nothing_written() == before


@pytest.mark.parametrize("after_decline", list(Program.AfterDecline))
def test_a_declined_waitlist_offer_puts_the_mentee_back_in_line_where_they_were(
    live_program, after_decline
):
    """The mentee ranked A, B, C, withdrew, and waited for B; B's seat was offered to
    them and B declined. Under either setting the mentee is not passed on to C nor
    asked to choose again: they are back on the waitlist, at their place, still
    waiting for B only, and told so."""
    program_set(live_program, after_decline=after_decline)
    a, b, c = (factories.MentorFactory(program=live_program, capacity=2) for _ in range(3))
    first = _ask(live_program, a, b, c)
    mentee = first.mentee
    services.request_withdraw(mentee=mentee, request_id=first.pk)
    entry = waitlist.waitlist_join(mentee=mentee, mentor_ids=[b.pk])
    later = factories.ParticipantFactory(program=live_program)
    offered = MentorRequest.objects.get(mentee=mentee, status=Status.PENDING)
    assert offered.mentor_id == b.pk
    assert not WaitlistEntry.objects.filter(mentee=mentee).exists()  # pending, not waiting
    waitlist.waitlist_join(mentee=later)  # joins while the offer waits

    services.request_decline(request_id=offered.pk, message="Not me")

    assert not MentorRequest.objects.filter(mentee=mentee, status=Status.PENDING).exists()
    back = WaitlistEntry.objects.get(mentee=mentee)
    assert (back.pk, back.joined_at, back.offer_id) == (entry.pk, entry.joined_at, None)
    assert list(back.wanted_mentors.values_list("pk", flat=True)) == [b.pk]
    assert waitlist.position_of(back) == 1  # ahead of the one who joined meanwhile
    [told] = _emails(EmailKind.WAITLIST_RETURNED, to_email=mentee.email)
    assert told.idempotency_key == f"waitlist-returned:{offered.pk}"
    assert "keep your place on the waitlist" in told.body_text and "/p/" in told.body_text
    assert not _emails(EmailKind.REQUEST_DECLINED, to_email=mentee.email).exists()
    assert not _emails(EmailKind.REQUEST_FORWARDED, to_email=mentee.email).exists()
    assert not MentorRequest.objects.filter(mentee=mentee, mentor=c).exists()
    # B declined them: B's seats are never offered to them again.
    assert waitlist.seats_offer(program=live_program, mentor_ids=[b.pk]) == []


def test_offers_that_lapse_keep_the_mentees_places_and_are_not_offered_again(live_program):
    mentors = [factories.MentorFactory(program=live_program, capacity=1) for _ in range(2)]
    mentees = [factories.ParticipantFactory(program=live_program) for _ in range(2)]
    for mentee, mentor in zip(mentees, mentors, strict=True):
        waitlist.waitlist_join(mentee=mentee, mentor_ids=[mentor.pk])
    offers = [MentorRequest.objects.get(mentee=m, status=Status.PENDING) for m in mentees]

    services.requests_expire_due(now=max(r.expires_at for r in offers) + timedelta(seconds=1))

    assert _statuses(offers) == [Status.EXPIRED, Status.EXPIRED]
    waiting = WaitlistEntry.objects.values_list("mentee_id", flat=True)
    assert set(waiting) == {m.pk for m in mentees}
    assert _emails(EmailKind.WAITLIST_RETURNED).count() == 2
    assert not _emails(EmailKind.REQUEST_EXPIRED).exists()
    # The seats are free again, but each mentor let that mentee's request lapse.
    assert not MentorRequest.objects.filter(status=Status.PENDING).exists()


def test_an_admin_can_still_pair_by_hand_with_a_mentor_who_declined_once_confirmed(
    live_program, org_admin
):
    declining = factories.MentorFactory(program=live_program, capacity=3)
    mentee = _declined(live_program, declining)
    with pytest.raises(services.NeedsConfirmation, match="Pair them anyway"):
        services.pairing_create_by_admin(
            program=live_program, mentee_id=mentee.pk, mentor_id=declining.pk, user=org_admin
        )
    assert not Pairing.objects.filter(mentee=mentee).exists()
    pairing = services.pairing_create_by_admin(
        program=live_program,
        mentee_id=mentee.pk,
        mentor_id=declining.pk,
        user=org_admin,
        anyway=True,
    )
    assert (pairing.status, pairing.origin) == ("active", Pairing.Origin.ADMIN)


# --- 4. Waitlist offers --------------------------------------------------------------------


def _wait(program, *, wanted=(), first=False, user=None, **fields) -> Participant:
    mentee = factories.ParticipantFactory(program=program, **fields)
    waitlist.waitlist_join(mentee=mentee, mentor_ids=[m.pk for m in wanted], first=first, user=user)
    return mentee


def _end(program, pairing, admin, **kwargs):
    kwargs.setdefault("notify", False)
    return services.pairing_end(
        program=program, pairing_id=pairing.pk, user=admin, reason="Done", **kwargs
    )


def _waiting(*mentees) -> list[bool]:
    return [WaitlistEntry.objects.filter(mentee=m).exists() for m in mentees]


def _offer_of(mentee) -> MentorRequest | None:
    return MentorRequest.objects.filter(mentee=mentee, status=Status.PENDING).first()


def test_a_seat_freed_by_an_end_goes_to_the_longest_waiting_mentee_with_emails(
    live_program, org_admin
):
    mentor, (pairing,) = _full(live_program, 1, first_name="Mona")
    w1, w2 = _wait(live_program), _wait(live_program)
    assert _offer_of(w1) is None and _waiting(w1, w2) == [True, True]

    _end(live_program, pairing, org_admin)

    request = _offer_of(w1)
    assert request is not None and request.mentor_id == mentor.pk
    assert _offer_of(w2) is None
    assert _waiting(w1, w2) == [False, True]
    offer = _emails(EmailKind.WAITLIST_OFFER).get()
    assert (offer.to_email, offer.idempotency_key) == (w1.email, f"waitlist-offer:{request.pk}")
    assert "Mona" in offer.body_text and PREFERENCES_LINK.search(offer.body_text)
    to_mentor = _emails(EmailKind.MENTOR_REQUEST).get()
    assert (to_mentor.to_email, to_mentor.idempotency_key) == (
        mentor.email,
        f"mentor-request:{request.pk}",
    )
    assert _request_links(request)  # the mentor's links answer this request
    _no_one_waits_for_a_full_mentor()


def test_without_approval_the_freed_seat_becomes_a_waitlist_pairing(live_program, org_admin):
    program_set(live_program, pairing_process=Process.USER_LED)
    mentor, (pairing,) = _full(live_program, 1)
    w1 = _wait(live_program)

    _end(live_program, pairing, org_admin)

    made = Pairing.objects.get(mentee=w1, status="active")
    assert (made.mentor_id, made.origin) == (mentor.pk, Pairing.Origin.WAITLIST)
    assert not MentorRequest.objects.filter(mentee=w1).exists()
    assert sorted(_emails(EmailKind.ASSIGNMENT).values_list("to_email", flat=True)) == sorted(
        [w1.email, mentor.email]
    )
    assert _waiting(w1) == [False]


def test_admin_led_programs_offer_nothing_automatically(live_program, org_admin):
    program_set(live_program, pairing_process=Process.ADMIN_LED)
    _, (pairing,) = _full(live_program, 1)
    w1 = _wait(live_program, user=org_admin)

    _end(live_program, pairing, org_admin)

    assert not MentorRequest.objects.exists()
    assert not Pairing.objects.filter(mentee=w1).exists()
    assert _waiting(w1) == [True]
    assert waitlist.waiting_summary(live_program) == {"waiting": 1, "seats": 1}
    assert not _emails(EmailKind.WAITLIST_OFFER).exists()


def test_a_mentee_waiting_only_for_another_mentor_is_passed_over(live_program, org_admin):
    a, (a_pairing,) = _full(live_program, 1)
    b, (b_pairing,) = _full(live_program, 1)
    only_b = _wait(live_program, wanted=[b])
    anyone = _wait(live_program)

    _end(live_program, a_pairing, org_admin)

    assert _offer_of(only_b) is None and _waiting(only_b) == [True]
    assert _offer_of(anyone).mentor_id == a.pk

    _end(live_program, b_pairing, org_admin)
    assert _offer_of(only_b).mentor_id == b.pk


def test_first_in_line_beats_those_who_joined_earlier(live_program, org_admin):
    mentor, (pairing,) = _full(live_program, 1)
    early = _wait(live_program)
    put_first = _wait(live_program, first=True, user=org_admin)
    assert WaitlistEntry.objects.get(mentee=put_first).priority == 1
    assert waitlist.position_of(WaitlistEntry.objects.get(mentee=early)) == 2

    _end(live_program, pairing, org_admin)

    assert _offer_of(put_first).mentor_id == mentor.pk
    assert _offer_of(early) is None and _waiting(early) == [True]


def test_a_must_match_field_keeps_the_seat_from_a_mentee_who_does_not_match(
    live_program, org_admin
):
    set_weights(live_program, department=10)
    mentor, (pairing,) = _full(live_program, 1, department="Legal")
    elsewhere = _wait(live_program, department="Sales")
    same = _wait(live_program, department="Legal")

    _end(live_program, pairing, org_admin)

    assert _offer_of(elsewhere) is None and _waiting(elsewhere) == [True]
    assert _offer_of(same).mentor_id == mentor.pk


def test_a_mentor_who_declined_the_waiting_mentee_is_not_offered_to_them(live_program):
    mentor = factories.MentorFactory(program=live_program, capacity=1)
    declined = _declined(live_program, mentor)
    waitlist.waitlist_join(mentee=declined)  # the mentor has room, but said no to them
    assert _offer_of(declined) is None and _waiting(declined) == [True]

    later = _wait(live_program)

    assert _offer_of(later).mentor_id == mentor.pk
    assert _offer_of(declined) is None and _waiting(declined) == [True]


def test_a_mentor_whose_pairing_with_the_waiting_mentee_ended_is_not_offered_to_them(
    live_program, org_admin
):
    mentor, (pairing,) = _full(live_program, 1)
    _end(live_program, pairing, org_admin, next_step=NextStep.WAITLIST)
    ex = pairing.mentee
    assert _waiting(ex) == [True] and _offer_of(ex) is None

    later = _wait(live_program)

    assert _offer_of(later).mentor_id == mentor.pk
    assert _offer_of(ex) is None and _waiting(ex) == [True]


def test_raising_capacity_offers_the_new_seat_to_the_waitlist(live_program, org_admin):
    mentor, _ = _full(live_program, 1)
    w1 = _wait(live_program)
    assert _offer_of(w1) is None

    participant_update(participant=mentor, user=org_admin, capacity=2)

    assert _offer_of(w1).mentor_id == mentor.pk
    assert _emails(EmailKind.WAITLIST_OFFER, to_email=w1.email).exists()


def test_an_expired_request_gives_its_seat_to_the_waitlist(live_program):
    mentor = factories.MentorFactory(program=live_program, capacity=1)
    lapsing = _ask(live_program, mentor)
    w1 = _wait(live_program)
    assert _offer_of(w1) is None  # the pending request speaks for the only seat

    later = lapsing.expires_at + timedelta(seconds=1)
    assert services.requests_expire_due(now=later) == {"expired": 1}

    offer = _offer_of(w1)
    assert offer is not None and offer.mentor_id == mentor.pk
    assert offer.expires_at > later
    assert _emails(EmailKind.REQUEST_EXPIRED).get().to_email == lapsing.mentee.email
    assert _emails(EmailKind.WAITLIST_OFFER).get().to_email == w1.email


def test_a_decline_gives_its_seat_to_the_waitlist(live_program):
    mentor = factories.MentorFactory(program=live_program, capacity=1)
    declined = _ask(live_program, mentor)
    w1 = _wait(live_program)
    assert _offer_of(w1) is None

    services.request_decline(request_id=declined.pk, message="Sorry")

    assert _offer_of(w1).mentor_id == mentor.pk


def test_three_seats_of_one_mentor_freed_at_once_send_the_mentor_one_email(live_program, org_admin):
    mentor, pairings = _full(live_program, 3)
    waiting = [_wait(live_program) for _ in range(4)]

    ended = services.pairing_end_bulk(
        program=live_program,
        pairing_ids=[p.pk for p in pairings],
        user=org_admin,
        reason="Cohort over",
        notify=True,
    )

    assert ended == 3
    offers = {m.pk: _offer_of(m) for m in waiting}
    assert all(offers[m.pk].mentor_id == mentor.pk for m in waiting[:3])
    assert offers[waiting[3].pk] is None and _waiting(waiting[3]) == [True]
    assert sorted(_emails(EmailKind.WAITLIST_OFFER).values_list("to_email", flat=True)) == sorted(
        m.email for m in waiting[:3]
    )
    # The mentor: one email listing the three mentees, each with their own links.
    assert not _emails(EmailKind.MENTOR_REQUEST).exists()
    digest = _emails(EmailKind.MENTOR_REQUESTS).get()
    assert digest.to_email == mentor.email
    assert all(m.full_name in digest.body_text for m in waiting[:3])
    assert waiting[3].full_name not in digest.body_text
    answered = {}
    for path in REQUEST_LINK.findall(digest.body_text):
        link = link_resolve(path.split("/")[2]).link
        answered.setdefault(link.object_id, set()).add(link.purpose)
    assert answered == {offers[m.pk].pk: {Purpose.APPROVE, Purpose.DECLINE} for m in waiting[:3]}
    # One of those links answers its own request, and only it.
    first = offers[waiting[0].pk]
    approve = next(
        p
        for p in REQUEST_LINK.findall(digest.body_text)
        if link_resolve(p.split("/")[2]).link.object_id == first.pk
        and link_resolve(p.split("/")[2]).link.purpose == Purpose.APPROVE
    )
    assert Client().post(approve).status_code == 302
    assert Pairing.objects.get(mentee=first.mentee, status="active").mentor_id == mentor.pk
    assert _statuses([offers[m.pk] for m in waiting[1:3]]) == [Status.PENDING] * 2

    # The same offer again (a retried task, the safety-net sweep): nothing new.
    counts = (MentorRequest.objects.count(), OutboundEmail.objects.count())
    assert waitlist.seats_offer(program=live_program, mentor_ids=[mentor.pk]) == []
    assert waitlist.waitlist_sweep() == {"offered": 0}
    assert (MentorRequest.objects.count(), OutboundEmail.objects.count()) == counts


# --- 6. End Pairing's next step for the mentee -------------------------------------------


def test_ending_with_waitlist_puts_the_mentee_first_in_line_and_says_so(live_program, org_admin):
    someone = _wait(live_program)  # already waiting before the end
    mentor, (pairing,) = _full(live_program, 1)

    _end(live_program, pairing, org_admin, notify=True, next_step=NextStep.WAITLIST)

    entry = WaitlistEntry.objects.get(mentee=pairing.mentee)
    assert entry.priority == 1 and waitlist.position_of(entry) == 1
    email = _emails(EmailKind.PAIRING_ENDED, to_email=pairing.mentee.email).get()
    assert "first in line on the program's waitlist" in email.body_text
    to_mentor = _emails(EmailKind.PAIRING_ENDED, to_email=mentor.email).get()
    assert "waitlist" not in to_mentor.body_text
    # Their old mentor's seat is not offered back to them; it goes to the next in line.
    assert _offer_of(pairing.mentee) is None
    assert _offer_of(someone).mentor_id == mentor.pk


def test_ending_with_invite_emails_a_link_that_opens_the_preference_form(live_program, org_admin):
    mentor, (pairing,) = _full(live_program, 1)
    other = factories.MentorFactory(program=live_program, capacity=2)

    _end(live_program, pairing, org_admin, notify=True, next_step=NextStep.INVITE)

    email = _emails(EmailKind.PAIRING_ENDED, to_email=pairing.mentee.email).get()
    path = PREFERENCES_LINK.search(email.body_text).group(1)
    link = link_resolve(path.split("/")[2]).link
    assert (link.participant_id, link.purpose) == (pairing.mentee_id, Purpose.PREFERENCES)
    html = Client().get(path).content.decode()
    assert pairing.mentee.full_name in html
    assert f"rank_{other.pk}" in html and f"rank_{mentor.pk}" not in html
    assert not _waiting(pairing.mentee)[0]


def test_invite_without_notifying_is_refused_and_ends_nothing(live_program, org_admin):
    _, (pairing,) = _full(live_program, 1)
    with pytest.raises(DomainError, match="Notify both"):
        _end(live_program, pairing, org_admin, notify=False, next_step=NextStep.INVITE)
    assert Pairing.objects.get(pk=pairing.pk).status == "active"
    assert not OutboundEmail.objects.exists() and not AccessLink.objects.exists()


def test_bulk_end_of_a_mentors_three_pairings_sends_the_mentor_one_email(live_program, org_admin):
    mentor, pairings = _full(live_program, 3)

    services.pairing_end_bulk(
        program=live_program,
        pairing_ids=[p.pk for p in pairings],
        user=org_admin,
        reason="Cohort over",
        notify=True,
    )

    ended = _emails(EmailKind.PAIRING_ENDED)
    assert sorted(ended.values_list("to_email", flat=True)) == sorted(
        p.mentee.email for p in pairings
    )
    digest = _emails(EmailKind.PAIRINGS_ENDED).get()
    assert digest.to_email == mentor.email
    assert all(p.mentee.full_name in digest.body_text for p in pairings)
    assert digest.idempotency_key == f"pairings_ended:{pairings[0].pk}:{mentor.pk}"


def test_program_without_waitlist_refuses_the_waitlist_next_step(live_program, org_admin):
    program_set(live_program, waitlist_enabled=False)
    _, (pairing,) = _full(live_program, 1)
    with pytest.raises(DomainError, match="no waitlist"):
        _end(live_program, pairing, org_admin, notify=True, next_step=NextStep.WAITLIST)
    assert Pairing.objects.get(pk=pairing.pk).status == "active"
    assert not WaitlistEntry.objects.exists()
