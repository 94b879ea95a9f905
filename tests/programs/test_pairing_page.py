import threading

import pytest
from django.db import connection
from django.urls import reverse

from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.models import OutboundEmail
from programs.models import ActivityEvent, Integration, LaunchStep, Participant, Program, WorkerPing
from programs.selectors import program_readiness
from programs.services import (
    ensure_pairing_open,
    launch_step_mark_done,
    pairing_turn_off,
    pairing_turn_on,
    worker_ping_request,
)
from tests import factories
from tests.support.wait import wait_until

Verb = ActivityEvent.Verb
Step = LaunchStep.Step
HTMX = {"HX-Request": "true"}


def _url(name: str, program, **kwargs) -> str:
    return reverse(name, kwargs={"program_id": program.pk, **kwargs})


def _htmx(target: str) -> dict[str, str]:
    return {**HTMX, "HX-Target": target}


def _add_people(program, *, mentees: int, mentor_capacities: list[int]) -> None:
    Participant.objects.bulk_create(
        [
            Participant(
                program=program, role="mentee", first_name=f"E{i}", email=f"e{i}@example.org"
            )
            for i in range(mentees)
        ]
        + [
            Participant(
                program=program,
                role="mentor",
                first_name=f"M{i}",
                email=f"m{i}@example.org",
                capacity=capacity,
            )
            for i, capacity in enumerate(mentor_capacities)
        ]
    )


# --- The page ---------------------------------------------------------------------


def test_pairing_is_the_programs_first_tab(program, org_admin_client):
    response = org_admin_client.get(_url("programs:detail", program))

    html = response.content.decode()
    tabs = html[html.index('aria-label="Program"') :]
    pairing = tabs.index(f'href="{_url("programs:pairing", program)}"')
    assert pairing < tabs.index(f'href="{_url("programs:detail", program)}"')


def test_pairing_page_shows_checklist_switch_tabs_and_readiness(program, org_admin_client):
    response = org_admin_client.get(_url("programs:pairing", program))

    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "Check Your Integrations",
        "Contact Your Customer Support Advisor",
        "Turn on Pairing",
        "Unpaired Mentees",
        "Active Pairings",
        "Health",
        "Readiness",
        "Nothing has happened yet",
    ):
        assert text in html, text
    assert html.count(">Mark as done</button>") == 2


def test_readiness_warns_when_mentors_cannot_take_every_mentee(program):
    _add_people(program, mentees=200, mentor_capacities=[2] * 30 + [3] * 30)

    readiness = program_readiness(program)

    assert (readiness.mentees, readiness.mentors, readiness.capacity) == (200, 60, 150)
    assert readiness.warnings == ["60 mentors can take 150 mentees; 200 mentees are registered."]


def test_readiness_has_no_warning_when_capacity_covers_the_mentees(program, org_admin_client):
    _add_people(program, mentees=3, mentor_capacities=[2, 1])

    assert program_readiness(program).warnings == []
    html = org_admin_client.get(_url("programs:pairing", program)).content.decode()
    assert "Warning:" not in html.split("Launch checklist")[0]


def test_readiness_warning_is_shown_above_the_checklist(program, org_admin_client):
    _add_people(program, mentees=1, mentor_capacities=[0])

    html = org_admin_client.get(_url("programs:pairing", program)).content.decode()

    warning = "1 mentor can take 0 mentees; 1 mentee is registered."
    assert warning in html
    assert html.index(warning) < html.index('id="checklist-title"')


def test_readiness_says_when_nobody_is_registered(program):
    warnings = program_readiness(program).warnings

    assert any("No mentees are registered yet" in w for w in warnings)
    assert any("No mentors are registered yet" in w for w in warnings)


# --- Marking steps ----------------------------------------------------------------


def test_mark_step_done_records_who_and_when_and_redirects(program, org_admin, org_admin_client):
    response = org_admin_client.post(
        _url("programs:pairing_step_done", program, step="integrations")
    )

    assert response.status_code == 302
    assert response.url == _url("programs:pairing", program)
    done = LaunchStep.objects.get(program=program, step=Step.INTEGRATIONS)
    assert done.done_by == org_admin
    assert done.done_at is not None
    html = org_admin_client.get(response.url).content.decode()
    assert f"Marked by {org_admin.username}" in html
    assert "“Check Your Integrations” is marked done." in html


