"""A re-import may not contradict people's pairings: no role change for someone paired,
holding a request or in a staged auto-pair run, no capacity below the people a mentor
mentors. The preview shows why per line; confirming imports nothing of such a file."""

import pytest
from django.urls import reverse

from pairing.models import AutoPairProposal, AutoPairRun
from programs.models import Participant, ParticipantImport
from tests import factories
from tests.support.imports import (
    confirm_import,
    messages_of,
    participants_snapshot,
    preview_url,
    upload_csv,
)

# Every test runs through each way the rows are written (see conftest.upsert_path).
pytestmark = pytest.mark.usefixtures("upsert_path")


def _preview(client, program, text: str):
    upload_csv(client, program, text.encode())
    upload = ParticipantImport.objects.filter(program=program, status="preview").latest("pk")
    return upload, client.get(preview_url(upload)).context["preview"]


def _errors(preview) -> list[tuple[int, str, str]]:
    return [(e.line, e.column, e.reason) for e in preview.parsed.row_errors]


def test_a_paired_mentee_and_a_busy_mentor_keep_their_roles(org_admin_client, program):
    mentee = factories.ParticipantFactory(
        program=program, email="a@x.org", first_name="Ana", last_name="Ruiz"
    )
    mentor = factories.MentorFactory(
        program=program, email="m@x.org", first_name="Max", last_name="", capacity=2
    )
    factories.PairingFactory(program=program, mentee=mentee, mentor=mentor)
    free = factories.ParticipantFactory(program=program, email="f@x.org", first_name="Fay")
    before = participants_snapshot(program)

    upload, preview = _preview(
        org_admin_client,
        program,
        "email,role,first_name,capacity\n"
        "f@x.org,mentee,Fay,\n"
        "a@x.org,mentor,Ana,5\n"
        "m@x.org,mentee,Max,\n",
    )

    assert _errors(preview) == [
        (
            3,
            "role",
            "Ana Ruiz is in an active pairing as a mentee, so their role can't change. "
            "End the pairing, cancel the request or discard the auto-pair run first.",
        ),
        (
            4,
            "role",
            "Max mentors 1 person, so their role can't change. "
            "End the pairing, cancel the request or discard the auto-pair run first.",
        ),
    ]
    assert not preview.parsed.is_valid
    response = confirm_import(org_admin_client, upload)
    assert "nothing was imported" in messages_of(response)[-1].lower()
    # All or nothing: Fay's harmless row was not imported either.
    assert participants_snapshot(program) == before
    assert Participant.objects.get(pk=free.pk).first_name == "Fay"
    upload.refresh_from_db()
    assert upload.status == ParticipantImport.Status.PREVIEW


def test_pending_requests_and_staged_proposals_also_hold_roles(org_admin_client, program):
    asker = factories.ParticipantFactory(program=program, email="p@x.org", first_name="Pia")
    asked = factories.MentorFactory(program=program, email="q@x.org", first_name="Quinn")
    factories.MentorRequestFactory(program=program, mentee=asker, mentor=asked)
    staged = factories.ParticipantFactory(program=program, email="s@x.org", first_name="Sol")
    run = AutoPairRun.objects.create(program=program, status=AutoPairRun.Status.STAGED)
    AutoPairProposal.objects.create(
        run=run, mentee=staged, mentor=factories.MentorFactory(program=program), score=10.0
    )

    _, preview = _preview(
        org_admin_client,
        program,
        "email,role,first_name\np@x.org,mentor,Pia\nq@x.org,mentee,Quinn\ns@x.org,mentor,Sol\n",
    )

    reasons = {line: reason for line, _, reason in _errors(preview)}
    assert set(reasons) == {2, 3, 4}
    assert "has a pending mentor request" in reasons[2]
    assert "has a pending mentor request" in reasons[3]
    assert "is in the auto-pair run waiting for review" in reasons[4]


