"""Evergreen programs (rolling enrollment) and the participant hooks behind them.

While pairing is on, a mentee who registers or is imported into a user-led
Evergreen program is invited at once: one invitation, one link, one email in
the outbox, written with the registration or import. programs.hooks tells the
apps above programs who was added and which mentors' room changed.
"""

import hashlib
import re
import threading

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from invitations import services as invitations
from invitations.email_kinds import EmailKind
from invitations.models import Invitation, InvitationBatch
from invitations.verbs import Verb as InvitationsVerb
from pairing_admin.mail.models import AccessLink, OutboundEmail, Suppression
from programs import hooks
from programs.models import ActivityEvent, Participant, ParticipantImport, Program
from programs.registration import registration_submit
from programs.services import participant_update
from tests import factories
from tests.programs import registering

LINK = re.compile(r"https?://\S+/p/([A-Za-z0-9_-]+)/")
HEADER = "email,role,first_name,last_name,capacity\n"


@pytest.fixture
def evergreen(live):
    """`live` (pairing on, user-led with approval) made an Evergreen program."""
    Program.objects.filter(pk=live.pk).update(program_type=Program.Type.EVERGREEN)
    live.refresh_from_db()
    return live


@pytest.fixture
def heard(monkeypatch):
    """What programs.hooks announced during the test: [(hook, program id, ids)].

    The registry is restored afterwards, so the recorders never outlive the test.
    """
    calls: list[tuple[str, int, list[int]]] = []
    monkeypatch.setattr(hooks, "_participants_added", list(hooks._participants_added))
    monkeypatch.setattr(hooks, "_mentors_changed", list(hooks._mentors_changed))

    def added(*, program, participant_ids):
        calls.append(("added", program.pk, list(participant_ids)))

    def mentors(*, program, mentor_ids):
        calls.append(("mentors", program.pk, list(mentor_ids)))

    hooks.register_participants_added(added)
    hooks.register_mentors_changed(mentors)
    return calls


def _register(client, program, **overrides):
    data = {"role": "mentee", "first_name": "Zoe", "last_name": "Quinn", "email": "zoe@example.org"}
    data.update(overrides)
    return registering.register(client, program, **data)


def _import(client, program, csv_text: str) -> ParticipantImport:
    upload = reverse("programs:import_upload", args=[program.pk])
    client.post(upload, {"file": SimpleUploadedFile("people.csv", csv_text.encode())})
    pending = ParticipantImport.objects.get(
        program=program, status=ParticipantImport.Status.PREVIEW
    )
    confirm = reverse("programs:import_confirm", args=[program.pk, pending.pk])
    assert client.post(confirm).status_code == 302
    pending.refresh_from_db()
    assert pending.status == ParticipantImport.Status.APPLIED
    return pending


def _invitation_emails(program):
    return OutboundEmail.objects.filter(program=program, kind=EmailKind.INVITATION)


def _nothing_sent(program) -> bool:
    return not (
        _invitation_emails(program).exists()
        or Invitation.objects.filter(program=program).exists()
        or InvitationBatch.objects.filter(program=program).exists()
    )


# --- Automatic invitations ------------------------------------------------------------


