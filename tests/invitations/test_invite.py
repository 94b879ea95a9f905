"""Invite all Mentees, Invite to Pair, bulk invite and resend (prompt -> Send Emails -> progress)."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from invitations import services
from invitations.email_kinds import EmailKind
from invitations.models import Invitation, InvitationBatch
from invitations.verbs import Verb as InvitationsVerb
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.branding import frame
from pairing_admin.mail.kinds import DEFAULTS
from pairing_admin.mail.models import AccessLink, OutboundEmail
from pairing_admin.mail.rendering import render
from programs.branding import brand_of
from programs.models import ActivityEvent, Participant, Program
from tests import factories
from tests.support.branding import TRICKY_NAME, brand

LINK = re.compile(r"https?://\S+/p/([A-Za-z0-9_-]+)/")


def _url(name, program, **kwargs):
    return reverse(name, kwargs={"program_id": program.pk, **kwargs})


def _mentees(program, n, **extra):
    return [
        factories.ParticipantFactory(
            program=program, first_name=f"Mentee{i:03}", last_name=f"L{i:03}", **extra
        )
        for i in range(n)
    ]


def _nothing_written():
    return (
        Invitation.objects.count(),
        AccessLink.objects.count(),
        OutboundEmail.objects.count(),
        InvitationBatch.objects.count(),
    ) == (0, 0, 0, 0)


# --- The prompt --------------------------------------------------------------------


def test_prompt_shows_exact_count_and_preview_as_first_recipient(live, org_admin_client):
    _mentees(live, 3)
    factories.ParticipantFactory(program=live, first_name="Aaron", last_name="Aardvark")
    factories.MentorFactory(program=live)
    response = org_admin_client.get(_url("invite:all", live))
    assert response.status_code == 200
    html = response.content.decode()
    assert "4 emails" in html
    assert 'name="expected" value="4"' in html
    assert "As Aaron Aardvark will see it" in html
    assert "Hi Aaron," in html  # the preview's srcdoc, escaped
    assert 'sandbox=""' in html
    assert _url("email_templates:edit", live, kind="invitation") in html
    assert "Send Emails" in html
    assert _nothing_written()


def test_send_all_writes_invitations_links_and_emails_in_one_go(
    live, org_admin, org_admin_client, django_capture_on_commit_callbacks
):
    mentees = _mentees(live, 3)
    with django_capture_on_commit_callbacks(execute=True):
        response = org_admin_client.post(_url("invite:all", live), {"expected": 3})
    batch = InvitationBatch.objects.get()
    assert response.status_code == 302
    assert response.url == _url("invite:batch", live, batch_id=batch.pk)
    assert batch.total == 3 and batch.kind == InvitationBatch.Kind.ALL
    assert Invitation.objects.filter(batch=batch, invited_by=org_admin, sends=1).count() == 3
    rows = OutboundEmail.objects.filter(batch_id=batch.pk)
    assert sorted(r.to_email for r in rows) == sorted(m.email for m in mentees)
    assert {r.idempotency_key for r in rows} == {f"invitation:{m.pk}:1" for m in mentees}
    # Sent eagerly in tests: every email went out.
    assert set(rows.values_list("status", flat=True)) == {"sent"}
    event = ActivityEvent.objects.get(verb=InvitationsVerb.INVITATIONS_SENT)
    assert event.actor == org_admin and "3 emails" in event.detail


@pytest.mark.parametrize("use_sql", [False, True], ids=["python", "sql"])
def test_each_email_carries_its_own_working_link(live, org_admin, client, use_sql):
    if use_sql and connection.vendor != "postgresql":
        pytest.skip("the set-based path is PostgreSQL's")
    mentees = _mentees(live, 3)
    tricky = factories.ParticipantFactory(
        program=live, first_name='<b>Zoë</b> & "O\'Neil"', last_name="Zed"
    )
    mentees.append(tricky)
    # Its brand's name tries HTML and a header; both paths frame the email alike.
    brand(live, name=TRICKY_NAME)
    services.invitation_send_all(program=live, user=org_admin, expected=4, use_sql=use_sql)
    template = DEFAULTS[EmailKind.INVITATION]
    tokens = set()
    for mentee in mentees:
        row = OutboundEmail.objects.get(to_email=mentee.email)
        token = LINK.search(row.body_text).group(1)
        tokens.add(token)
        link = AccessLink.objects.get(token_hash=hashlib.sha256(token.encode()).hexdigest())
        assert link.participant_id == mentee.pk and link.purpose == "preferences"
        assert link.program_id == live.pk
        assert link.expires_at > timezone.now() + timedelta(days=100)
        values = {
            "first_name": mentee.first_name,
            "program_name": brand_of(live).display_name,
            "organization_name": live.organization.name,
            "preferences_link": LINK.search(row.body_text).group(0),
        }
        subject, text, body_html = render(EmailKind.INVITATION, template, values)
        text, body_html = frame(text, body_html, brand_of(live))
        assert (row.subject, row.body_text, row.body_html) == (subject, text, body_html)
        assert row.reply_to == "team@northwind.example"
        assert row.to_name == mentee.full_name
        page = client.get(reverse("pairing:preferences", kwargs={"token": token}))
        assert page.status_code == 200
    assert len(tokens) == 4 and all(len(t) >= 43 for t in tokens)
    assert "<b>" not in OutboundEmail.objects.get(to_email=tricky.email).body_html


def test_double_click_sends_one_invitation_each(live, org_admin_client):
    mentees = _mentees(live, 2)
    first = org_admin_client.post(_url("invite:all", live), {"expected": 2})
    second = org_admin_client.post(_url("invite:all", live), {"expected": 2})
    assert first.status_code == 302
    assert second.status_code == 409
    assert "changed from 2 to 0" in second.content.decode()
    assert Invitation.objects.count() == 2
    for mentee in mentees:
        assert OutboundEmail.objects.filter(to_email=mentee.email).count() == 1


def test_count_changed_meanwhile_shows_the_prompt_again(live, org_admin_client):
    _mentees(live, 2)
    factories.ParticipantFactory(program=live, first_name="Late", last_name="Arrival")
    response = org_admin_client.post(_url("invite:all", live), {"expected": 2})
    assert response.status_code == 409
    html = response.content.decode()
    assert "changed from 2 to 3" in html
    assert 'name="expected" value="3"' in html
    assert _nothing_written()


def test_post_without_a_confirmed_count_sends_nothing(live, org_admin_client):
    _mentees(live, 2)
    for posted in ({}, {"expected": "²"}):
        response = org_admin_client.post(_url("invite:all", live), posted)
        assert response.status_code == 409
        html = response.content.decode()
        assert "please check the number of emails (2) and click Send Emails again" in html
        assert "changed from" not in html
        assert _nothing_written()


def test_pairing_off_refuses_and_writes_nothing(program, org_admin_client):
    _mentees(program, 2)
    page = org_admin_client.get(_url("invite:all", program))
    assert "Pairing is turned off" in page.content.decode()
    assert "Send Emails" not in page.content.decode()
    response = org_admin_client.post(_url("invite:all", program), {"expected": 2}, follow=True)
    assert "Pairing is turned off" in response.content.decode()
    selected = org_admin_client.post(
        _url("invite:selected", program), {"expected": 1, "mentee": Participant.objects.first().pk}
    )
    assert selected.status_code == 302
    assert _nothing_written()
    assert not ActivityEvent.objects.filter(verb=InvitationsVerb.INVITATIONS_SENT).exists()


def test_admin_led_program_is_not_invited(live, org_admin):
    _mentees(live, 1)
    Program.objects.filter(pk=live.pk).update(pairing_process=Program.Process.ADMIN_LED)
    live.refresh_from_db()
    with pytest.raises(DomainError, match="admin-led"):
        services.invitation_send_all(program=live, user=org_admin, expected=1)
    assert _nothing_written()


# --- Invite to Pair and bulk invite --------------------------------------------------


def test_invite_to_pair_one_mentee(live, org_admin_client):
    one, _other = _mentees(live, 2)
    prompt = org_admin_client.get(_url("invite:selected", live) + f"?mentee={one.pk}")
    html = prompt.content.decode()
    assert "1 email" in html and one.email in html
    response = org_admin_client.post(
        _url("invite:selected", live), {"expected": 1, "mentee": [one.pk]}
    )
    assert response.status_code == 302
    assert list(Invitation.objects.values_list("mentee_id", flat=True)) == [one.pk]
    assert InvitationBatch.objects.get().kind == InvitationBatch.Kind.SINGLE


def test_bulk_invite_ignores_other_programs_and_already_invited(
    live, org_admin, org_admin_client, other_org
):
    a, b, c = _mentees(live, 3)
    services.invitation_send_selected(program=live, user=org_admin, mentee_ids=[a.pk], expected=1)
    stranger = factories.ParticipantFactory(
        program=factories.ProgramFactory(organization=other_org)
    )
    ids = [a.pk, b.pk, c.pk, stranger.pk]
    prompt = org_admin_client.get(_url("invite:selected", live), {"mentee": ids})
    assert "2 emails" in prompt.content.decode()
    response = org_admin_client.post(_url("invite:selected", live), {"expected": 2, "mentee": ids})
    assert response.status_code == 302
    assert set(Invitation.objects.values_list("mentee_id", flat=True)) == {a.pk, b.pk, c.pk}
    assert not Invitation.objects.filter(mentee=stranger).exists()
    assert OutboundEmail.objects.filter(to_email=a.email).count() == 1  # not invited twice
    assert Invitation.objects.get(mentee=a).sends == 1


def test_invite_post_for_an_invited_mentee_does_nothing_for_them(live, org_admin, org_admin_client):
    (a,) = _mentees(live, 1)
    services.invitation_send_selected(program=live, user=org_admin, mentee_ids=[a.pk], expected=1)
    response = org_admin_client.post(_url("invite:selected", live), {"expected": 1, "mentee": a.pk})
    assert response.status_code == 409
    assert OutboundEmail.objects.count() == 1 and Invitation.objects.get().sends == 1


# --- Resend --------------------------------------------------------------------------


@pytest.mark.parametrize("use_sql", [False, True], ids=["python", "sql"])
def test_resend_is_its_own_confirmed_action_and_never_doubles(live, org_admin, use_sql):
    if use_sql and connection.vendor != "postgresql":
        pytest.skip("the set-based path is PostgreSQL's")
    a, b = _mentees(live, 2)
    services.invitation_send_all(program=live, user=org_admin, expected=2, use_sql=use_sql)
    asked_at = timezone.now()
    batch = services.invitation_resend(
        program=live,
        user=org_admin,
        mentee_ids=[a.pk],
        expected=1,
        asked_at=asked_at,
        use_sql=use_sql,
    )
    assert batch.kind == InvitationBatch.Kind.RESEND and batch.total == 1
    assert Invitation.objects.get(mentee=a).sends == 2
    assert Invitation.objects.get(mentee=b).sends == 1
    keys = set(
        OutboundEmail.objects.filter(to_email=a.email).values_list("idempotency_key", flat=True)
    )
    assert keys == {f"invitation:{a.pk}:1", f"invitation:{a.pk}:2"}
    # Two links for a: the old email keeps working.
    assert AccessLink.objects.filter(participant=a, used_at__isnull=True).count() == 2
    with pytest.raises(services.CountChanged):  # the same prompt clicked again
        services.invitation_resend(
            program=live,
            user=org_admin,
            mentee_ids=[a.pk],
            expected=1,
            asked_at=asked_at,
            use_sql=use_sql,
        )
    assert OutboundEmail.objects.filter(to_email=a.email).count() == 2
    assert ActivityEvent.objects.filter(verb=InvitationsVerb.INVITATIONS_RESENT).count() == 1


def test_resend_views_confirm_then_send(live, org_admin, org_admin_client):
    (a,) = _mentees(live, 1)
    services.invitation_send_all(program=live, user=org_admin, expected=1)
    prompt = org_admin_client.get(_url("invite:resend", live), {"mentee": a.pk})
    html = prompt.content.decode()
    assert "Resend the invitation" in html and "1 email" in html
    asked_at = re.search(r'name="asked_at" value="([^"]+)"', html).group(1)
    data = {"expected": 1, "mentee": a.pk, "asked_at": asked_at}
    assert org_admin_client.post(_url("invite:resend", live), data).status_code == 302
    assert org_admin_client.post(_url("invite:resend", live), data).status_code == 409
    assert Invitation.objects.get().sends == 2


def test_not_invited_mentees_cannot_be_resent(live, org_admin_client):
    (a,) = _mentees(live, 1)
    prompt = org_admin_client.get(_url("invite:resend", live), {"mentee": a.pk})
    assert "There is nobody" in prompt.content.decode()


# --- Progress --------------------------------------------------------------------------


def test_progress_polls_until_done_and_works_without_js(
    live, org_admin, org_admin_client, django_assert_num_queries
):
    _mentees(live, 3)
    batch = services.invitation_send_all(program=live, user=org_admin, expected=3)
    OutboundEmail.objects.filter(batch_id=batch.pk).update(status="queued")
    OutboundEmail.objects.filter(
        pk=OutboundEmail.objects.filter(batch_id=batch.pk).first().pk
    ).update(status="failed")
    url = _url("invite:batch", live, batch_id=batch.pk)
    page = org_admin_client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert "0 sent, 1 failed, 3 in total" in page
    assert f'<a href="{url}">Refresh</a>' in page
    OutboundEmail.objects.filter(batch_id=batch.pk, status="queued").update(status="sent")
    fragment = org_admin_client.get(
        url, headers={"HX-Request": "true", "HX-Target": "batch-progress"}
    )
    html = fragment.content.decode()
    assert "every 1s" not in html and "Refresh" not in html
    assert "2 sent, 1 failed, 3 in total" in html
    assert "<html" not in html


def test_batch_progress_counts_in_one_query(live, org_admin, django_assert_num_queries):
    from invitations.selectors import batch_progress

    _mentees(live, 3)
    batch = services.invitation_send_all(program=live, user=org_admin, expected=3)
    first, second, _ = OutboundEmail.objects.filter(batch_id=batch.pk)
    OutboundEmail.objects.filter(pk=first.pk).update(status="sent")
    OutboundEmail.objects.filter(pk=second.pk).update(status="bounced")
    with django_assert_num_queries(1):
        progress = batch_progress(batch)
    assert (progress.total, progress.sent, progress.failed, progress.pending) == (3, 1, 1, 1)


def test_another_programs_batch_is_404(live, org_admin, org_admin_client, org):
    _mentees(live, 1)
    batch = services.invitation_send_all(program=live, user=org_admin, expected=1)
    sibling = factories.ProgramFactory(organization=org)
    response = org_admin_client.get(_url("invite:batch", sibling, batch_id=batch.pk))
    assert response.status_code == 404


def test_outsiders_get_404_for_every_invite_url(live, other_admin_client, org_admin):
    _mentees(live, 1)
    batch = services.invitation_send_all(program=live, user=org_admin, expected=1)
    for name, kwargs in [
        ("invite:all", {}),
        ("invite:selected", {}),
        ("invite:resend", {}),
        ("invite:batch", {"batch_id": batch.pk}),
    ]:
        for method in ("get", "post", "put"):
            response = getattr(other_admin_client, method)(_url(name, live, **kwargs))
            assert response.status_code == 404, (name, method)


# --- Suppressed addresses ----------------------------------------------------------------


def _suppress(*people):
    from pairing_admin.mail.models import Suppression

    for person in people:
        Suppression.objects.create(email=person.email, reason="bounced")


@pytest.mark.parametrize("use_sql", [False, True], ids=["python", "sql"])
def test_invite_all_skips_suppressed_addresses_and_every_count_agrees(
    live, org_admin, org_admin_client, use_sql
):
    if use_sql and connection.vendor != "postgresql":
        pytest.skip("the set-based path is PostgreSQL's")
    from pairing import selectors as pairing_selectors

    people = _mentees(live, 3)
    _suppress(people[0])
    html = org_admin_client.get(_url("invite:all", live)).content.decode()
    assert "2 emails</strong> will be sent" in html
    assert 'name="expected" value="2"' in html
    assert "1 mentee skipped</strong>" in html and "stays Not Invited by Admin" in html
    assert f"As {people[1].full_name} will see it" in html  # the first who gets the email

    with pytest.raises(services.CountChanged):  # the old count that included the bounce
        services.invitation_send_all(program=live, user=org_admin, expected=3, use_sql=use_sql)
    batch = services.invitation_send_all(program=live, user=org_admin, expected=2, use_sql=use_sql)
    assert batch.total == batch.planned == 2
    rows = OutboundEmail.objects.filter(batch_id=batch.pk)
    assert sorted(rows.values_list("to_email", flat=True)) == sorted(p.email for p in people[1:])
    assert not Invitation.objects.filter(mentee=people[0]).exists()
    progress = selectors_progress(batch)
    assert (progress.total, progress.pending) == (2, 2)
    # The Unpaired tab still lists the skipped mentee as Not Invited by Admin,
    # and the next prompt says why no email goes to them.
    assert pairing_selectors.unpaired_counts(live)["not_invited"] == 1
    again = org_admin_client.get(_url("invite:all", live)).content.decode()
    assert "<strong>No email</strong> will be sent" in again and "Send Emails" not in again


def selectors_progress(batch):
    from invitations import selectors

    return selectors.batch_progress(batch)


def test_invite_to_pair_a_suppressed_mentee_says_why_nothing_goes(
    live, org_admin, org_admin_client
):
    (a,) = _mentees(live, 1)
    _suppress(a)
    html = org_admin_client.get(_url("invite:selected", live), {"mentee": a.pk}).content.decode()
    assert "No email</strong> will be sent" in html and "1 mentee skipped" in html
    with pytest.raises(DomainError, match="bounced or complained"):
        services.invitation_send_selected(
            program=live, user=org_admin, mentee_ids=[a.pk], expected=0
        )
    assert _nothing_written()


def test_resend_skips_suppressed_addresses_who_keep_their_invitation(
    live, org_admin, org_admin_client
):
    a, b = _mentees(live, 2)
    services.invitation_send_all(program=live, user=org_admin, expected=2)
    _suppress(a)
    prompt = org_admin_client.get(_url("invite:resend", live), {"mentee": [a.pk, b.pk]})
    html = prompt.content.decode()
    assert "1 email</strong> will be sent again" in html
    assert "1 mentee skipped" in html and "keeps the earlier invitation" in html
    batch = services.invitation_resend(
        program=live, user=org_admin, mentee_ids=[a.pk, b.pk], expected=1, asked_at=timezone.now()
    )
    assert batch.total == 1
    assert Invitation.objects.get(mentee=a).sends == 1
    assert Invitation.objects.get(mentee=b).sends == 2
    assert OutboundEmail.objects.filter(batch_id=batch.pk).get().to_email == b.email


@pytest.mark.parametrize("use_sql", [False, True], ids=["python", "sql"])
def test_a_name_with_a_newline_is_invited_with_a_one_line_to_header(live, org_admin, use_sql):
    if use_sql and connection.vendor != "postgresql":
        pytest.skip("the set-based path is PostgreSQL's")
    from pairing_admin.mail import sending

    (a,) = _mentees(live, 1)
    Participant.objects.filter(pk=a.pk).update(first_name="Ann\nBcc: x@evil.test")
    batch = services.invitation_send_all(program=live, user=org_admin, expected=1, use_sql=use_sql)
    row = OutboundEmail.objects.get(batch_id=batch.pk)
    assert row.to_name == "Ann Bcc: x@evil.test L000"
    assert sending.outbox_send_batch([row.pk])["sent"] == 1