def test_capacity_cannot_drop_below_active_pairings(org_admin_client, program):
    mentor = factories.mentor_with_pairings(
        program, 2, email="m@x.org", first_name="Max", last_name="", capacity=3
    )

    upload, preview = _preview(
        org_admin_client, program, "email,role,first_name,capacity\nm@x.org,mentor,Max,1\n"
    )
    assert _errors(preview) == [
        (
            2,
            "capacity",
            "Max mentors 2 people now, so their capacity can't go below 2. End a pairing first.",
        )
    ]
    confirm_import(org_admin_client, upload)
    assert Participant.objects.get(pk=mentor.pk).capacity == 3

    upload, preview = _preview(
        org_admin_client, program, "email,role,first_name,capacity\nm@x.org,mentor,Max,2\n"
    )
    assert preview.parsed.is_valid
    confirm_import(org_admin_client, upload)
    assert Participant.objects.get(pk=mentor.pk).capacity == 2


def test_a_blank_capacity_keeps_a_mentors_and_a_new_mentor_gets_the_default(
    org_admin_client, program
):
    program.default_mentor_capacity = 2
    program.save()
    kept = factories.MentorFactory(program=program, email="k@x.org", capacity=5)
    turned = factories.ParticipantFactory(program=program, email="t@x.org", capacity=0)
    upload, preview = _preview(
        org_admin_client,
        program,
        "email,role,first_name,capacity\nk@x.org,mentor,Kay,\nt@x.org,mentor,Tom,\n"
        "n@x.org,mentor,New,\n",
    )
    assert preview.parsed.is_valid
    confirm_import(org_admin_client, upload)
    capacities = dict(Participant.objects.values_list("email", "capacity"))
    # Kay kept 5 (a blank cell used to reset it to the default); Tom, a mentee with
    # no ties, became a mentor with the default, not with a mentee's 0.
    assert capacities == {"k@x.org": 5, "t@x.org": 2, "n@x.org": 2}
    assert Participant.objects.get(pk=turned.pk).role == "mentor"
    assert Participant.objects.get(pk=kept.pk).first_name == "Kay"


def test_a_file_without_a_capacity_column_gives_a_new_mentor_the_default(org_admin_client, program):
    program.default_mentor_capacity = 3
    program.save()
    factories.ParticipantFactory(program=program, email="t@x.org", capacity=0)
    upload, _ = _preview(org_admin_client, program, "email,role,first_name\nt@x.org,mentor,Tom\n")
    confirm_import(org_admin_client, upload)
    assert Participant.objects.values_list("role", "capacity").get() == ("mentor", 3)


def test_a_pairing_made_after_the_preview_still_stops_the_confirm(org_admin_client, program):
    mentee = factories.ParticipantFactory(program=program, email="a@x.org", first_name="Ana")
    upload, preview = _preview(
        org_admin_client,
        program,
        "email,role,first_name,capacity\na@x.org,mentor,Ana,2\nb@x.org,mentee,Bo,\n",
    )
    assert preview.parsed.is_valid
    # Between the preview and the click, Ana is paired.
    factories.PairingFactory(program=program, mentee=mentee)
    before = participants_snapshot(program)

    response = confirm_import(org_admin_client, upload)

    assert response.url == preview_url(upload)
    assert messages_of(response)[-1].startswith("Nothing was imported. Line 2: Ana")
    assert participants_snapshot(program) == before
    assert not Participant.objects.filter(email="b@x.org").exists()


def test_the_preview_page_lists_the_reason(org_admin_client, program):
    mentee = factories.ParticipantFactory(program=program, email="a@x.org", first_name="Ana")
    factories.PairingFactory(program=program, mentee=mentee)
    upload, _ = _preview(org_admin_client, program, "email,role,first_name\na@x.org,mentor,Ana\n")
    page = org_admin_client.get(preview_url(upload)).content.decode()
    assert "This file cannot be imported until these errors are fixed" in page
    assert "is in an active pairing as a mentee" in page
    assert reverse("programs:import_confirm", args=[program.pk, upload.pk]) not in page


def test_a_confirmed_import_is_in_the_activity_log(org_admin_client, org_admin, program):
    from programs.models import ActivityEvent

    factories.ParticipantFactory(program=program, email="a@x.org")
    upload, _ = _preview(
        org_admin_client, program, "email,role,first_name\na@x.org,mentee,Ann\nb@x.org,mentee,Bo\n"
    )
    confirm_import(org_admin_client, upload)
    event = ActivityEvent.objects.get()
    assert (event.verb, event.actor) == ("participants_imported", org_admin)
    assert event.detail == "people.csv: 1 new, 1 updated"