def test_mentee_registering_in_evergreen_program_gets_exactly_one_invitation_email(
    evergreen, anon_client, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        zoe = _register(anon_client, evergreen)

    email = _invitation_emails(evergreen).get()
    assert (email.to_email, email.idempotency_key) == ("zoe@example.org", f"invitation:{zoe.pk}:1")
    assert email.status == OutboundEmail.Status.SENT  # tasks run inline in tests
    # The address was confirmed first; then came the invitation.
    assert [m.to for m in mail.outbox] == [["zoe@example.org"], ["Zoe Quinn <zoe@example.org>"]]
    invitation = Invitation.objects.get(mentee=zoe)
    assert (invitation.invited_by, invitation.sends, invitation.batch.created_by) == (None, 1, None)
    assert email.batch_id == invitation.batch_id
    # The email's personal link opens the mentee's preferences page.
    token = LINK.search(email.body_text).group(1)
    link = AccessLink.objects.get(token_hash=hashlib.sha256(token.encode()).hexdigest())
    assert (link.participant, link.purpose) == (zoe, AccessLink.Purpose.PREFERENCES)
    assert client.get(reverse("pairing:preferences", kwargs={"token": token})).status_code == 200
    event = ActivityEvent.objects.get(program=evergreen, verb=InvitationsVerb.INVITATIONS_SENT)
    assert event.actor is None
    assert event.detail == "1 email (automatic, to new mentee of this Evergreen program)"


def test_registering_again_with_the_same_email_sends_nothing_more(evergreen, anon_client):
    _register(anon_client, evergreen)
    _register(anon_client, evergreen, first_name="Someone else")
    assert _invitation_emails(evergreen).count() == 1
    assert Invitation.objects.filter(program=evergreen).count() == 1


def test_importing_mentees_invites_each_once_and_reimporting_invites_nobody(
    evergreen, org_admin_client
):
    csv_text = (
        HEADER
        + "ann@example.org,mentee,Ann,One,\n"
        + "bob@example.org,mentee,Bob,Two,\n"
        + "cy@example.org,mentee,Cy,Three,\n"
        + "mo@example.org,mentor,Mo,Mentor,2\n"
    )
    _import(org_admin_client, evergreen, csv_text)

    mentees = Participant.objects.filter(program=evergreen, role=Participant.Role.MENTEE)
    emails = _invitation_emails(evergreen)
    assert sorted(emails.values_list("to_email", flat=True)) == [
        "ann@example.org",
        "bob@example.org",
        "cy@example.org",
    ]
    assert {e.idempotency_key for e in emails} == {f"invitation:{m.pk}:1" for m in mentees}
    assert len({e.batch_id for e in emails}) == 1  # one import, one batch
    assert Invitation.objects.filter(program=evergreen).count() == 3

    _import(org_admin_client, evergreen, csv_text)

    assert _invitation_emails(evergreen).count() == 3
    assert Invitation.objects.filter(program=evergreen).count() == 3
    assert InvitationBatch.objects.filter(program=evergreen).count() == 1


@pytest.mark.parametrize("use_sql", [False, True], ids=["python", "sql"])
def test_the_service_invites_only_new_mentees_and_never_twice(evergreen, use_sql):
    if use_sql and connection.vendor != "postgresql":
        pytest.skip("the set-based path is PostgreSQL's")
    new, invited, suppressed = factories.ParticipantFactory.create_batch(3, program=evergreen)
    mentor = factories.MentorFactory(program=evergreen)
    elsewhere = factories.ParticipantFactory()  # a mentee of another program
    invitations.invitation_send_selected(
        program=evergreen, user=None, mentee_ids=[invited.pk], expected=1, use_sql=use_sql
    )
    Suppression.objects.create(email=suppressed.email, reason="bounced")
    ids = [new.pk, invited.pk, suppressed.pk, mentor.pk, elsewhere.pk]

    batch = invitations.invitation_send_automatic(
        program=evergreen, mentee_ids=ids, use_sql=use_sql
    )
    again = invitations.invitation_send_automatic(
        program=evergreen, mentee_ids=ids, use_sql=use_sql
    )

    assert again is None
    assert (batch.kind, batch.total, batch.created_by) == (InvitationBatch.Kind.SINGLE, 1, None)
    assert list(OutboundEmail.objects.filter(batch_id=batch.pk).values_list("to_email")) == [
        (new.email,)
    ]
    assert Invitation.objects.get(mentee=new).batch == batch
    assert not Invitation.objects.filter(mentee__in=[suppressed, mentor, elsewhere]).exists()
    assert _invitation_emails(evergreen).count() == 2  # `invited`'s own, and `new`'s


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_mentees_registering_at_once_are_both_invited(evergreen, monkeypatch):
    # Both have written their participant before either invites: the program
    # lock queues the invitations, and neither registration fails or is lost.
    barrier = threading.Barrier(2, timeout=10)
    both_inserted = [lambda **_: barrier.wait(), *hooks._participants_added]
    monkeypatch.setattr(hooks, "_participants_added", both_inserted)
    errors = []

    def register(n):
        try:
            registration_submit(
                program=Program.objects.get(pk=evergreen.pk),
                email=f"mentee{n}@example.org",
                role="mentee",
                first_name=f"Mentee{n}",
            )
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(_invitation_emails(evergreen).values_list("to_email", flat=True)) == [
        "mentee0@example.org",
        "mentee1@example.org",
    ]
    assert Invitation.objects.filter(program=evergreen).count() == 2


def test_cohort_program_registration_writes_no_email(live, anon_client):
    _register(anon_client, live)
    assert live.program_type == Program.Type.COHORT
    assert _nothing_sent(live)


def test_evergreen_program_with_pairing_off_invites_nobody(program, anon_client, org_admin_client):
    Program.objects.filter(pk=program.pk).update(program_type=Program.Type.EVERGREEN)
    program.refresh_from_db()
    _register(anon_client, program)
    _import(org_admin_client, program, HEADER + "ann@example.org,mentee,Ann,One,\n")
    assert Participant.objects.filter(program=program).count() == 2
    assert _nothing_sent(program)


def test_admin_led_evergreen_program_invites_nobody(evergreen, anon_client):
    Program.objects.filter(pk=evergreen.pk).update(pairing_process=Program.Process.ADMIN_LED)
    evergreen.refresh_from_db()
    _register(anon_client, evergreen)
    assert _nothing_sent(evergreen)


def test_mentor_registering_in_evergreen_program_gets_no_invitation(evergreen, anon_client):
    _register(anon_client, evergreen, role="mentor", email="mo@example.org")
    assert _nothing_sent(evergreen)


# --- The hooks ------------------------------------------------------------------------


def test_registration_announces_the_new_participant_and_a_new_mentor(program, anon_client, heard):
    zoe = _register(anon_client, program)
    mo = _register(anon_client, program, role="mentor", email="mo@example.org")
    _register(anon_client, program, email="zoe@example.org")  # known: nothing new

    assert heard == [
        ("added", program.pk, [zoe.pk]),
        ("added", program.pk, [mo.pk]),
        ("mentors", program.pk, [mo.pk]),
    ]


def test_import_announces_new_people_at_once_and_only_mentors_that_changed(
    program, org_admin_client, heard
):
    grows = factories.MentorFactory(program=program, email="grows@example.org", capacity=2)
    same = factories.MentorFactory(program=program, email="same@example.org", capacity=2)
    becomes = factories.ParticipantFactory(program=program, email="becomes@example.org")
    stays = factories.ParticipantFactory(program=program, email="stays@example.org")
    csv_text = (
        HEADER
        + "grows@example.org,mentor,Grows,,5\n"
        + "same@example.org,mentor,Same,,2\n"
        + "becomes@example.org,mentor,Becomes,,\n"
        + "stays@example.org,mentee,Stays,,\n"
        + "new-mentee@example.org,mentee,New,,\n"
        + "new-mentor@example.org,mentor,Newer,,3\n"
    )
    _import(org_admin_client, program, csv_text)

    people = dict(Participant.objects.values_list("email", "pk"))
    new_ids = sorted([people["new-mentee@example.org"], people["new-mentor@example.org"]])
    changed = sorted([grows.pk, becomes.pk, people["new-mentor@example.org"]])
    assert heard == [("added", program.pk, new_ids), ("mentors", program.pk, changed)]
    assert same.pk not in changed and stays.pk not in new_ids

    heard.clear()
    _import(org_admin_client, program, csv_text)  # the same file again changes nothing
    assert heard == []


def _edit(client, person, **overrides):
    data = {
        "role": person.role,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "department": person.department,
        "location": person.location,
        "capacity": str(person.capacity),
        "accepting_requests": "on" if person.accepting_requests else "",
    }
    # The values the page showed, posted back hidden: the form saves what changed.
    seen = {f"initial-{name}": value for name, value in data.items()}
    seen["initial-accepting_requests"] = str(person.accepting_requests)
    data.update(overrides)
    url = reverse(
        "programs:participant_edit",
        kwargs={"program_id": person.program_id, "participant_id": person.pk},
    )
    response = client.post(url, {k: v for k, v in {**seen, **data}.items() if v != ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    person.refresh_from_db()


def test_editing_a_mentors_capacity_or_availability_announces_them(
    program, org_admin_client, heard
):
    mentor = factories.MentorFactory(program=program, capacity=2)

    _edit(org_admin_client, mentor, capacity="4")
    _edit(org_admin_client, mentor, accepting_requests="")
    _edit(org_admin_client, mentor, accepting_requests="on")

    assert (mentor.capacity, mentor.accepting_requests) == (4, True)
    assert heard == [("mentors", program.pk, [mentor.pk])] * 3


def test_a_role_change_to_or_from_mentor_announces_the_person(program, org_admin_client, heard):
    person = factories.ParticipantFactory(program=program)
    _edit(org_admin_client, person, role="mentor", capacity="2")
    _edit(org_admin_client, person, role="mentee", capacity="0")
    assert heard == [("mentors", program.pk, [person.pk])] * 2


def test_edits_that_leave_mentoring_room_alone_announce_nothing(program, org_admin_client, heard):
    mentor = factories.MentorFactory(program=program, capacity=2)
    mentee = factories.ParticipantFactory(program=program)

    _edit(org_admin_client, mentor, department="Legal", first_name="Renamed")
    _edit(org_admin_client, mentor)  # saved as it was
    _edit(org_admin_client, mentee, accepting_requests="")  # not a mentor
    participant_update(participant=mentee, capacity=0)

    assert mentor.department == "Legal"
    assert heard == []


def test_registering_a_callback_twice_keeps_one_and_empty_ids_call_nobody(program, heard):
    calls = []

    def callback(*, program, mentor_ids):
        calls.append(mentor_ids)

    hooks.register_mentors_changed(callback)
    hooks.register_mentors_changed(callback)
    hooks.mentors_changed(program=program, mentor_ids=[3, 1, 3])
    hooks.mentors_changed(program=program, mentor_ids=[])
    hooks.participants_added(program=program, participant_ids=[])

    assert calls == [[1, 3]]
    assert heard == [("mentors", program.pk, [1, 3])]


def test_invitations_app_listens_for_new_participants():
    assert invitations.invite_new_mentees in hooks._participants_added


# --- Settings ---------------------------------------------------------------------------


def _settings(program, **overrides):
    data = {
        "name": program.name,
        "program_type": program.program_type,
        "pairing_process": program.pairing_process,
        "default_mentor_capacity": program.default_mentor_capacity,
        "request_expiry_business_days": program.request_expiry_business_days,
        "max_preferences": program.max_preferences,
        "after_decline": program.after_decline,
        "request_reminders": "on" if program.request_reminders else "",
        "waitlist_enabled": "on" if program.waitlist_enabled else "",
        "waitlist_enabled-shown": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


def test_new_program_is_a_cohort_with_its_waitlist_on(org, org_admin_client):
    form = org_admin_client.get(reverse("programs:create")).context["form"]
    assert form["program_type"].value() == Program.Type.COHORT
    assert form["waitlist_enabled"].value() is True
    html = str(form["waitlist_enabled"])
    assert 'name="waitlist_enabled-shown"' in html
    program = factories.ProgramFactory(organization=org)
    assert (program.program_type, program.waitlist_enabled, program.waitlist_on) == (
        "cohort",
        True,
        True,
    )


def test_settings_save_the_program_type_and_log_it(program, org_admin, org_admin_client):
    url = reverse("programs:edit", kwargs={"program_id": program.pk})

    response = org_admin_client.post(url, _settings(program, program_type="evergreen"))

    assert response.status_code == 302
    program.refresh_from_db()
    assert program.program_type == Program.Type.EVERGREEN and program.waitlist_on
    event = ActivityEvent.objects.get(program=program)
    assert (event.verb, event.actor) == (ActivityEvent.Verb.PROGRAM_SETTINGS_CHANGED, org_admin)
    assert event.detail == "program type Cohort → Evergreen (rolling enrollment)"
    detail = org_admin_client.get(reverse("programs:detail", kwargs={"program_id": program.pk}))
    assert "Evergreen (rolling enrollment): registration stays open" in detail.content.decode()


def test_cohort_can_turn_its_waitlist_off_and_that_is_logged(program, org_admin_client):
    url = reverse("programs:edit", kwargs={"program_id": program.pk})
    assert org_admin_client.post(url, _settings(program, waitlist_enabled="")).status_code == 302
    program.refresh_from_db()
    assert (program.waitlist_enabled, program.waitlist_on) == (False, False)
    assert ActivityEvent.objects.get(program=program).detail == "waitlist on → off"


def test_evergreen_program_refuses_to_turn_its_waitlist_off(program, org_admin_client):
    url = reverse("programs:edit", kwargs={"program_id": program.pk})
    Program.objects.filter(pk=program.pk).update(program_type=Program.Type.EVERGREEN)
    program.refresh_from_db()

    response = org_admin_client.post(url, _settings(program, waitlist_enabled=""))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["waitlist_enabled"]
    assert errors["waitlist_enabled"][0].startswith(
        "An Evergreen program always keeps its waitlist"
    )
    assert "always keeps its waitlist" in response.content.decode()
    program.refresh_from_db()
    assert program.waitlist_enabled is True
    assert not ActivityEvent.objects.filter(program=program).exists()


def test_switching_to_evergreen_with_the_waitlist_off_is_refused(program, org_admin_client):
    Program.objects.filter(pk=program.pk).update(waitlist_enabled=False)
    program.refresh_from_db()
    url = reverse("programs:edit", kwargs={"program_id": program.pk})

    response = org_admin_client.post(url, _settings(program, program_type="evergreen"))

    assert "waitlist_enabled" in response.context["form"].errors
    program.refresh_from_db()
    assert (program.program_type, program.waitlist_enabled) == ("cohort", False)


def test_a_post_without_the_new_fields_keeps_type_and_waitlist(program, org_admin_client):
    # A form opened before these fields existed posts neither of them.
    Program.objects.filter(pk=program.pk).update(program_type=Program.Type.EVERGREEN)
    program.refresh_from_db()
    data = _settings(program)
    del data["program_type"], data["waitlist_enabled"], data["waitlist_enabled-shown"]
    url = reverse("programs:edit", kwargs={"program_id": program.pk})

    assert org_admin_client.post(url, data).status_code == 302

    program.refresh_from_db()
    assert (program.program_type, program.waitlist_enabled) == ("evergreen", True)
    assert not ActivityEvent.objects.filter(program=program).exists()


def test_database_refuses_an_evergreen_program_without_waitlist(program):
    with pytest.raises(IntegrityError), transaction.atomic():
        Program.objects.filter(pk=program.pk).update(
            program_type=Program.Type.EVERGREEN, waitlist_enabled=False
        )
