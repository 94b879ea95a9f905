"""Mentor requests: submitting preferences, deciding, passing on, expiring, reminding."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from pairing import services
from pairing.email_kinds import EmailKind
from pairing.models import MentorPreference, MentorRequest, Pairing
from pairing.verbs import Verb as PairingVerb
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.links import Purpose, link_create
from pairing_admin.mail.models import AccessLink, OutboundEmail
from programs.models import ActivityEvent, Program
from tests import factories

Status = MentorRequest.Status


@pytest.fixture
def live_program(org):
    return factories.ProgramFactory(
        organization=org, pairing_enabled=True, default_mentor_capacity=2
    )


def _mentors(program, n=3, **kwargs):
    return [
        factories.MentorFactory(program=program, first_name=f"Mentor{i}", **kwargs)
        for i in range(n)
    ]


def _mentee(program, **kwargs):
    return factories.ParticipantFactory(program=program, **kwargs)


def _emails(kind=None, to=None):
    qs = OutboundEmail.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    if to:
        qs = qs.filter(to_email=to.email)
    return list(qs.order_by("pk"))


def _request(program, mentors, note="Hello"):
    mentee = _mentee(program)
    return services.preferences_submit(
        mentee=mentee, mentor_ids=[m.pk for m in mentors], note=note
    ).request


# --- Submitting -------------------------------------------------------------------


def test_submit_with_approval_sends_one_pending_request_to_the_first_choice(live_program):
    mentors = _mentors(live_program)
    mentee = _mentee(live_program, goals=["public speaking"])
    result = services.preferences_submit(
        mentee=mentee, mentor_ids=[mentors[1].pk, mentors[0].pk], note="Keen to learn"
    )
    request = result.request
    assert request.status == Status.PENDING and request.mentor == mentors[1]
    assert result.pairing is None
    ranks = list(MentorPreference.objects.filter(mentee=mentee).values_list("mentor_id", "rank"))
    assert ranks == [(mentors[1].pk, 1), (mentors[0].pk, 2)]
    [email] = _emails(EmailKind.MENTOR_REQUEST)
    assert email.to_email == mentors[1].email
    assert "Keen to learn" in email.body_text and "public speaking" in email.body_text
    assert "/r/" in email.body_text and request.expires_at > timezone.now()
    links = AccessLink.objects.filter(participant=mentors[1], object_id=request.pk)
    assert {link.purpose for link in links} == {Purpose.APPROVE, Purpose.DECLINE}
    assert all(link.expires_at == request.expires_at for link in links)


def test_submit_skips_mentors_at_capacity_or_not_accepting(live_program):
    full, away, free = _mentors(live_program)
    full.capacity = 1
    full.save()
    away.accepting_requests = False
    away.save()
    factories_mentee = _mentee(live_program)
    factories.PairingFactory(program=live_program, mentee=factories_mentee, mentor=full)
    request = _request(live_program, [full, away, free])
    assert request.mentor == free and request.rank == 3


def test_submit_without_approval_pairs_at_once_and_emails_both(live_program):
    live_program.pairing_process = Program.Process.USER_LED
    live_program.save()
    full, free = _mentors(live_program, 2)
    full.capacity = 0
    full.save()
    mentee = _mentee(live_program)
    result = services.preferences_submit(mentee=mentee, mentor_ids=[full.pk, free.pk])
    assert result.pairing.mentor == free and result.pairing.status == Pairing.Status.ACTIVE
    assert result.request.status == Status.APPROVED
    emails = _emails(EmailKind.ASSIGNMENT)
    assert {e.to_email for e in emails} == {mentee.email, free.email}
    assert all("/s/" in e.body_text for e in emails)
    assert not _emails(EmailKind.MENTOR_REQUEST)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pairing_enabled": False}, "pairing is paused for now"),
        ({"pairing_process": Program.Process.ADMIN_LED}, "program team pairs"),
        ({"max_preferences": 1}, "You can choose only one mentor."),
    ],
)
def test_submit_is_refused_with_a_reason(live_program, change, message):
    Program.objects.filter(pk=live_program.pk).update(**change)
    live_program.refresh_from_db()
    mentors = _mentors(live_program, 2)
    with pytest.raises(DomainError, match=message):
        _request(live_program, mentors)
    assert not MentorRequest.objects.exists() and not MentorPreference.objects.exists()


def test_submit_refuses_a_long_note_foreign_mentors_and_busy_mentees(live_program, program):
    mentor = _mentors(live_program, 1)[0]
    foreign = factories.MentorFactory(program=program)
    mentee = _mentee(live_program)
    with pytest.raises(DomainError, match="1000"):
        services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk], note="x" * 1001)
    with pytest.raises(DomainError, match="not in this program"):
        services.preferences_submit(mentee=mentee, mentor_ids=[foreign.pk])
    services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk])
    with pytest.raises(DomainError, match="still waiting"):
        services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk])


def test_mentee_withdraws_a_pending_request_and_may_choose_again(live_program):
    mentors = _mentors(live_program, 2)
    request = _request(live_program, mentors[:1])
    services.request_withdraw(mentee=request.mentee, request_id=request.pk)
    request.refresh_from_db()
    assert request.status == Status.WITHDRAWN and request.decided_at is not None
    again = services.preferences_submit(mentee=request.mentee, mentor_ids=[mentors[1].pk])
    assert again.request.status == Status.PENDING
    with pytest.raises(services.RequestSettled, match="already withdrawn"):
        services.request_withdraw(mentee=request.mentee, request_id=request.pk)


# --- Deciding ---------------------------------------------------------------------


def test_approve_pairs_and_sends_mentorship_assignments_to_both(live_program):
    request = _request(live_program, _mentors(live_program, 1))
    pairing = services.request_approve(request_id=request.pk)
    request.refresh_from_db()
    assert request.status == Status.APPROVED and pairing.request == request
    assert pairing.origin == Pairing.Origin.REQUEST
    emails = _emails(EmailKind.ASSIGNMENT)
    assert {e.to_email for e in emails} == {request.mentee.email, request.mentor.email}


def test_approve_is_refused_when_the_mentor_is_full(live_program):
    mentor = _mentors(live_program, 1)[0]
    mentor.capacity = 1
    mentor.save()
    request = _request(live_program, [mentor])
    factories.PairingFactory(program=live_program, mentee=_mentee(live_program), mentor=mentor)
    with pytest.raises(DomainError, match="can't be approved"):
        services.request_approve(request_id=request.pk)
    request.refresh_from_db()
    assert request.status == Status.PENDING


def test_decline_sends_the_mentors_message_back_to_the_mentee(live_program):
    request = _request(live_program, _mentors(live_program, 2))
    services.request_decline(request_id=request.pk, message="Travelling all spring, sorry!")
    request.refresh_from_db()
    assert request.status == Status.DECLINED
    assert request.decline_message == "Travelling all spring, sorry!"
    [email] = _emails(EmailKind.REQUEST_DECLINED)
    assert email.to_email == request.mentee.email
    assert "Travelling all spring, sorry!" in email.body_text and "/p/" in email.body_text
    # Default setting: nobody else is asked on the mentee's behalf.
    assert MentorRequest.objects.count() == 1


def test_unavailable_for_now_stops_new_requests_but_keeps_pairings(live_program):
    mentor = _mentors(live_program, 1)[0]
    pairing = factories.PairingFactory(
        program=live_program, mentee=_mentee(live_program), mentor=mentor
    )
    request = _request(live_program, [mentor])
    services.request_decline(request_id=request.pk, unavailable=True)
    mentor.refresh_from_db()
    pairing.refresh_from_db()
    assert mentor.accepting_requests is False and pairing.status == Pairing.Status.ACTIVE
    with pytest.raises(DomainError, match="has room any more"):
        _request(live_program, [mentor])


def test_decided_request_never_changes_again(live_program):
    request = _request(live_program, _mentors(live_program, 1))
    services.request_decline(request_id=request.pk)
    with pytest.raises(services.RequestSettled, match="already declined on"):
        services.request_approve(request_id=request.pk)
    with pytest.raises(services.RequestSettled):
        services.request_decline(request_id=request.pk)
    assert not Pairing.objects.exists()
    assert len(_emails(EmailKind.REQUEST_DECLINED)) == 1


def test_a_link_acts_only_on_its_own_request_and_purpose(live_program):
    request = _request(live_program, _mentors(live_program, 1))
    other = _request(live_program, _mentors(live_program, 1))
    decline_link, _ = link_create(
        purpose=Purpose.DECLINE, participant=request.mentor, expires_at=request.expires_at,
        object_id=request.pk,
    )  # fmt: skip
    # Either of a request's two links may decide it (its page offers both choices), but no
    # other kind of link, even one of the mentor's own for this request's id.
    home_link, _ = link_create(
        purpose=Purpose.HOME, participant=request.mentor, expires_at=request.expires_at,
        object_id=request.pk,
    )  # fmt: skip
    with pytest.raises(DomainError, match="can't be used"):
        services.request_approve(request_id=request.pk, link=home_link)
    with pytest.raises(DomainError, match="can't be used"):
        services.request_decline(request_id=request.pk, link=home_link)
    with pytest.raises(DomainError, match="can't be used"):
        services.request_decline(request_id=other.pk, link=decline_link)
    services.request_decline(request_id=request.pk, link=decline_link)
    decline_link.refresh_from_db()
    assert decline_link.used_at is not None


@pytest.mark.parametrize(("seconds", "works"), [(1, True), (-1, False)])
def test_link_works_one_second_before_the_deadline_and_not_one_after(live_program, seconds, works):
    request = _request(live_program, _mentors(live_program, 1))
    deadline = timezone.now() + timedelta(seconds=seconds)
    MentorRequest.objects.filter(pk=request.pk).update(expires_at=deadline)
    link, _ = link_create(
        purpose=Purpose.APPROVE, participant=request.mentor, expires_at=deadline,
        object_id=request.pk,
    )  # fmt: skip
    if works:
        services.request_approve(request_id=request.pk, link=link)
        assert Pairing.objects.count() == 1
    else:
        with pytest.raises(DomainError, match="passed its deadline"):
            services.request_approve(request_id=request.pk, link=link)
        assert not Pairing.objects.exists()


# --- After a decline or an expiry: the next-choice setting --------------------------


def test_next_choice_setting_passes_a_declined_request_on(live_program):
    live_program.after_decline = Program.AfterDecline.NEXT_CHOICE
    live_program.save()
    first, second, third = _mentors(live_program)
    third.accepting_requests = False
    third.save()
    request = _request(live_program, [first, third, second], note="Hi!")
    services.request_decline(request_id=request.pk, message="No room")
    new = MentorRequest.objects.get(status=Status.PENDING)
    assert new.mentor == second and new.rank == 3 and new.note == "Hi!"
    assert new.expires_at > timezone.now()
    assert len(_emails(EmailKind.MENTOR_REQUEST, to=second)) == 1
    [told] = _emails(EmailKind.REQUEST_FORWARDED)
    assert told.to_email == request.mentee.email and second.full_name in told.body_text
    assert not _emails(EmailKind.REQUEST_DECLINED)
    # The second declines too and nobody is left: the mentee chooses again.
    services.request_decline(request_id=new.pk, message="Sorry")
    [choose_again] = _emails(EmailKind.REQUEST_DECLINED)
    assert "Sorry" in choose_again.body_text


def test_next_choice_setting_passes_an_expired_request_on(live_program):
    live_program.after_decline = Program.AfterDecline.NEXT_CHOICE
    live_program.save()
    first, second = _mentors(live_program, 2)
    request = _request(live_program, [first, second])
    MentorRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now())
    assert services.requests_expire_due() == {"expired": 1}
    assert MentorRequest.objects.get(status=Status.PENDING).mentor == second
    assert len(_emails(EmailKind.REQUEST_FORWARDED)) == 1
    assert not _emails(EmailKind.REQUEST_EXPIRED)


# --- The sweeper ------------------------------------------------------------------


def test_sweep_expires_due_requests_once_and_emails_the_mentee(live_program):
    mentors = _mentors(live_program, 3)
    due = _request(live_program, mentors[:1])
    later = _request(live_program, mentors[1:2])
    MentorRequest.objects.filter(pk=due.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert services.requests_expire_due() == {"expired": 1}
    assert services.requests_expire_due() == {"expired": 0}
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.status == Status.EXPIRED and later.status == Status.PENDING
    [email] = _emails(EmailKind.REQUEST_EXPIRED)
    assert email.to_email == due.mentee.email and "/p/" in email.body_text


def test_pending_requests_still_expire_while_pairing_is_off(live_program):
    request = _request(live_program, _mentors(live_program, 1))
    Program.objects.filter(pk=live_program.pk).update(pairing_enabled=False)
    MentorRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now())
    assert services.requests_expire_due() == {"expired": 1}


def test_reminder_goes_once_on_the_last_business_day(live_program):
    request = _request(live_program, _mentors(live_program, 1))
    now = timezone.now()
    MentorRequest.objects.filter(pk=request.pk).update(
        created_at=now - timedelta(days=2), expires_at=now + timedelta(hours=30)
    )
    assert services.requests_remind_due(now=now) == {"reminded": 0}  # not yet
    later = now + timedelta(hours=7)
    assert services.requests_remind_due(now=later) == {"reminded": 1}
    assert services.requests_remind_due(now=later) == {"reminded": 0}
    [email] = _emails(EmailKind.REQUEST_REMINDER)
    assert email.to_email == request.mentor.email and "/r/" in email.body_text


def test_no_reminder_when_the_program_turned_them_off(live_program):
    live_program.request_reminders = False
    live_program.save()
    request = _request(live_program, _mentors(live_program, 1))
    now = timezone.now()
    MentorRequest.objects.filter(pk=request.pk).update(
        created_at=now - timedelta(days=2), expires_at=now + timedelta(hours=2)
    )
    assert services.requests_remind_due(now=now) == {"reminded": 0}


# --- Admin actions ----------------------------------------------------------------


def test_admin_cancels_a_pending_request_and_it_is_logged(live_program, org_admin):
    request = _request(live_program, _mentors(live_program, 1))
    services.request_cancel(program=live_program, request_id=request.pk, user=org_admin)
    request.refresh_from_db()
    assert request.status == Status.CANCELLED and request.decided_by == org_admin
    event = ActivityEvent.objects.get(verb=PairingVerb.REQUEST_CANCELLED)
    assert event.actor == org_admin and request.mentee.full_name in event.detail
    with pytest.raises(services.RequestSettled):
        services.request_approve(request_id=request.pk)


def test_a_cancelled_request_tells_the_mentee_and_gives_a_link_to_choose_again(
    live_program, org_admin, client
):
    mentor = _mentors(live_program, 1)[0]
    request = _request(live_program, [mentor])
    before = OutboundEmail.objects.count()
    services.request_cancel(program=live_program, request_id=request.pk, user=org_admin)
    [email] = _emails(EmailKind.REQUEST_CANCELLED)
    assert OutboundEmail.objects.count() == before + 1  # the mentor gets nothing
    assert email.to_email == request.mentee.email
    assert email.idempotency_key == f"request-cancelled:{request.pk}"
    assert mentor.full_name in email.subject and mentor.full_name in email.body_text
    link = re.search(r"https?://\S+/p/[\w-]+/", email.body_text).group(0)
    page = client.get(urlsplit(link).path).content.decode()
    assert "Your program team cancelled your request" in page and "Send my request" in page
    with pytest.raises(services.RequestSettled):
        services.request_cancel(program=live_program, request_id=request.pk, user=org_admin)
    assert len(_emails(EmailKind.REQUEST_CANCELLED)) == 1


def test_admin_pairs_by_hand_overriding_a_pending_request(live_program, org_admin):
    asked, chosen = _mentors(live_program, 2)
    request = _request(live_program, [asked])
    pairing = services.pairing_create_by_admin(
        program=live_program, mentee_id=request.mentee_id, mentor_id=chosen.pk, user=org_admin
    )
    request.refresh_from_db()
    assert request.status == Status.CANCELLED
    assert pairing.origin == Pairing.Origin.ADMIN and pairing.created_by == org_admin
    assert len(_emails(EmailKind.ASSIGNMENT)) == 2
    assert ActivityEvent.objects.filter(verb=PairingVerb.PAIRED_BY_ADMIN).count() == 1


def test_admin_pairing_respects_capacity(live_program, org_admin):
    mentor = _mentors(live_program, 1)[0]
    mentor.capacity = 1
    mentor.save()
    services.pairing_create_by_admin(
        program=live_program,
        mentee_id=_mentee(live_program).pk,
        mentor_id=mentor.pk,
        user=org_admin,
    )
    with pytest.raises(DomainError, match="capacity"):
        services.pairing_create_by_admin(
            program=live_program, mentee_id=_mentee(live_program).pk, mentor_id=mentor.pk,
            user=org_admin,
        )  # fmt: skip
    assert Pairing.objects.count() == 1
