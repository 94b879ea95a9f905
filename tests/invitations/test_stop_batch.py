"""Stop sending: an admin stops a batch of invitations before all of it went out."""

import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from invitations import selectors, services
from invitations.models import Invitation, InvitationBatch
from invitations.verbs import Verb as InvitationsVerb
from pairing_admin.mail import sending, sweep
from pairing_admin.mail.models import OutboundEmail
from programs.models import ActivityEvent
from tests import factories
from tests.support.race import race

Status = OutboundEmail.Status
State = InvitationBatch.State


def _mentees(program, n):
    return factories.bulk_mentees(program, n, first="Stop", last="Batch", email="stop")


def _url(name, program, batch):
    return reverse(f"invite:{name}", kwargs={"program_id": program.pk, "batch_id": batch.pk})


def _sent_batch(program, user, n):
    """A batch of n invitations, then set back as if the worker had sent none yet."""
    people = _mentees(program, n)
    batch = services.invitation_send_all(program=program, user=user, expected=n)
    OutboundEmail.objects.filter(batch_id=batch.pk).update(
        status=Status.QUEUED, sent_at=None, provider_message_id=""
    )
    return batch, people


def _email_of(mentee):
    return OutboundEmail.objects.get(to_email=mentee.email)


def test_stop_sending_stops_the_queued_emails_and_their_mentees_are_not_invited_any_more(
    live, org_admin, org_admin_client
):
    batch, people = _sent_batch(live, org_admin, 4)
    sending, sent, *waiting = people
    OutboundEmail.objects.filter(pk=_email_of(sending).pk).update(status=Status.SENDING)
    OutboundEmail.objects.filter(pk=_email_of(sent).pk).update(status=Status.SENT)
    page = org_admin_client.get(_url("batch", live, batch)).content.decode()
    assert "Stop sending" in page and _url("batch_stop", live, batch) in page

    response = org_admin_client.post(_url("batch_stop", live, batch), follow=True)
    html = response.content.decode()
    assert "Stopped: 2 emails will not be sent" in html
    assert "1 sent, 0 failed, 2 stopped, 4 in total" in html

    for mentee in waiting:
        email = _email_of(mentee)
        assert email.status == Status.STOPPED and "stopped this batch" in email.last_error
        assert not Invitation.objects.filter(mentee=mentee).exists()
    # Already claimed by a worker, or already sent: untouched, still invited.
    assert _email_of(sending).status == Status.SENDING
    assert _email_of(sent).status == Status.SENT
    assert Invitation.objects.filter(mentee__in=[sending, sent]).count() == 2
    not_invited = set(selectors.mentees_not_invited(live).values_list("pk", flat=True))
    assert not_invited == {m.pk for m in waiting}
    event = ActivityEvent.objects.get(verb=InvitationsVerb.INVITATIONS_STOPPED)
    assert event.actor == org_admin and event.detail.startswith("2 emails not sent")


