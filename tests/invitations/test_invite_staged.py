"""Large Invite all batches: the click commits the batch, a worker writes its emails in chunks."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.urls import reverse

from invitations import services
from invitations.models import Invitation, InvitationBatch
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail import outbox
from pairing_admin.mail.models import AccessLink, OutboundEmail
from programs.services import pairing_turn_off
from tests import factories
from tests.support.broker import publishing_to
from tests.support.email import invite_paths
from tests.support.wait import wait_until
from tests.support.worker import Worker

State = InvitationBatch.State


def _mentees(program, n):
    return factories.bulk_mentees(program, n, first="Big", last="Batch", email="big")


@pytest.fixture
def staged(settings):
    """Any Invite all above 5 mentees is prepared by a worker."""
    settings.INVITE_IN_WORKER_ABOVE = 5
    return settings


def _counts(program):
    return (
        Invitation.objects.filter(program=program).count(),
        AccessLink.objects.filter(program=program).count(),
        OutboundEmail.objects.filter(program=program).count(),
    )


def _stage(program, user, n, expected=None):
    return services.invitation_send_all(
        program=program, user=user, expected=n if expected is None else expected
    )


@pytest.mark.django_db
def test_click_commits_only_the_batch_with_the_confirmed_mentees(
    live, org_admin, staged, django_capture_on_commit_callbacks
):
    people = _mentees(live, 20)
    with django_capture_on_commit_callbacks() as callbacks:
        batch = _stage(live, org_admin, 20)
    batch.refresh_from_db()
    assert (batch.state, batch.planned, batch.total, batch.prepared) == (State.PREPARING, 20, 20, 0)
    assert batch.mentee_ids == sorted(p.pk for p in people)
    assert _counts(live) == (0, 0, 0)  # nothing per mentee in the click's transaction
    assert len(callbacks) == 1  # the worker is asked to prepare it after commit


@pytest.mark.django_db
def test_small_invite_all_is_still_written_in_the_click(live, org_admin, staged):
    _mentees(live, 5)
    batch = _stage(live, org_admin, 5)
    assert batch.state == State.READY and batch.planned == batch.total == 5
    assert _counts(live) == (5, 5, 5)


@pytest.mark.django_db
def test_a_changed_count_refuses_and_writes_nothing(live, org_admin, staged):
    _mentees(live, 20)
    with pytest.raises(services.CountChanged):
        _stage(live, org_admin, 20, expected=19)
    assert not InvitationBatch.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("use_sql", invite_paths())
def test_prepare_writes_every_mentee_once_chunk_by_chunk(
    live, org_admin, staged, use_sql, django_capture_on_commit_callbacks, monkeypatch
):
    people = _mentees(live, 20)
    batch = _stage(live, org_admin, 20)
    dispatched = []

    def record(**kw):
        dispatched.append(kw)
        return 0

    monkeypatch.setattr(services, "outbox_dispatch", record)  # the set-based path
    monkeypatch.setattr(outbox, "outbox_dispatch", record)  # outbox_add (the Python path)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.invitation_batch_prepare(batch.pk, chunk=7, use_sql=use_sql)
    assert result == {"chunks": 3}
    batch.refresh_from_db()
    assert (batch.state, batch.prepared, batch.total, batch.mentee_ids) == (State.READY, 20, 20, [])
    assert _counts(live) == (20, 20, 20)
    rows = OutboundEmail.objects.filter(program=live)
    assert set(rows.values_list("batch_id", flat=True)) == {batch.pk}
    assert sorted(rows.values_list("to_email", flat=True)) == sorted(p.email for p in people)
    invited = Invitation.objects.filter(program=live)
    assert set(invited.values_list("batch_id", "invited_by_id")) == {(batch.pk, org_admin.pk)}
    # Each chunk hands over only its own emails: 7 + 7 + 6, none twice.
    keys = [key for call in dispatched for key in call["keys"]]
    assert [sorted(call) for call in dispatched] == [["keys"]] * 3
    assert [len(call["keys"]) for call in dispatched] == [7, 7, 6]
    assert sorted(keys) == sorted(services.invitation_key(p.pk, 1) for p in people)
    # A second preparer (a redelivered task) finds nothing left to do.
    assert services.invitation_batch_prepare(batch.pk, chunk=7, use_sql=use_sql) == {"chunks": 0}
    assert _counts(live) == (20, 20, 20)


@pytest.mark.django_db
def test_mentees_invited_or_removed_meanwhile_are_skipped_and_the_total_says_so(
    live, org_admin, staged, org_admin_client
):
    people = _mentees(live, 20)
    batch = _stage(live, org_admin, 20)
    people[0].delete()
    services.invitation_batch_prepare(batch.pk, chunk=50)
    batch.refresh_from_db()
    assert (batch.state, batch.planned, batch.total) == (State.READY, 20, 19)
    page = org_admin_client.get(reverse("invite:batch", args=[live.pk, batch.pk]))
    assert "20 mentees were confirmed; 19 still needed an invitation" in page.content.decode()


@pytest.mark.django_db
def test_invitations_wait_while_a_batch_is_prepared(live, org_admin, org_admin_client, staged):
    people = _mentees(live, 20)
    extra = factories.ParticipantFactory(program=live)
    batch = _stage(live, org_admin, 21)
    with pytest.raises(DomainError, match="still being written"):
        services.invitation_send_selected(
            program=live, user=org_admin, mentee_ids=[extra.pk], expected=1
        )
    with pytest.raises(DomainError, match="still being written"):
        _stage(live, org_admin, 21)
    assert InvitationBatch.objects.count() == 1 and _counts(live) == (0, 0, 0)

    page = org_admin_client.get(reverse("pairing:unpaired", args=[live.pk])).content.decode()
    assert "Invitations for 21 mentees are being written and sent" in page
    assert reverse("invite:batch", args=[live.pk, batch.pk]) in page
    assert "Invite all Mentees</a>" not in page and "Invite to Pair</a>" not in page
    prompt = org_admin_client.get(reverse("invite:all", args=[live.pk])).content.decode()
    assert "still being written" in prompt

    progress = org_admin_client.get(reverse("invite:batch", args=[live.pk, batch.pk]))
    text = progress.content.decode()
    assert "Preparing and sending" in text and "0 of 21 mentees so far" in text
    assert 'hx-trigger="every 1s"' in text  # keeps polling until written and sent

    services.invitation_batch_prepare(batch.pk)
    late = factories.ParticipantFactory(program=live)
    single = services.invitation_send_selected(
        program=live, user=org_admin, mentee_ids=[late.pk, people[0].pk], expected=1
    )  # the batch's own mentee is invited already; the newcomer can be now
    assert single.total == 1 and Invitation.objects.filter(mentee=late).exists()
    page = org_admin_client.get(reverse("pairing:unpaired", args=[live.pk])).content.decode()
    assert "being written" not in page


@pytest.mark.django_db
def test_the_database_allows_one_batch_in_preparation_per_program(live, org_admin):
    from django.db import IntegrityError, transaction

    InvitationBatch.objects.create(program=live, kind="all", state=State.PREPARING, planned=3)
    with pytest.raises(IntegrityError), transaction.atomic():
        InvitationBatch.objects.create(program=live, kind="all", state=State.PREPARING, planned=4)


@pytest.mark.django_db
def test_turning_pairing_off_stops_preparation_where_it_is(
    live, org_admin, staged, monkeypatch, org_admin_client
):
    _mentees(live, 20)
    batch = _stage(live, org_admin, 20)
    write = services._write
    calls = []

    def write_then_pause(program, *args, **kwargs):
        written = write(program, *args, **kwargs)
        if not calls:  # the admin turns pairing off between the first and second chunk
            pairing_turn_off(program=program, user=org_admin)
        calls.append(written)
        return written

    monkeypatch.setattr(services, "_write", write_then_pause)
    assert services.invitation_batch_prepare(batch.pk, chunk=7) == {"chunks": 1}
    batch.refresh_from_db()
    assert (batch.state, batch.prepared, batch.total, batch.mentee_ids) == (State.STOPPED, 7, 7, [])
    assert batch.stop_reason.startswith("Pairing is turned off for this program")
    assert _counts(live) == (7, 7, 7)
    text = org_admin_client.get(reverse("invite:batch", args=[live.pk, batch.pk])).content.decode()
    assert "Preparation stopped after 7 of 20 mentees" in text
    assert "The others are still Not Invited by Admin" in text


@pytest.mark.django_db
def test_resume_hands_stalled_batches_to_a_worker_and_leaves_fresh_ones(
    live, org_admin, staged, monkeypatch
):
    _mentees(live, 20)
    batch = _stage(live, org_admin, 20)
    handed = []
    monkeypatch.setattr(services, "_prepare_later", handed.append)
    assert services.invitation_batches_resume() == {"resumed": 0}  # touched just now
    assert services.invitation_batches_resume(stale_after=timedelta(0)) == {"resumed": 1}
    assert handed == [batch.pk]


@pytest.mark.django_db
def test_resume_runs_the_preparation_through_the_task(live, org_admin, staged):
    _mentees(live, 20)
    batch = _stage(live, org_admin, 20)  # its on-commit hand-over never ran (no commit here)
    assert services.invitation_batches_resume(stale_after=timedelta(0)) == {"resumed": 1}
    batch.refresh_from_db()  # the task ran inline (tests run tasks eagerly)
    assert batch.state == State.READY and _counts(live) == (20, 20, 20)


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_preparers_at_once_write_each_mentee_once(live, org_admin, staged):
    _mentees(live, 60)
    batch = _stage(live, org_admin, 60)
    errors = []

    def prepare():
        try:
            services.invitation_batch_prepare(batch.pk, chunk=5)
        except Exception as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=prepare) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    batch.refresh_from_db()
    assert (batch.state, batch.prepared, batch.total) == (State.READY, 60, 60)
    assert _counts(live) == (60, 60, 60)


@pytest.mark.needs_postgres
@pytest.mark.needs_redis
@pytest.mark.django_db(transaction=True)
def test_broker_down_at_the_click_then_the_sweepers_deliver_each_invitation_once(
    live, org_admin, staged, smtp_server, own_redis, workers
):
    people = _mentees(live, 60)
    with publishing_to(own_redis.url) as queue:
        worker = Worker(
            queue=queue,
            smtp_port=smtp_server.port,
            extra_env={"CELERY_BROKER_URL": own_redis.url, "INVITE_WORKER_CHUNK": "25"},
        ).wait_ready()
        workers.append(worker)
        own_redis.stop()

        batch = _stage(live, org_admin, 60)  # the admin's click: it must succeed
        batch.refresh_from_db()
        assert batch.state == State.PREPARING and _counts(live) == (0, 0, 0)

        own_redis.start()  # same port, empty: the hand-over after commit was lost
        assert own_redis.queue_length(queue) == 0
        assert services.invitation_batches_resume(stale_after=timedelta(0)) == {"resumed": 1}

        def ready():
            batch.refresh_from_db()
            return batch.state == State.READY

        assert wait_until(ready, timeout=90), worker.log()[-4000:]
        assert wait_until(lambda: len(smtp_server.messages) >= 60, timeout=90), worker.log()[-4000:]
        assert wait_until(
            lambda: OutboundEmail.objects.filter(status="sent").count() == 60, timeout=60
        )
        time.sleep(1)  # anything sent twice would have arrived by now
    counts = smtp_server.per_recipient()
    assert sorted(to.rsplit("<", 1)[-1].rstrip(">") for to in counts) == sorted(
        p.email for p in people
    )
    assert set(counts.values()) == {1}, worker.log()[-3000:]
    assert batch.prepared == 60 and batch.total == 60


@pytest.mark.django_db
@pytest.mark.parametrize("use_sql", invite_paths())
def test_a_template_saved_mid_batch_changes_none_of_its_emails(
    live, org_admin, staged, use_sql, monkeypatch
):
    from invitations.email_kinds import EmailKind
    from pairing_admin.mail.email_templates import email_template_save
    from pairing_admin.mail.rendering import Template

    _mentees(live, 12)
    email_template_save(
        program=live,
        kind=EmailKind.INVITATION,
        template=Template(subject="Confirmed {{ first_name }}", text="Go {{ preferences_link }}"),
        user=org_admin,
    )
    batch = _stage(live, org_admin, 12)
    write = services._write
    calls = []

    def write_then_edit(*args, **kwargs):
        written = write(*args, **kwargs)
        if not calls:  # an admin saves a new wording after the first chunk
            email_template_save(
                program=live,
                kind=EmailKind.INVITATION,
                template=Template(
                    subject="Edited {{ first_name }}", text="New {{ preferences_link }}"
                ),
                user=org_admin,
            )
        calls.append(written)
        return written

    monkeypatch.setattr(services, "_write", write_then_edit)
    assert services.invitation_batch_prepare(batch.pk, chunk=5, use_sql=use_sql) == {"chunks": 3}
    rows = OutboundEmail.objects.filter(batch_id=batch.pk)
    assert rows.count() == 12
    assert {subject.split()[0] for subject in rows.values_list("subject", flat=True)} == {
        "Confirmed"
    }
    assert {text.split()[0] for text in rows.values_list("body_text", flat=True)} == {"Go"}
    # The next batch takes the new wording.
    extra = factories.ParticipantFactory(program=live)
    later = services.invitation_send_selected(
        program=live, user=org_admin, mentee_ids=[extra.pk], expected=1, use_sql=use_sql
    )
    assert OutboundEmail.objects.get(batch_id=later.pk).subject.startswith("Edited")


@pytest.mark.django_db
def test_the_click_keeps_the_template_it_confirmed(live, org_admin, staged):
    _mentees(live, 8)
    batch = _stage(live, org_admin, 8)
    batch.refresh_from_db()
    default = services.template_for(live, "invitation")
    assert batch.template == {
        "subject": default.subject,
        "text": default.text,
        "html": default.html,
    }


@pytest.mark.django_db
def test_a_large_batch_skips_suppressed_addresses_at_the_click_and_in_each_chunk(
    live, org_admin, staged
):
    from pairing_admin.mail.models import Suppression

    people = _mentees(live, 10)
    Suppression.objects.create(email=people[0].email, reason="bounced")
    with pytest.raises(services.CountChanged):
        _stage(live, org_admin, 10)
    batch = _stage(live, org_admin, 9)
    assert people[0].pk not in batch.mentee_ids
    Suppression.objects.create(email=people[5].email, reason="complained")  # after the click
    services.invitation_batch_prepare(batch.pk, chunk=4)
    batch.refresh_from_db()
    assert (batch.state, batch.planned, batch.total) == (State.READY, 9, 8)
    assert _counts(live) == (8, 8, 8)
    assert not Invitation.objects.filter(mentee__in=[people[0], people[5]]).exists()
