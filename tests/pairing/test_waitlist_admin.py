"""The Waitlist tab: offer order, search, pages, add, remove, export, the seats summary."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from pairing.models import AutoPairProposal, AutoPairRun, MentorRequest, Pairing, WaitlistEntry
from pairing.verbs import Verb
from programs.models import ActivityEvent, Participant, Program
from programs.questions import answer_questions
from tests import factories
from tests.support import schemes

# 12:00 UTC on a winter day: 07:00 in New York.
NOON = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def _url(name: str, program, **kwargs) -> str:
    return reverse(f"pairing:{name}", kwargs={"program_id": program.pk, **kwargs})


def _htmx(target: str) -> dict[str, str]:
    return {"HX-Request": "true", "HX-Target": target}


def _wait(program, mentee, *, minutes: int = 0, first: bool = False, by=None, mentors=()):
    entry = WaitlistEntry.objects.create(
        program=program,
        mentee=mentee,
        joined_at=NOON + timedelta(minutes=minutes),
        priority=1 if first else 0,
        added_by=by,
    )
    entry.wanted_mentors.set(mentors)
    return entry


def _mentee(program, first: str, last: str = "Waiting", **fields) -> Participant:
    return factories.ParticipantFactory(
        program=program, first_name=first, last_name=last, email=f"{first.lower()}@example.org",
        **fields,
    )  # fmt: skip


@pytest.fixture
def line(program, org_admin):
    """Four mentees waiting: Bea put first by the admin, then the others by when they joined.

    Cal named two mentors; the organization is in New York.
    """
    program.organization.timezone = "America/New_York"
    program.organization.save(update_fields=["timezone"])
    mona = factories.MentorFactory(program=program, first_name="Mona", last_name="Mentor")
    otto = factories.MentorFactory(program=program, first_name="Otto", last_name="Adviser")
    people = {name: _mentee(program, name) for name in ["Ann", "Bea", "Cal", "Dan"]}
    _wait(program, people["Dan"], minutes=30)
    _wait(program, people["Ann"], minutes=0)
    _wait(program, people["Cal"], minutes=10, mentors=[mona, otto])
    _wait(program, people["Bea"], minutes=40, first=True, by=org_admin)
    return people


def _rows(response) -> list[tuple[int, str]]:
    return [(e.position, e.mentee.first_name) for e in response.context["page"].object_list]


def _state() -> tuple:
    """Everything a waitlist action could write."""
    return (
        sorted(WaitlistEntry.objects.values_list("mentee_id", "priority", "joined_at")),
        ActivityEvent.objects.count(),
        Pairing.objects.count(),
        MentorRequest.objects.count(),
    )


# --- The three roles --------------------------------------------------------------------


def test_admin_of_the_organization_sees_the_waitlist(line, program, org_admin_client):
    response = org_admin_client.get(_url("waitlist", program))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<h2 id="tab-title">Waitlist</h2>' in html
    assert '<span id="waitlist-count">(4)</span>' in html
    assert "bea@example.org" in html


def test_admin_of_another_organization_gets_404_and_nothing_changes(
    line, program, other_admin_client
):
    ann = line["Ann"]
    before = _state()
    for method, url, data in [
        ("get", _url("waitlist", program), {}),
        ("get", _url("export_waitlist", program), {}),
        ("get", _url("waitlist_add", program), {}),
        ("post", _url("waitlist_add", program), {"mentee": ann.pk, "place": "first"}),
        ("post", _url("waitlist_remove", program, mentee_id=ann.pk), {}),
    ]:
        response = getattr(other_admin_client, method)(url, data)
        assert response.status_code == 404, (method, url)
        assert "ann@example.org" not in response.content.decode()
    assert _state() == before


def test_anonymous_visitor_is_sent_to_login(line, program, anon_client):
    before = _state()
    for method, url in [
        ("get", _url("waitlist", program)),
        ("get", _url("export_waitlist", program)),
        ("post", _url("waitlist_add", program)),
        ("post", _url("waitlist_remove", program, mentee_id=line["Ann"].pk)),
    ]:
        response = getattr(anon_client, method)(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
    assert _state() == before


def test_get_never_changes_state(line, program, org_admin_client):
    before = _state()
    assert org_admin_client.get(_url("waitlist", program)).status_code == 200
    assert org_admin_client.get(_url("waitlist_add", program)).status_code == 200
    assert org_admin_client.get(_url("export_waitlist", program)).status_code == 200
    remove = _url("waitlist_remove", program, mentee_id=line["Ann"].pk)
    assert org_admin_client.get(remove).status_code == 405
    assert _state() == before


# --- The list ---------------------------------------------------------------------------


def test_positions_follow_priority_then_joining_time(line, program, org_admin_client):
    response = org_admin_client.get(_url("waitlist", program))

    assert _rows(response) == [(1, "Bea"), (2, "Ann"), (3, "Cal"), (4, "Dan")]
    html = response.content.decode()
    assert html.count("First in line</span>") == 1
    assert "Otto Adviser, Mona Mentor" in html  # Cal's named mentors, by last name
    assert "Any suitable mentor" in html
    assert "15 Jan 2025, 07:00" in html  # Ann joined at noon UTC: 07:00 in New York
    assert "the mentee" in html  # joined from their own link


def test_added_by_names_the_admin(line, program, org_admin, org_admin_client):
    html = org_admin_client.get(_url("waitlist", program)).content.decode()
    assert org_admin.get_username() in html


def test_search_by_first_and_last_name_shows_the_true_position(line, program, org_admin_client):
    _mentee(program, "Cora", last="Other")  # not waiting: never listed
    response = org_admin_client.get(_url("waitlist", program) + "?q=Cal+Waiting")

    assert _rows(response) == [(3, "Cal")]
    assert _rows(org_admin_client.get(_url("waitlist", program) + "?q=waiting+dan")) == [(4, "Dan")]
    nobody = org_admin_client.get(_url("waitlist", program) + "?q=Cal+Other")
    assert _rows(nobody) == []
    assert "Nobody on the waitlist matches" in nobody.content.decode()


def test_pages_of_fifty_keep_counting_positions(program, org_admin_client):
    mentees = factories.bulk_mentees(program, 60)
    WaitlistEntry.objects.bulk_create(
        WaitlistEntry(program=program, mentee=m, joined_at=NOON + timedelta(minutes=i))
        for i, m in enumerate(mentees)
    )
    page2 = org_admin_client.get(_url("waitlist", program) + "?page=2")

    rows = _rows(page2)
    assert rows[0] == (51, mentees[50].first_name)
    assert rows[-1] == (60, mentees[59].first_name)


def test_htmx_search_answers_with_the_results_only(line, program, org_admin_client):
    response = org_admin_client.get(
        _url("waitlist", program) + "?q=Ann", headers=_htmx("waitlist-results")
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="waitlist-results">')
    assert "ann@example.org" in html and "bea@example.org" not in html


def test_htmx_tab_switch_answers_with_the_panel(line, program, org_admin_client):
    html = org_admin_client.get(
        _url("waitlist", program), headers=_htmx("pairing-panel")
    ).content.decode()
    assert html.lstrip().startswith('<div id="pairing-panel">')
    assert "<html" not in html


@pytest.mark.parametrize("size", [5, 30])
def test_query_count_is_fixed_at_any_size(
    size, program, org_admin, org_admin_client, django_assert_num_queries
):
    mentors = [factories.MentorFactory(program=program) for _ in range(3)]
    mentees = factories.bulk_mentees(program, size)
    entries = WaitlistEntry.objects.bulk_create(
        WaitlistEntry(program=program, mentee=m, joined_at=NOON, added_by=org_admin)
        for m in mentees
    )
    for entry in entries:
        entry.wanted_mentors.set(mentors[:2])
    url = _url("waitlist", program)
    org_admin_client.get(url)  # renews the session (once a minute)
    # session, user, membership check, program, waiting count, the seats (one
    # statement), page count, rows with mentee and who added them, named mentors
    with django_assert_num_queries(9):
        response = org_admin_client.get(url)
    assert len(response.context["page"].object_list) == size
    # A search counts each row's place in one subquery: no extra query either.
    with django_assert_num_queries(9):
        response = org_admin_client.get(url + "?q=Mentee+Bulk")
    assert len(response.context["page"].object_list) == size


# --- The summary and what the admin can do about it ------------------------------------


def test_admin_led_program_offers_auto_pair_of_the_waitlist_with_the_seats_free(
    program, org_admin_client
):
    Program.objects.filter(pk=program.pk).update(pairing_process=Program.Process.ADMIN_LED)
    roomy = factories.MentorFactory(program=program, capacity=3)
    full = factories.MentorFactory(program=program, capacity=1)
    factories.MentorFactory(program=program, capacity=2, accepting_requests=False)
    factories.PairingFactory(program=program, mentee=_mentee(program, "Paired"), mentor=roomy)
    factories.PairingFactory(program=program, mentee=_mentee(program, "Also"), mentor=full)
    run = AutoPairRun.objects.create(program=program, status="staged")
    AutoPairProposal.objects.create(run=run, mentee=_mentee(program, "Held"), mentor=roomy, score=1)
    for name in ["Ann", "Bea", "Cal"]:
        _wait(program, _mentee(program, name))

    html = org_admin_client.get(_url("waitlist", program)).content.decode()

    # roomy: 3 seats, one paired, one held by the staged run; full: none; the third
    # mentor does not accept requests.
    assert "3 waiting, 1 seat free" in html
    autopair = reverse("pairing:autopair", kwargs={"program_id": program.pk})
    assert f'<form method="post" action="{autopair}"' in html
    assert 'name="waitlist_only" value="on"' in html
    assert f'href="{autopair}?waitlist=1"' in html
    assert "Seats are offered automatically" not in html


def test_one_click_auto_pair_of_the_waitlist_starts_a_waitlist_only_run(
    program, org_admin_client, django_capture_on_commit_callbacks
):
    Program.objects.filter(pk=program.pk).update(pairing_process=Program.Process.ADMIN_LED)
    html = org_admin_client.get(_url("waitlist", program)).content.decode()
    # The button's form as the page has it: its hidden fields, posted as they are.
    button = html.index('id="autopair-waitlist"')
    form = html[html.rindex("<form", 0, button) : button]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    action = re.search(r'action="([^"]+)"', form).group(1)
    with django_capture_on_commit_callbacks(execute=False):
        response = org_admin_client.post(action, fields)
    assert response.status_code == 302
    run = AutoPairRun.objects.get(program=program)
    assert run.options["waitlist_only"] is True


def test_user_led_program_says_seats_are_offered_as_they_free_up(line, program, org_admin_client):
    html = org_admin_client.get(_url("waitlist", program)).content.decode()
    assert "Seats are offered automatically as they free up" in html
    assert "?waitlist=1" not in html


def test_waitlist_off_says_so_and_links_to_the_settings(line, program, org_admin_client):
    Program.objects.filter(pk=program.pk).update(waitlist_enabled=False)

    html = org_admin_client.get(_url("waitlist", program)).content.decode()

    assert "The waitlist is off for this program" in html
    assert reverse("programs:edit", kwargs={"program_id": program.pk}) in html
    assert _url("waitlist_add", program) not in html


# --- The tab's count --------------------------------------------------------------------


def test_other_tabs_load_the_waitlist_count_after_they_render(line, program, org_admin_client):
    html = org_admin_client.get(_url("unpaired", program)).content.decode()
    waitlist_url = _url("waitlist", program)
    assert f'<span id="waitlist-count" hx-get="{waitlist_url}" hx-trigger="load"' in html

    count = org_admin_client.get(waitlist_url, headers=_htmx("waitlist-count"))

    assert count.content.decode().strip() == '<span id="waitlist-count">(4)</span>'


# --- Add ---------------------------------------------------------------------------------


def test_add_form_lists_only_mentees_who_could_join(line, program, org_admin_client):
    free = _mentee(program, "Free", last="Mentee")
    mentor = factories.MentorFactory(program=program)
    paired = _mentee(program, "Paired")
    factories.PairingFactory(program=program, mentee=paired, mentor=mentor)
    asking = _mentee(program, "Asking")
    factories.MentorRequestFactory(program=program, mentee=asking, mentor=mentor)

    response = org_admin_client.get(_url("waitlist_add", program))

    assert [p.pk for p in response.context["candidates"]] == [free.pk]
    narrowed = org_admin_client.get(_url("waitlist_add", program) + "?q=Free+Mentee")
    assert [p.pk for p in narrowed.context["candidates"]] == [free.pk]


def test_add_at_the_end_of_the_line(line, program, org_admin, org_admin_client):
    eve = _mentee(program, "Eve")

    response = org_admin_client.post(
        _url("waitlist_add", program), {"mentee": eve.pk, "place": "end"}
    )

    assert response.status_code == 302
    assert response.url == _url("waitlist", program)
    entry = WaitlistEntry.objects.get(mentee=eve)
    assert (entry.priority, entry.added_by) == (0, org_admin)
    page = org_admin_client.get(response.url)
    assert _rows(page)[-1] == (5, "Eve")
    assert "Eve Waiting is on the waitlist, position 5." in page.content.decode()
    event = ActivityEvent.objects.get(verb=Verb.WAITLIST_ADDED)
    assert (event.actor, event.detail) == (org_admin, "Eve Waiting")


def test_add_first_in_line_puts_the_mentee_at_position_one(program, org_admin_client):
    for i, name in enumerate(["Ann", "Bea"]):
        _wait(program, _mentee(program, name), minutes=i)
    eve = _mentee(program, "Eve")

    org_admin_client.post(_url("waitlist_add", program), {"mentee": eve.pk, "place": "first"})

    response = org_admin_client.get(_url("waitlist", program))
    assert _rows(response) == [(1, "Eve"), (2, "Ann"), (3, "Bea")]
    assert (
        ActivityEvent.objects.get(verb=Verb.WAITLIST_ADDED).detail == "Eve Waiting (first in line)"
    )


@pytest.mark.parametrize("engaged", ["paired", "pending"])
def test_adding_a_paired_mentee_or_one_with_a_pending_request_is_refused(
    engaged, program, org_admin_client
):
    mentee = _mentee(program, "Busy")
    mentor = factories.MentorFactory(program=program, first_name="Mona", last_name="Mentor")
    if engaged == "paired":
        factories.PairingFactory(program=program, mentee=mentee, mentor=mentor)
        message = "Busy Waiting is already paired with Mona Mentor."
    else:
        factories.MentorRequestFactory(program=program, mentee=mentee, mentor=mentor)
        message = "Busy Waiting is waiting for Mona Mentor to answer a request."
    before = _state()

    response = org_admin_client.post(
        _url("waitlist_add", program), {"mentee": mentee.pk, "place": "first"}
    )

    assert response.status_code == 409
    assert message in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert _state() == before


def test_adding_a_mentee_of_another_program_is_refused(program, org_admin_client):
    stranger = _mentee(factories.ProgramFactory(organization=program.organization), "Stranger")

    response = org_admin_client.post(_url("waitlist_add", program), {"mentee": stranger.pk})

    assert response.status_code == 400
    assert "Choose a mentee of this program." in response.content.decode()
    assert not WaitlistEntry.objects.exists()


def test_adding_while_the_waitlist_is_off_is_refused(program, org_admin_client):
    Program.objects.filter(pk=program.pk).update(waitlist_enabled=False)
    mentee = _mentee(program, "Eve")

    response = org_admin_client.post(
        _url("waitlist_add", program), {"mentee": mentee.pk, "place": "end"}
    )

    assert response.status_code == 409
    assert "This program has no waitlist." in response.content.decode()
    assert not WaitlistEntry.objects.exists()


def test_a_free_seat_is_offered_at_once_instead_of_a_place_in_line(live, org_admin_client):
    Program.objects.filter(pk=live.pk).update(pairing_process=Program.Process.USER_LED)
    factories.MentorFactory(program=live, capacity=1)
    eve = _mentee(live, "Eve")

    response = org_admin_client.post(_url("waitlist_add", live), {"mentee": eve.pk, "place": "end"})

    assert not WaitlistEntry.objects.filter(mentee=eve).exists()
    assert Pairing.objects.filter(mentee=eve, status="active").exists()
    page = org_admin_client.get(response.url).content.decode()
    assert "A mentor had room, so Eve Waiting was offered a seat at once" in page


# --- Remove ------------------------------------------------------------------------------


def test_remove_deletes_the_row_and_records_it(line, program, org_admin, org_admin_client):
    ann = line["Ann"]
    back = _url("waitlist", program) + "?q=Waiting&page=1"

    response = org_admin_client.post(
        _url("waitlist_remove", program, mentee_id=ann.pk), {"next": back}
    )

    assert response.status_code == 302
    assert response.url == back
    assert not WaitlistEntry.objects.filter(mentee=ann).exists()
    event = ActivityEvent.objects.get(verb=Verb.WAITLIST_REMOVED)
    assert (event.actor, event.detail) == (org_admin, "Ann Waiting")
    assert _rows(org_admin_client.get(back)) == [(1, "Bea"), (2, "Cal"), (3, "Dan")]


def test_remove_with_htmx_sends_a_client_redirect_and_ignores_a_foreign_next(
    line, program, org_admin_client
):
    response = org_admin_client.post(
        _url("waitlist_remove", program, mentee_id=line["Dan"].pk),
        {"next": "https://evil.example/"},
        headers={"HX-Request": "true"},
    )

    assert response["HX-Redirect"] == _url("waitlist", program)
    assert not WaitlistEntry.objects.filter(mentee=line["Dan"]).exists()


def test_removing_someone_not_waiting_changes_nothing(program, org_admin_client):
    mentee = _mentee(program, "Gone")
    before = _state()

    response = org_admin_client.post(_url("waitlist_remove", program, mentee_id=mentee.pk))

    assert response.status_code == 302
    assert _state() == before
    assert "was no longer on the waitlist" in org_admin_client.get(response.url).content.decode()


def test_rows_offer_remove_with_a_confirmation(line, program, org_admin_client):
    html = org_admin_client.get(_url("waitlist", program)).content.decode()
    remove = _url("waitlist_remove", program, mentee_id=line["Ann"].pk)
    assert f'<form method="post" action="{remove}" hx-post="{remove}"' in html
    assert (
        'hx-confirm="Remove Ann Waiting from the waitlist? They lose their place in line."' in html
    )


# --- Export ------------------------------------------------------------------------------


def test_export_lists_the_waitlist_in_offer_order(line, program, org_admin_client):
    schemes.one_sided(program)
    answer_questions(participant=line["Cal"], raw={"goals": "Speaking; SQL"})
    response = org_admin_client.get(_url("export_waitlist", program))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "waitlist" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    # Then the mentees' answers, a column per question they are asked.
    assert rows == [
        ["Position", "First name", "Last name", "Email", "Waiting since", "First in line",
         "Named mentors", "Mentee: Goals", "Mentee: Interests", "Mentee: Department",
         "Mentee: Location"],
        ["1", "Bea", "Waiting", "bea@example.org", "2025-01-15 07:40", "yes", "",
         "", "", "Engineering", "London"],
        ["2", "Ann", "Waiting", "ann@example.org", "2025-01-15 07:00", "no", "",
         "", "", "Engineering", "London"],
        ["3", "Cal", "Waiting", "cal@example.org", "2025-01-15 07:10", "no",
         "Otto Adviser; Mona Mentor", "Speaking; SQL", "", "Engineering", "London"],
        ["4", "Dan", "Waiting", "dan@example.org", "2025-01-15 07:30", "no", "",
         "", "", "Engineering", "London"],
    ]  # fmt: skip


def test_export_cells_cannot_run_as_formulas(program, org_admin_client):
    _wait(program, _mentee(program, "=HYPERLINK(1)", last="+sum"))

    response = org_admin_client.get(_url("export_waitlist", program))

    text = b"".join(response.streaming_content).decode("utf-8")
    row = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1]
    assert row[1:3] == ["'=HYPERLINK(1)", "'+sum"]