def test_marking_a_step_twice_keeps_the_first_who_and_when(program, org_admin, org_admin_client):
    first = launch_step_mark_done(program=program, step="integrations", user=org_admin)
    someone_else = factories.MembershipFactory(organization=program.organization).user

    again = launch_step_mark_done(program=program, step="integrations", user=someone_else)
    org_admin_client.post(_url("programs:pairing_step_done", program, step="integrations"))

    assert again.pk == first.pk
    done = LaunchStep.objects.get(program=program, step=Step.INTEGRATIONS)
    assert (done.done_by, done.done_at) == (org_admin, first.done_at)
    assert ActivityEvent.objects.filter(program=program, verb=Verb.STEP_DONE).count() == 1


def test_undo_unmarks_the_step_once(program, org_admin, org_admin_client):
    launch_step_mark_done(program=program, step="support_advisor", user=org_admin)
    url = _url("programs:pairing_step_undo", program, step="support_advisor")

    org_admin_client.post(url)
    org_admin_client.post(url)

    assert not LaunchStep.objects.filter(program=program).exists()
    assert list(ActivityEvent.objects.filter(program=program).values_list("verb", "detail")) == [
        (Verb.STEP_UNDONE, "Contact Your Customer Support Advisor"),
        (Verb.STEP_DONE, "Contact Your Customer Support Advisor"),
    ]


def test_unknown_step_is_404_and_get_is_not_allowed(program, org_admin_client):
    assert (
        org_admin_client.post(_url("programs:pairing_step_done", program, step="x")).status_code
        == 404
    )
    url = _url("programs:pairing_step_done", program, step="integrations")
    assert org_admin_client.get(url).status_code == 405
    assert not LaunchStep.objects.exists()