def test_a_stopped_email_is_never_sent_and_inviting_again_sends_one_new_email(
    live, org_admin, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    batch, people = _sent_batch(live, org_admin, 3)
    ids = list(OutboundEmail.objects.filter(batch_id=batch.pk).values_list("pk", flat=True))
    assert services.invitation_batch_stop(program=live, batch_id=batch.pk, user=org_admin) == 3
    mail.outbox.clear()
    assert sending.outbox_send_batch(ids)["sent"] == 0
    assert mail.outbox == []

    again = services.invitation_send_selected(
        program=live, user=org_admin, mentee_ids=[people[0].pk], expected=1
    )
    new = OutboundEmail.objects.get(batch_id=again.pk)
    assert new.to_email == people[0].email and new.status == Status.QUEUED
    assert sending.outbox_send_batch([new.pk])["sent"] == 1
    assert len(mail.outbox) == 1 and people[0].email in mail.outbox[0].to[0]
    assert Invitation.objects.get(mentee=people[0]).batch_id == again.pk
    # Stopping twice stops nothing more and logs nothing more.
    assert services.invitation_batch_stop(program=live, batch_id=batch.pk, user=org_admin) == 0
    assert ActivityEvent.objects.filter(verb=InvitationsVerb.INVITATIONS_STOPPED).count() == 1


def test_stopping_a_batch_still_being_written_stops_its_preparation(
    live, org_admin, settings, monkeypatch
):
    """The worker wrote one chunk and died; the admin stops the rest."""
    settings.INVITE_IN_WORKER_ABOVE = 5
    _mentees(live, 20)
    batch = services.invitation_send_all(program=live, user=org_admin, expected=20)
    write, chunks = services._write, []

    def dies_on_the_second_chunk(*args, **kwargs):
        chunks.append(1)
        if len(chunks) == 2:
            raise RuntimeError("worker lost")
        return write(*args, **kwargs)

    monkeypatch.setattr(services, "_write", dies_on_the_second_chunk)
    with pytest.raises(RuntimeError):
        services.invitation_batch_prepare(batch.pk, chunk=5)
    monkeypatch.undo()
    batch.refresh_from_db()
    assert (batch.state, batch.prepared) == (State.PREPARING, 5)
    assert services.invitation_batch_stop(program=live, batch_id=batch.pk, user=org_admin) == 5
    batch.refresh_from_db()
    assert batch.state == State.STOPPED and batch.stop_reason.startswith("Stopped by")
    assert services.invitation_batch_prepare(batch.pk, chunk=5) == {"chunks": 0}
    assert set(
        OutboundEmail.objects.filter(batch_id=batch.pk).values_list("status", flat=True)
    ) == {Status.STOPPED}
    assert not Invitation.objects.filter(program=live).exists()
    assert selectors.mentees_not_invited(live).count() == 20


def test_stopping_a_resend_keeps_the_earlier_invitations(live, org_admin):
    first, people = _sent_batch(live, org_admin, 2)
    OutboundEmail.objects.filter(batch_id=first.pk).update(status=Status.SENT)
    resend = services.invitation_resend(
        program=live,
        user=org_admin,
        mentee_ids=[p.pk for p in people],
        expected=2,
        asked_at=timezone.now(),
    )
    OutboundEmail.objects.filter(batch_id=resend.pk).update(status=Status.QUEUED)
    assert services.invitation_batch_stop(program=live, batch_id=resend.pk, user=org_admin) == 2
    assert Invitation.objects.filter(mentee__in=people).count() == 2
    assert selectors.mentees_not_invited(live).count() == 0


def test_stop_is_post_only_and_for_the_programs_own_batches(
    live, org_admin, org_admin_client, other_org
):
    batch, _ = _sent_batch(live, org_admin, 2)
    assert org_admin_client.get(_url("batch_stop", live, batch)).status_code == 405
    elsewhere = factories.ProgramFactory(organization=live.organization)
    other = InvitationBatch.objects.create(program=elsewhere, kind="all")
    response = org_admin_client.post(_url("batch_stop", live, other))
    assert response.status_code == 404
    assert not OutboundEmail.objects.filter(status=Status.STOPPED).exists()


@pytest.mark.parametrize("status", [Status.SENT, Status.FAILED])
def test_a_finished_batch_has_nothing_to_stop(live, org_admin, org_admin_client, status):
    batch, _ = _sent_batch(live, org_admin, 2)
    OutboundEmail.objects.filter(batch_id=batch.pk).update(status=status)
    assert "Stop sending" not in org_admin_client.get(_url("batch", live, batch)).content.decode()
    response = org_admin_client.post(_url("batch_stop", live, batch), follow=True)
    assert "No email of this batch was waiting to be sent" in response.content.decode()
    assert not ActivityEvent.objects.filter(verb=InvitationsVerb.INVITATIONS_STOPPED).exists()


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_number", range(3))
def test_stop_and_a_worker_at_once_agree_on_every_email(org, settings, round_number):
    """Each email is either sent (its mentee stays invited) or stopped (not invited)."""

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user = factories.MembershipFactory(organization=org).user
    program = factories.ProgramFactory(organization=org, pairing_enabled=True)
    batch, _ = _sent_batch(program, user, 60)
    ids = list(OutboundEmail.objects.filter(batch_id=batch.pk).values_list("pk", flat=True))
    outcomes = race(
        [
            lambda: sending.outbox_send_batch(ids),
            lambda: services.invitation_batch_stop(program=program, batch_id=batch.pk, user=user),
        ]
    )
    assert outcomes == ["won", "won"], outcomes
    emails = OutboundEmail.objects.filter(batch_id=batch.pk)
    assert set(emails.values_list("status", flat=True)) <= {Status.SENT, Status.STOPPED}
    sent = set(emails.filter(status=Status.SENT).values_list("to_email", flat=True))
    invited = set(
        Invitation.objects.filter(program=program).values_list("mentee__email", flat=True)
    )
    assert invited == sent


# --- Emails a worker held when it died; the page says why emails wait ---------------


def _held(email, *, ago_seconds: int) -> None:
    """As if a worker claimed `email` and last renewed its lease `ago_seconds` ago."""
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=Status.SENDING,
        claim="c" * 32,
        attempts=1,
        touched_at=timezone.now() - timedelta(seconds=ago_seconds),
    )


