from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from programs.models import ActivityEvent, LaunchStep
from programs.selectors import ACTIVITY_PAGE_SIZE, activity_page
from programs.services import activity_record, launch_step_mark_done, pairing_turn_on
from tests import factories

Verb = ActivityEvent.Verb
HTMX_LOG = {"HX-Request": "true", "HX-Target": "activity-log"}


def _events(program, user, n: int) -> None:
    """n events a minute apart; event i says "step i" (the highest is the newest)."""
    start = timezone.now() - timedelta(days=1)
    events = ActivityEvent.objects.bulk_create(
        ActivityEvent(program=program, actor=user, verb=Verb.STEP_DONE, detail=f"step {i}")
        for i in range(n)
    )
    for i, event in enumerate(events):
        event.created_at = start + timedelta(minutes=i)
    ActivityEvent.objects.bulk_update(events, ["created_at"])


def _page_url(program) -> str:
    return reverse("programs:pairing", kwargs={"program_id": program.pk})


def test_activity_record_keeps_who_what_and_when(program, org_admin):
    event = activity_record(
        program=program, actor=org_admin, verb=Verb.PAIRING_ON, detail="from the test"
    )

    event.refresh_from_db()
    assert (event.program, event.actor, event.verb, event.detail) == (
        program,
        org_admin,
        "pairing_on",
        "from the test",
    )
    assert event.created_at is not None
    assert event.get_verb_display() == "Turned on pairing"


def test_each_action_of_the_checklist_is_logged_with_its_actor(program, org_admin):
    launch_step_mark_done(program=program, step=LaunchStep.Step.INTEGRATIONS, user=org_admin)
    pairing_turn_on(program=program, user=org_admin)

    assert list(ActivityEvent.objects.values_list("verb", "actor", "detail")) == [
        (Verb.PAIRING_ON, org_admin.pk, ""),
        (Verb.STEP_DONE, org_admin.pk, "Check Your Integrations"),
    ]


def test_log_is_newest_first_and_paginated_by_twenty(program, org_admin):
    _events(program, org_admin, 45)

    first = activity_page(program, None)
    last = activity_page(program, 3)

    assert ACTIVITY_PAGE_SIZE == 20
    assert [e.detail for e in first.object_list][:2] == ["step 44", "step 43"]
    assert len(first.object_list) == 20
    assert [e.detail for e in last.object_list] == [f"step {i}" for i in range(4, -1, -1)]
    assert activity_page(program, "nonsense").number == 1


def test_log_shows_only_this_programs_events(program, org_admin, org_admin_client):
    other = factories.ProgramFactory(organization=program.organization)
    activity_record(program=other, actor=org_admin, verb=Verb.PAIRING_ON, detail="elsewhere")

    html = org_admin_client.get(_page_url(program)).content.decode()

    assert "elsewhere" not in html
    assert "Nothing has happened yet" in html


def test_pagination_links_work_without_javascript(program, org_admin, org_admin_client):
    _events(program, org_admin, 25)

    page_one = org_admin_client.get(_page_url(program)).content.decode()
    page_two = org_admin_client.get(_page_url(program) + "?page=2").content.decode()

    assert "step 24" in page_one and "step 4" not in page_one
    assert f'href="{_page_url(program)}?page=2#activity-log"' in page_one
    assert "Page 1 of 2" in page_one
    assert "step 4" in page_two and "step 24" not in page_two
    assert "<html" in page_two


def test_pagination_with_htmx_swaps_only_the_log(program, org_admin, org_admin_client):
    _events(program, org_admin, 25)

    response = org_admin_client.get(_page_url(program) + "?page=2", headers=HTMX_LOG)

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="activity-log"')
    assert "<html" not in html
    assert "Launch checklist" not in html
    assert "step 0" in html
    assert 'hx-target="#activity-log"' in html


def test_log_names_a_removed_account(program, org_admin, org_admin_client):
    gone = factories.MembershipFactory(organization=program.organization).user
    activity_record(program=program, actor=gone, verb=Verb.PAIRING_ON)
    gone.delete()

    html = org_admin_client.get(_page_url(program)).content.decode()

    assert "Automatic, or a removed account" in html


@pytest.mark.parametrize("events", [30, 300])
def test_pairing_page_query_count_does_not_grow_with_the_log(
    program, org_admin, org_admin_client, django_assert_num_queries, events
):
    _events(program, org_admin, events)
    for step in LaunchStep.Step.values:
        launch_step_mark_done(program=program, step=step, user=org_admin)
    pairing_turn_on(program=program, user=org_admin)
    factories.MentorFactory.create_batch(3, program=program)

    # session, user, membership check, program, headcount, steps, integrations
    # in progress, last support request, who turned pairing on, log count, log
    # page; then the session's save (every request: idle timeout) in a savepoint.
    with django_assert_num_queries(14):
        response = org_admin_client.get(_page_url(program))

    assert response.status_code == 200


def test_an_unregistered_verb_cannot_be_recorded(program, org_admin):
    with pytest.raises(ValueError, match="pairing_onn"):
        activity_record(program=program, actor=org_admin, verb="pairing_onn")

    assert not ActivityEvent.objects.exists()


def test_each_app_verbs_show_the_label_it_registered(program):
    shown = {
        verb: activity_record(program=program, actor=None, verb=verb).get_verb_display()
        for verb in ("pairing_on", "invitations_sent", "email_resent", "pairing_ended")
    }

    assert shown == {
        "pairing_on": "Turned on pairing",
        "invitations_sent": "Sent invitations to pair",
        "email_resent": "Resent a failed email",
        "pairing_ended": "Ended a pairing",
    }


def test_a_verb_cannot_be_registered_with_another_label(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured
    from django.db import models

    from programs import activity

    monkeypatch.setattr(activity, "_labels", dict(activity._labels))

    class Clash(models.TextChoices):
        PAIRING_ON = "pairing_on", "Switched pairing on"

    with pytest.raises(ImproperlyConfigured, match="pairing_on"):
        activity.register_verbs(Clash)
    activity.register_verbs(ActivityEvent.Verb)  # the same again is fine (ready() may rerun)


def test_django_admin_shows_and_filters_verbs_by_their_labels(program, django_user_model):
    from django.test import Client

    staff = django_user_model.objects.create_superuser("ops@example.org", password="x" * 12)
    client = Client()
    client.force_login(staff)
    event = activity_record(program=program, actor=None, verb="pairing_ended")
    activity_record(program=program, actor=None, verb=Verb.PAIRING_ON)

    listed = client.get(
        reverse("admin:programs_activityevent_changelist"), {"verb": "pairing_ended"}
    )
    html = listed.content.decode()
    assert listed.status_code == 200
    assert "Ended a pairing" in html and "Turned on pairing" in html  # a row, and the filter
    assert list(listed.context["cl"].result_list) == [event]
    form = client.get(reverse("admin:programs_activityevent_change", args=[event.pk]))
    assert (
        '<option value="pairing_ended" selected>Ended a pairing</option>' in form.content.decode()
    )
