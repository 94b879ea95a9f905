"""The Active Pairings tab: columns, health, search, sort, pages, pinned query counts."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from pairing.models import MentoringSession, Pairing
from tests import factories
from tests.support.builders import pair


def _url(program, **params):
    url = reverse("pairing:active", kwargs={"program_id": program.pk})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def _origin_cell(html: str, pairing) -> str:
    """The "How paired" cell of `pairing`'s row: the fifth cell, after the started date."""
    [row] = [part for part in html.split("<tr>") if f'id="pick-{pairing.pk}"' in part]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.split("</tr>", 1)[0], re.S)
    return cells[4].strip()


def test_tab_lists_each_pairing_with_sessions_last_session_and_health(program, org_admin_client):
    fresh = pair(program, days_ago=3, origin="admin")
    quiet = pair(program, days_ago=40, sessions=[35], origin="auto_pair")
    busy = pair(program, days_ago=60, sessions=[50, 20, 2])
    fresh.mentee.first_name = "Freya"
    fresh.mentee.save()
    html = org_admin_client.get(_url(program)).content.decode()
    assert "3 active pairings" in html
    assert "Freya" in html
    assert "Too Early to Tell" in html and "Needs Check-in" in html and "On Track" in html
    # Each row says how its pair was made (the tabs' labels say "Auto-pair" and "Requests" anyway).
    assert _origin_cell(html, fresh) == "Admin"
    assert _origin_cell(html, quiet) == "Auto-pair"
    assert _origin_cell(html, busy) == "Request"
    last = timezone.localdate() - timedelta(days=2)
    assert f"{last.day} {last:%b %Y}" in html
    for pairing in (fresh, quiet, busy):
        assert reverse("pairing:end", args=[program.pk, pairing.pk]) in html
        assert f'name="pairing" value="{pairing.pk}"' in html  # bulk checkbox


def test_ended_pairings_and_other_programs_are_not_listed(program, org_admin_client, other_org):
    gone = pair(program, days_ago=10)
    Pairing.objects.filter(pk=gone.pk).update(status="ended", ended_at=timezone.now())
    elsewhere = factories.ProgramFactory(organization=other_org)
    stranger = pair(elsewhere, days_ago=10)
    stranger.mentee.first_name = "Outsider"
    stranger.mentee.save()
    html = org_admin_client.get(_url(program)).content.decode()
    assert "No active pairings yet" in html
    assert "Outsider" not in html


def test_search_matches_mentee_or_mentor_and_health_filter_narrows(program, org_admin_client):
    a = pair(program, days_ago=3)
    a.mentor.last_name = "Quimby"
    a.mentor.save()
    pair(program, days_ago=40)
    html = org_admin_client.get(_url(program, q="quimby")).content.decode()
    assert "1 active pairing " in html and "Quimby" in html
    html = org_admin_client.get(_url(program, health="check_in")).content.decode()
    assert "1 active pairing " in html and "Needs Check-in" in html and "Quimby" not in html


def test_sort_by_whitelisted_columns_and_unknown_sort_falls_back(program, org_admin_client):
    few = pair(program, days_ago=30, sessions=[1])
    many = pair(program, days_ago=30, sessions=[1, 2, 3])
    few.mentee.first_name, many.mentee.first_name = "Fewsessions", "Manysessions"
    few.mentee.save()
    many.mentee.save()
    html = org_admin_client.get(_url(program, sort="-sessions")).content.decode()
    assert html.index("Manysessions") < html.index("Fewsessions")
    assert 'aria-sort="descending"' in html
    html = org_admin_client.get(_url(program, sort="sessions")).content.decode()
    assert html.index("Fewsessions") < html.index("Manysessions")
    response = org_admin_client.get(_url(program, sort="mentee__email;drop"))
    assert response.status_code == 200


def test_htmx_search_returns_only_the_results_fragment(program, org_admin_client):
    pair(program)
    response = org_admin_client.get(
        _url(program, q="x"), headers={"HX-Request": "true", "HX-Target": "active-results"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="active-results">')
    assert "<html" not in html


@pytest.mark.parametrize("size", [5, 120])
def test_query_count_is_fixed_whatever_the_number_of_pairings(
    size, program, org_admin_client, django_assert_num_queries
):
    mentor = factories.MentorFactory(program=program, capacity=50)
    mentees = factories.ParticipantFactory.create_batch(size, program=program)
    pairings = Pairing.objects.bulk_create(
        Pairing(program=program, mentee=m, mentor=mentor, origin="request") for m in mentees
    )
    MentoringSession.objects.bulk_create(
        MentoringSession(program=program, pairing=p, date=timezone.localdate(), minutes=30)
        for p in pairings
    )
    # session, user, membership check, program, health rules, count, one page of
    # rows, and the session's save (3, with its savepoint)
    with django_assert_num_queries(10):
        response = org_admin_client.get(_url(program))
    assert response.status_code == 200
    assert response.content.decode().count('name="pairing"') == min(size, 50)


def test_pages_of_fifty(program, org_admin_client):
    mentor = factories.MentorFactory(program=program, capacity=50)
    mentees = factories.ParticipantFactory.create_batch(55, program=program)
    Pairing.objects.bulk_create(
        Pairing(program=program, mentee=m, mentor=mentor, origin="request") for m in mentees
    )
    html = org_admin_client.get(_url(program, page=2)).content.decode()
    assert "Page 2 of 2" in html
    assert html.count('name="pairing"') == 5


def test_other_organization_gets_404(program, other_admin_client):
    pair(program)
    assert other_admin_client.get(_url(program)).status_code == 404
    assert other_admin_client.post(_url(program)).status_code == 404


def test_each_row_links_to_its_pairing_and_its_end_pairing_page(program, org_admin_client):
    pairings = [factories.PairingFactory(program=program) for _ in range(3)]
    body = org_admin_client.get(_url(program)).content.decode()
    for pairing in pairings:
        kwargs = {"program_id": program.pk, "pairing_id": pairing.pk}
        assert f'href="{reverse("pairing:detail", kwargs=kwargs)}"' in body
        assert f'href="{reverse("pairing:end", kwargs=kwargs)}"' in body