def test_emails_a_dead_worker_held_are_stopped_and_the_page_never_contradicts_itself(
    live, org_admin, org_admin_client, settings
):
    settings.OUTBOX_LEASE_SECONDS = 30
    batch, (dead, alive, waiting) = _sent_batch(live, org_admin, 3)
    _held(_email_of(dead), ago_seconds=400)  # its worker was killed minutes ago
    _held(_email_of(alive), ago_seconds=5)  # its worker renewed the lease just now
    page = org_admin_client.get(_url("batch", live, batch)).content.decode()
    assert "(3 waiting)" in page
    assert "1 being handed to the email service right now" in page
    assert "1 in line for a worker" in page
    assert "1 held by a worker that stopped before sending them" in page
    assert "Stop sending" in page

    response = org_admin_client.post(_url("batch_stop", live, batch), follow=True)
    html = response.content.decode()
    assert "Stopped: 2 emails will not be sent" in html
    assert "0 sent, 0 failed, 2 stopped, 3 in total (1 waiting)" in html
    assert "1 being handed to the email service right now" in html
    assert "held by a worker" not in html and "in line for a worker" not in html
    # What is left cannot be stopped, and the page says so instead of offering it.
    assert "Stop sending" not in html and "can no longer be stopped" in html
    for mentee in (dead, waiting):
        email = _email_of(mentee)
        assert (email.status, email.claim) == (Status.STOPPED, "")
        assert not Invitation.objects.filter(mentee=mentee).exists()
    assert "worker had stopped mid-batch" in _email_of(dead).last_error
    assert _email_of(waiting).last_error.startswith("Not sent:")
    assert (_email_of(alive).status, _email_of(alive).claim) == (Status.SENDING, "c" * 32)
    event = ActivityEvent.objects.get(verb=InvitationsVerb.INVITATIONS_STOPPED)
    assert event.detail.startswith("2 emails not sent")

    again = org_admin_client.post(_url("batch_stop", live, batch), follow=True).content.decode()
    assert "Nothing could be stopped: 1 email still pending was already being handed" in again


def test_the_page_says_when_refused_emails_are_tried_again(live, org_admin, org_admin_client):
    batch, (refused, _) = _sent_batch(live, org_admin, 2)
    later = timezone.now() + timedelta(minutes=5)
    OutboundEmail.objects.filter(pk=_email_of(refused).pk).update(
        next_attempt_at=later, last_error="451 try later"
    )
    page = org_admin_client.get(_url("batch", live, batch)).content.decode()
    at = later.astimezone(ZoneInfo(live.organization.timezone)).strftime("%H:%M")
    assert f"1 refused for now by the email service; tried again from {at}." in page
    assert "1 in line for a worker" in page


def test_the_polled_progress_carries_stop_sending_until_the_batch_is_done(
    live, org_admin, org_admin_client
):
    # htmx replaces the progress every second: the button must be part of what
    # it replaces, or it stays on the page after "Done".
    batch, _ = _sent_batch(live, org_admin, 2)
    poll = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "batch-progress"}
    fragment = org_admin_client.get(_url("batch", live, batch), **poll).content.decode()
    assert fragment.lstrip().startswith('<div id="batch-progress"')
    assert "Stop sending" in fragment and "every 1s" in fragment
    OutboundEmail.objects.filter(batch_id=batch.pk).update(status=Status.SENT)
    fragment = org_admin_client.get(_url("batch", live, batch), **poll).content.decode()
    assert "Done" in fragment
    assert "Stop sending" not in fragment and "every 1s" not in fragment


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_whose_lease_ran_out_sends_none_of_the_emails_taken_from_it(
    org, settings, monkeypatch
):
    """A worker that froze past its lease (its emails were swept, then stopped,
    meanwhile) checks its lease before the next message and sends nothing more."""
    from pairing_admin.mail import tasks

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.OUTBOX_LEASE_SECONDS = 2
    monkeypatch.setattr(sending._Lease, "_keep", lambda self: None)  # frozen: no renewals
    monkeypatch.setattr(tasks.send_outbox_batch, "delay", lambda ids: None)
    user = factories.MembershipFactory(organization=org).user
    program = factories.ProgramFactory(organization=org, pairing_enabled=True)
    batch, _ = _sent_batch(program, user, 4)
    ids = sorted(OutboundEmail.objects.filter(batch_id=batch.pk).values_list("pk", flat=True))
    real_mark = sending._SentMarks.mark

    def mark_then_freeze(marks, row, provider_id):
        real_mark(marks, row, provider_id)
        if row.pk == ids[0]:
            marks.settle()
            time.sleep(2.1)  # the lease runs out while this worker is stuck
            assert sweep.outbox_sweep()["requeued_sending"] == 3
            services.invitation_batch_stop(program=program, batch_id=batch.pk, user=user)

    monkeypatch.setattr(sending._SentMarks, "mark", mark_then_freeze)
    counts = sending.outbox_send_batch(ids)
    assert counts["sent"] == 1 and len(mail.outbox) == 1
    statuses = dict(OutboundEmail.objects.filter(batch_id=batch.pk).values_list("pk", "status"))
    assert statuses == {ids[0]: Status.SENT, **{pk: Status.STOPPED for pk in ids[1:]}}
