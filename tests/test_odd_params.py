"""Odd query and form values never crash a page: a NUL character in a search box
(PostgreSQL refuses NUL in text), digits that str.isdigit() accepts but int() does
not ("²"), and ids too big for any database column."""

import pytest
from django.urls import reverse

from pairing_admin.lib.params import row_id, row_ids, search_text
from tests import factories


def test_row_id_takes_plain_ascii_ids_only():
    assert [row_id(v) for v in ("12", " 12", "²", "١٢", "-1", "", None, "9" * 18, "9" * 19)] == [
        12, None, None, None, None, None, None, int("9" * 18), None,
    ]  # fmt: skip
    assert row_ids(["3", "x", "3", "²", "1"]) == [3, 1]
    assert row_ids(["1", "2", "3"], limit=2) == [1, 2]


def test_search_text_drops_nul_and_keeps_the_length():
    assert search_text(" a\x00b ") == "ab"
    assert search_text(None) == ""
    assert len(search_text("x" * 500)) == 100


SEARCHES = [
    ("pairing:active", {}),
    ("pairing:unpaired", {}),
    ("pairing:export_active", {}),
    ("requests:list", {}),
    ("programs:participants", {}),
    ("email_log:list", {}),
]


@pytest.mark.parametrize(("name", "extra"), SEARCHES)
def test_a_nul_in_a_search_box_is_dropped(program, org_admin_client, name, extra):
    factories.ParticipantFactory(program=program, first_name="Ab")
    url = reverse(name, kwargs={"program_id": program.pk})
    response = org_admin_client.get(url, {"q": "a\x00b", **extra})
    assert response.status_code == 200
    if name == "pairing:export_active":
        # The whole file arrives (a failing COPY would cut it after the header).
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body.endswith(b"\n") and body.count(b"\n") >= 1


def _odd_urls(program, org):
    return [
        (reverse("pairing:end_bulk", kwargs={"program_id": program.pk}), {"pairing": "²"}),
        (reverse("pairing:end_bulk", kwargs={"program_id": program.pk}), {"pairing": "9" * 30}),
        (reverse("programs:integrations", kwargs={"organization_id": org.pk}), {"program": "²"}),
        (reverse("invitations:support_request", kwargs={"program_id": program.pk}), {"sent": "²"}),
        (
            reverse(
                "email_templates:edit", kwargs={"program_id": program.pk, "kind": "invitation"}
            ),
            {"participant": "²"},
        ),
        (reverse("invite:selected", kwargs={"program_id": program.pk}), {"mentee": "²"}),
        (reverse("invite:selected", kwargs={"program_id": program.pk}), {"mentee": "9" * 30}),
        (reverse("requests:pair", kwargs={"program_id": program.pk}), {"mentee": "²"}),
        (reverse("email_log:list", kwargs={"program_id": program.pk}), {"page": "²"}),
    ]


def test_odd_ids_never_crash_a_page(org, program, org_admin_client):
    program.pairing_enabled = True
    program.save()
    for url, params in _odd_urls(program, org):
        response = org_admin_client.get(url, params)
        assert response.status_code < 500, (url, params, response.status_code)
