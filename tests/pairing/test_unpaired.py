"""The Unpaired Mentees tab: sub-tabs with live counts, search, pages, invite buttons."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from invitations import selectors as invite_selectors
from invitations import services
from invitations.models import Invitation, InvitationBatch
from pairing import selectors
from pairing.models import MentorRequest, Pairing
from programs.models import Participant, Program
from tests import factories


def _url(program, **params):
    url = reverse("pairing:unpaired", kwargs={"program_id": program.pk})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


@pytest.fixture
def cast(live, org_admin):
    """One mentee in every state."""
    mentor = factories.MentorFactory(program=live, first_name="Mona", last_name="Mentor")
    people = {
        name: factories.ParticipantFactory(
            program=live, first_name=name, last_name="Person", department=f"Dept-{name}"
        )
        for name in ["Nina", "Ivan", "Petra", "Paul", "Ender"]
    }
    services.invitation_send_selected(
        program=live,
        user=org_admin,
        mentee_ids=[people[n].pk for n in ("Ivan", "Petra", "Paul", "Ender")],
        expected=4,
    )
    factories.MentorRequestFactory(program=live, mentee=people["Petra"], mentor=mentor)
    Pairing.objects.create(program=live, mentee=people["Paul"], mentor=mentor, origin="request")
    ended = factories.PairingFactory(program=live, mentee=people["Ender"], mentor=mentor)
    Pairing.objects.filter(pk=ended.pk).update(status="ended", ended_at=timezone.now())
    return people


def _names(response):
    return [p.first_name for p in response.context["page"].object_list]


def test_sub_tabs_hold_each_mentee_once_with_live_counts(cast, live, org_admin_client):
    response = org_admin_client.get(_url(live))
    assert response.context["counts"] == {"not_invited": 1, "invited": 2, "pending": 1}
    assert _names(response) == ["Nina"]
    assert _names(org_admin_client.get(_url(live, sub="invited"))) == ["Ender", "Ivan"]
    pending = org_admin_client.get(_url(live, sub="pending"))
    assert _names(pending) == ["Petra"]
    html = pending.content.decode()
    assert "Mona Mentor" in html  # the requested mentor
    assert "Respond by" in html
    # The deadline itself, not only its column's header.
    deadline = MentorRequest.objects.get(mentee=cast["Petra"]).expires_at
    shown = timezone.localtime(deadline, ZoneInfo(live.organization.timezone))
    assert f'<td class="nowrap">{shown:%A} {shown.day} {shown:%B, %H:%M}</td>' in html
    # Paul is paired: in no sub-tab.
    for sub in selectors.SUB_TABS:
        assert "Paul" not in _names(org_admin_client.get(_url(live, sub=sub)))


def test_invited_rows_say_when_by_whom_and_how_many_sends(cast, live, org_admin, org_admin_client):
    services.invitation_resend(
        program=live,
        user=org_admin,
        mentee_ids=[cast["Ivan"].pk],
        expected=1,
        asked_at=timezone.now(),
    )
    html = org_admin_client.get(_url(live, sub="invited")).content.decode()
    assert org_admin.get_username() in html
    assert '<td class="num">2</td>' in html
    # The row's own button, not the bulk action's option of the same name.
    assert f'aria-label="Resend invitation: {cast["Ivan"].full_name}"' in html


def test_invitations_and_pairing_agree_on_who_is_not_invited(cast, live):
    counts = selectors.unpaired_counts(live)
    not_invited = set(invite_selectors.mentees_not_invited(live).values_list("pk", flat=True))
    invited = set(invite_selectors.mentees_invited(live).values_list("pk", flat=True))
    assert not_invited == {cast["Nina"].pk}
    assert invited == {cast["Ivan"].pk, cast["Ender"].pk}
    assert counts["not_invited"] == len(not_invited) and counts["invited"] == len(invited)


def test_every_reader_of_unpaired_mentees_uses_the_one_rule(cast, live):
    """The tab, the export, the manual-pair list, auto-pair and the invitations."""
    from pairing import request_selectors
    from pairing.autopair import unpaired_mentees_qs

    def names(qs):
        return sorted(qs.values_list("first_name", flat=True))

    paired_or_not = ["Ender", "Ivan", "Nina", "Petra"]  # Paul is paired
    tab = [*selectors.unpaired_page(live, sub="not_invited").object_list]
    tab += selectors.unpaired_page(live, sub="invited").object_list
    tab += selectors.unpaired_page(live, sub="pending").object_list
    assert sorted(p.first_name for p in tab) == paired_or_not
    assert names(selectors.unpaired_queryset(live)) == paired_or_not
    assert names(request_selectors.unpaired_mentees(live)) == paired_or_not
    # Auto-pair and the invitations also leave out Petra, who waits on a request.
    free = ["Ender", "Ivan", "Nina"]
    assert names(unpaired_mentees_qs(live)) == free
    invitable = invite_selectors.mentees_not_invited(live) | invite_selectors.mentees_invited(live)
    assert names(invitable) == free


def test_search_by_name_email_and_department(cast, live, org_admin_client):
    factories.ParticipantFactory(
        program=live, first_name="Nora", last_name="Other", department="Sales"
    )
    assert _names(org_admin_client.get(_url(live, q="Dept-Nina"))) == ["Nina"]
    assert _names(org_admin_client.get(_url(live, q="nora"))) == ["Nora"]
    email = Participant.objects.get(first_name="Nora").email
    assert _names(org_admin_client.get(_url(live, q=email))) == ["Nora"]
    assert "Nobody here matches" in org_admin_client.get(_url(live, q="zzz")).content.decode()


def test_htmx_search_answers_with_the_results_only(cast, live, org_admin_client):
    response = org_admin_client.get(
        _url(live, q="Nina"), headers={"HX-Request": "true", "HX-Target": "unpaired-results"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="unpaired-results">')
    assert "Nina" in html


def _bulk_mentees(program, n):
    factories.bulk_mentees(program, n, first="M", email="m")


@pytest.mark.parametrize("size", [10, 2000])
@pytest.mark.parametrize("sub", ["not_invited", "invited", "pending"])
def test_query_count_is_fixed_at_any_size(
    live, org_admin, org_admin_client, django_assert_num_queries, size, sub
):
    _bulk_mentees(live, size)
    mentor = factories.MentorFactory(program=live)
    ids = list(Participant.objects.filter(role="mentee").values_list("pk", flat=True))
    batch = InvitationBatch.objects.create(program=live, kind="all", created_by=org_admin)
    now = timezone.now()
    Invitation.objects.bulk_create(
        Invitation(
            program=live, mentee_id=pk, batch=batch, invited_by=org_admin, invited_at=now,
            last_sent_at=now,
        )
        for pk in ids[: size // 2]
    )  # fmt: skip
    MentorRequest.objects.bulk_create(
        MentorRequest(
            program=live, mentee_id=pk, mentor=mentor, expires_at=timezone.now() + timedelta(1)
        )
        for pk in ids[: size // 4]
    )
    # session, user, membership check, program, counts (the page's count too), rows,
    # (pending: the requests with their mentors), a batch still being prepared, and
    # the session's save (3, with its savepoint)
    expected = 11 if sub == "pending" else 10
    with django_assert_num_queries(expected):
        response = org_admin_client.get(_url(live, sub=sub))
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == min(
        50,
        {"not_invited": size - size // 2, "invited": size // 2 - size // 4, "pending": size // 4}[
            sub
        ],
    )


def test_pages_of_fifty(live, org_admin_client):
    _bulk_mentees(live, 120)
    page3 = org_admin_client.get(_url(live, page=3))
    assert len(page3.context["page"].object_list) == 20
    assert "Page 3 of 3" in page3.content.decode()


def test_invite_buttons_shown_when_pairing_on_and_user_led(cast, live, org_admin_client):
    html = org_admin_client.get(_url(live)).content.decode()
    assert "Invite all Mentees" in html
    assert "Invite to Pair" in html
    assert "Perform Bulk Action on Selected" in html


def test_pairing_off_hides_invite_buttons_and_says_why(program, org_admin_client):
    factories.ParticipantFactory(program=program)
    html = org_admin_client.get(_url(program)).content.decode()
    assert "Invite all Mentees" not in html and "Invite to Pair" not in html
    assert "Turn on Pairing first" in html


def test_admin_led_hides_invite_buttons_and_says_why(live, org_admin_client):
    factories.ParticipantFactory(program=live)
    Program.objects.filter(pk=live.pk).update(pairing_process=Program.Process.ADMIN_LED)
    html = org_admin_client.get(_url(live)).content.decode()
    assert "Invite all Mentees" not in html and "Invite to Pair" not in html
    assert "auto-pair" in html


def test_outsider_gets_404(live, other_admin_client):
    assert other_admin_client.get(_url(live)).status_code == 404
    assert other_admin_client.post(_url(live)).status_code == 404