def test_marking_a_step_with_htmx_swaps_only_that_step(program, org_admin_client):
    response = org_admin_client.post(
        _url("programs:pairing_step_done", program, step="integrations"),
        headers=_htmx("step-integrations"),
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<li class="step is-done" id="step-integrations"')
    assert "step-support_advisor" not in html
    # What depends on the step comes along out of band: the switch's warning and the log.
    assert '<section id="pairing-switch"' in html
    assert 'id="activity-log" class="activity" aria-labelledby="activity-title" hx-swap-oob' in html
    assert "not marked done yet: Contact Your Customer Support Advisor." in html
    assert "Check Your Integrations: marked done." in html


def test_integration_in_progress_shows_a_warning_beside_the_step(program, org_admin_client):
    for kind, status in (("slack", "in_progress"), ("hris", "in_progress"), ("sso", "connected")):
        Integration.objects.create(organization=program.organization, kind=kind, status=status)

    html = org_admin_client.get(_url("programs:pairing", program)).content.decode()

    step = html[html.index('id="step-integrations"') : html.index('id="step-support_advisor"')]
    assert "Still in progress: HRIS or directory sync, Slack." in step


# --- Turn on / Turn off Pairing --------------------------------------------------------


def test_turn_on_asks_for_confirmation_saying_no_email_is_sent(program, org_admin_client):
    response = org_admin_client.get(_url("programs:pairing_turn_on", program))

    html = response.content.decode()
    assert response.status_code == 200
    assert "No emails are sent when you turn pairing on." in html
    assert "Inviting your mentees is the next step" in html
    assert f'action="{_url("programs:pairing_turn_on", program)}"' in html
    assert 'method="post"' in html
    program.refresh_from_db()
    assert program.pairing_enabled is False


def test_turn_on_confirmation_for_htmx_is_only_the_switch(program, org_admin_client):
    response = org_admin_client.get(
        _url("programs:pairing_turn_on", program), headers=_htmx("pairing-switch")
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="pairing-switch"')
    assert "No emails are sent" in html
    assert "Cancel" in html


def test_turn_on_warns_about_incomplete_steps_but_does_not_block(
    program, org_admin, org_admin_client
):
    page = org_admin_client.get(_url("programs:pairing", program)).content.decode()
    assert (
        "not marked done yet: Check Your Integrations, Contact Your Customer Support Advisor"
        in page
    )

    response = org_admin_client.post(_url("programs:pairing_turn_on", program))

    assert response.status_code == 302
    program.refresh_from_db()
    assert program.pairing_enabled is True
    assert program.pairing_changed_by == org_admin
    assert program.pairing_changed_at is not None
    html = org_admin_client.get(response.url).content.decode()
    assert "Pairing is on" in html
    assert "Turn off Pairing" in html
    assert "No emails were sent" in html


def test_no_warning_once_both_steps_are_done(program, org_admin, org_admin_client):
    for step in Step.values:
        launch_step_mark_done(program=program, step=step, user=org_admin)

    html = org_admin_client.get(_url("programs:pairing", program)).content.decode()

    assert "not marked done yet" not in html


def test_turning_on_twice_leaves_one_on_event(program, org_admin, org_admin_client):
    org_admin_client.post(_url("programs:pairing_turn_on", program))
    first = Program.objects.get(pk=program.pk).pairing_changed_at
    org_admin_client.post(_url("programs:pairing_turn_on", program))

    assert pairing_turn_on(program=program, user=org_admin) is False
    assert Program.objects.get(pk=program.pk).pairing_changed_at == first
    assert ActivityEvent.objects.filter(program=program, verb=Verb.PAIRING_ON).count() == 1


def test_turn_off_pauses_and_twice_leaves_one_off_event(program, org_admin, org_admin_client):
    pairing_turn_on(program=program, user=org_admin)

    response = org_admin_client.post(_url("programs:pairing_turn_off", program))
    org_admin_client.post(_url("programs:pairing_turn_off", program))

    assert response.status_code == 302
    program.refresh_from_db()
    assert program.pairing_enabled is False
    assert ActivityEvent.objects.filter(program=program, verb=Verb.PAIRING_OFF).count() == 1
    html = org_admin_client.get(_url("programs:pairing", program)).content.decode()
    assert "Paused" in html
    assert "Turn on Pairing" in html


def test_turn_off_of_a_program_that_was_never_on_records_nothing(program, org_admin):
    assert pairing_turn_off(program=program, user=org_admin) is False
    assert not ActivityEvent.objects.exists()


def test_switch_with_htmx_swaps_the_switch_and_refreshes_the_log(program, org_admin_client):
    response = org_admin_client.post(
        _url("programs:pairing_turn_on", program), headers=_htmx("pairing-switch")
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="pairing-switch" class="card switch is-on"')
    assert "Turn off Pairing" in html
    assert "Turned on pairing" in html  # the log, out of band
    assert "Pairing is on. No emails were sent." in html

    response = org_admin_client.post(
        _url("programs:pairing_turn_off", program), headers=_htmx("pairing-switch")
    )
    assert "Turn on Pairing" in response.content.decode()


def test_switch_pages_need_post_for_changes(program, org_admin, org_admin_client):
    assert org_admin_client.put(_url("programs:pairing_turn_on", program)).status_code == 405
    program.refresh_from_db()
    assert program.pairing_enabled is False
    pairing_turn_on(program=program, user=org_admin)
    assert org_admin_client.get(_url("programs:pairing_turn_off", program)).status_code == 200
    assert org_admin_client.put(_url("programs:pairing_turn_off", program)).status_code == 405
    program.refresh_from_db()
    assert program.pairing_enabled is True


def test_turn_off_asks_for_confirmation_saying_what_a_pause_does(
    program, org_admin, org_admin_client
):
    pairing_turn_on(program=program, user=org_admin)
    page = org_admin_client.get(_url("programs:pairing", program)).content.decode()
    # The switch offers a link to the confirmation, not a button that acts at once.
    assert f'href="{_url("programs:pairing_turn_off", program)}"' in page
    assert f'action="{_url("programs:pairing_turn_off", program)}"' not in page

    response = org_admin_client.get(_url("programs:pairing_turn_off", program))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Turn off Pairing?" in html
    assert "No emails are sent" in html
    assert "no invitations go out" in html
    assert "their mentors can still approve or decline them" in html
    assert "still expire on schedule" in html
    assert f'action="{_url("programs:pairing_turn_off", program)}"' in html
    assert 'method="post"' in html
    program.refresh_from_db()
    assert program.pairing_enabled is True
    assert not ActivityEvent.objects.filter(verb=Verb.PAIRING_OFF).exists()


def test_turn_off_confirmation_for_htmx_is_only_the_switch(program, org_admin, org_admin_client):
    pairing_turn_on(program=program, user=org_admin)
    response = org_admin_client.get(
        _url("programs:pairing_turn_off", program), headers=_htmx("pairing-switch")
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="pairing-switch"')
    assert "Turn off Pairing?" in html and "Cancel" in html


def test_turn_off_confirmation_when_already_off_offers_nothing_to_press(program, org_admin_client):
    html = org_admin_client.get(_url("programs:pairing_turn_off", program)).content.decode()
    assert "Pairing is already off." in html
    assert f'action="{_url("programs:pairing_turn_off", program)}"' not in html


def test_csrf_is_required_for_every_action(program, org_admin):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(org_admin)
    for url in (
        _url("programs:pairing_turn_on", program),
        _url("programs:pairing_turn_off", program),
        _url("programs:pairing_step_done", program, step="integrations"),
        _url("programs:pairing_step_undo", program, step="integrations"),
    ):
        assert client.post(url).status_code == 403, url
    assert not ActivityEvent.objects.exists()


def test_turning_pairing_on_and_off_sends_no_email(
    program, org_admin_client, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        org_admin_client.post(_url("programs:pairing_turn_on", program))
        org_admin_client.post(_url("programs:pairing_turn_off", program))
        org_admin_client.post(_url("programs:pairing_turn_on", program))

    assert Program.objects.get(pk=program.pk).pairing_enabled is True
    assert OutboundEmail.objects.count() == 0
    assert smtp_server.messages == []


@pytest.mark.needs_postgres
@pytest.mark.needs_redis
def test_turning_pairing_on_and_off_sends_no_email_through_the_real_worker(
    celery_worker, smtp_server, program, org_admin_client
):
    org_admin_client.post(_url("programs:pairing_turn_on", program))
    org_admin_client.post(_url("programs:pairing_turn_off", program))
    org_admin_client.post(_url("programs:pairing_turn_on", program))
    # A round trip queued after the switches: once it is back, the worker has
    # taken everything that was queued before it.
    ping = worker_ping_request()

    assert wait_until(lambda: WorkerPing.objects.get(pk=ping.pk).completed_at is not None), (
        celery_worker.log()[-3000:]
    )
    assert Program.objects.get(pk=program.pk).pairing_enabled is True
    assert OutboundEmail.objects.count() == 0
    assert smtp_server.messages == []


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_admins_turning_on_at_once_leave_one_event(program, org_admin):
    barrier = threading.Barrier(2)
    results = []

    def click():
        try:
            barrier.wait()
            results.append(
                pairing_turn_on(program=Program.objects.get(pk=program.pk), user=org_admin)
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False, True]
    assert ActivityEvent.objects.filter(program=program, verb=Verb.PAIRING_ON).count() == 1


# --- Paused semantics -------------------------------------------------------------------


def test_ensure_pairing_open_refuses_while_pairing_is_off(program, org_admin):
    with pytest.raises(DomainError, match="Pairing is turned off for this program"):
        ensure_pairing_open(program)

    pairing_turn_on(program=program, user=org_admin)
    ensure_pairing_open(program)


def test_ensure_pairing_open_reads_the_database_not_a_stale_copy(program, org_admin):
    stale = Program.objects.get(pk=program.pk)
    pairing_turn_on(program=program, user=org_admin)
    ensure_pairing_open(stale)

    pairing_turn_off(program=program, user=org_admin)
    with pytest.raises(DomainError):
        ensure_pairing_open(stale)


# --- Tabs served by the pairing app -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "heading"),
    [
        ("pairing:unpaired", "Unpaired Mentees"),
        ("pairing:active", "Active Pairings"),
        ("pairing:health", "Health"),
    ],
)
def test_each_tab_is_a_page_or_for_htmx_just_the_panel(program, org_admin_client, name, heading):
    url = _url(name, program)

    page = org_admin_client.get(url).content.decode()
    panel = org_admin_client.get(url, headers=_htmx("pairing-panel")).content.decode()

    assert "<html" in page
    assert f'<h2 id="tab-title">{heading}</h2>' in page
    assert 'class="empty-state"' in page
    assert "<html" not in panel
    assert panel.lstrip().startswith('<div id="pairing-panel">')
    assert (
        f'href="{url}" hx-get="{url}" hx-target="#pairing-panel" hx-swap="outerHTML" hx-push-url="true" aria-current="page"'
        in panel
    )


def test_checklist_tab_for_htmx_is_just_the_panel(program, org_admin_client):
    response = org_admin_client.get(
        _url("programs:pairing", program), headers=_htmx("pairing-panel")
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="pairing-panel">')
    assert "<html" not in html
    # The checklist itself, not the tab label every pairing panel carries.
    assert '<h2 id="checklist-title">Launch checklist</h2>' in html


def test_history_restore_gets_the_whole_page(program, org_admin_client):
    response = org_admin_client.get(
        _url("pairing:health", program), headers={**HTMX, "HX-History-Restore-Request": "true"}
    )

    assert "<html" in response.content.decode()


def test_tabs_say_pairing_is_off_until_it_is_on(program, org_admin, org_admin_client):
    url = _url("pairing:unpaired", program)
    assert "Pairing is off" in org_admin_client.get(url).content.decode()

    pairing_turn_on(program=program, user=org_admin)

    assert "Pairing is off" not in org_admin_client.get(url).content.decode()
