"""The Match weights page: per-program weights, admins only, validated, logged."""

import pytest
from django.urls import reverse

from pairing_admin.lib.errors import DomainError
from programs.match_weights import (
    FIELD_KEYS,
    clean_weights,
    match_weights_update,
    weights_of,
)
from programs.models import ActivityEvent, Program
from tests import factories

Verb = ActivityEvent.Verb
NEW = {"skills_for_goals": 7, "shared_interests": 0, "department": 3, "location": 10}


def _url(program) -> str:
    return reverse("programs:match_weights", kwargs={"program_id": program.pk})


def _weights_in_db(program) -> dict:
    return Program.objects.get(pk=program.pk).match_weights


def test_a_new_program_starts_with_sensible_defaults(db):
    program = factories.ProgramFactory()

    assert weights_of(program) == {
        "skills_for_goals": 5,
        "shared_interests": 2,
        "department": 1,
        "location": 2,
    }


def test_weights_of_fills_in_missing_fields_and_ignores_junk(program):
    program.match_weights = {"skills_for_goals": 9, "location": "lots", "department": 42, "x": 1}

    assert weights_of(program) == {
        "skills_for_goals": 9,
        "shared_interests": 2,
        "department": 1,
        "location": 2,
    }


def test_page_shows_the_current_weights_and_get_writes_nothing(
    program, org_admin_client, django_assert_num_queries
):
    program.match_weights = {**NEW}
    program.save()

    # session, user, membership check, program, then the session's idle-timeout
    # refresh (savepoint, update, release): nothing of the program is written.
    with django_assert_num_queries(7):
        response = org_admin_client.get(_url(program))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="skills_for_goals" value="7"' in html
    assert 'name="location" value="10"' in html
    assert "must match" in html
    assert _weights_in_db(program) == NEW
    assert not ActivityEvent.objects.exists()


def test_saving_stores_the_weights_and_logs_what_changed(program, org_admin, org_admin_client):
    response = org_admin_client.post(_url(program), {k: str(v) for k, v in NEW.items()})

    assert response.status_code == 302
    assert response.url == _url(program)
    assert _weights_in_db(program) == NEW
    event = ActivityEvent.objects.get()
    assert (event.verb, event.actor) == (Verb.MATCH_WEIGHTS_CHANGED, org_admin)
    assert event.detail == (
        "Skills for goals 5 → 7; Shared interests 2 → ignored; Same department 1 → 3; "
        "Same location 2 → must match"
    )
    assert "Match weights saved." in org_admin_client.get(response.url).content.decode()


def test_saving_the_same_weights_logs_nothing(program, org_admin_client):
    same = {k: str(v) for k, v in weights_of(program).items()}

    response = org_admin_client.post(_url(program), same, follow=True)

    assert "Nothing changed." in response.content.decode()
    assert not ActivityEvent.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("location", "11", "Choose a whole number from 0 (ignored) to 10 (must match)."),
        ("location", "-1", "Choose a whole number from 0 (ignored) to 10 (must match)."),
        ("department", "two", "Choose a whole number from 0 (ignored) to 10 (must match)."),
        ("department", "2.5", "Choose a whole number from 0 (ignored) to 10 (must match)."),
        ("skills_for_goals", "", "Give “Skills for goals” a weight: 0 ignores it."),
    ],
)
def test_invalid_weight_is_explained_and_nothing_is_saved(
    program, org_admin_client, field, value, message
):
    before = _weights_in_db(program)
    data = {**{k: "5" for k in FIELD_KEYS}, field: value}

    response = org_admin_client.post(_url(program), data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert _weights_in_db(program) == before
    assert not ActivityEvent.objects.exists()


@pytest.mark.parametrize("values", [[0, 0, 0, 0], [10, 0, 10, 0], [10, 10, 10, 10]])
def test_at_least_one_field_must_rank_mentors(program, org_admin_client, values):
    before = _weights_in_db(program)
    data = {k: str(v) for k, v in zip(FIELD_KEYS, values, strict=True)}

    response = org_admin_client.post(_url(program), data)

    assert response.status_code == 200
    assert "Give at least one field a weight from 1 to 9." in response.content.decode()
    assert _weights_in_db(program) == before


def test_service_refuses_unknown_fields_and_bad_values(program, org_admin):
    with pytest.raises(DomainError, match="no match field called “mood”"):
        clean_weights({**NEW, "mood": 3})
    with pytest.raises(DomainError, match="“Same location” must be from 0"):
        match_weights_update(program=program, weights={**NEW, "location": 12}, user=org_admin)
    with pytest.raises(DomainError, match="whole number"):
        match_weights_update(program=program, weights={**NEW, "location": True}, user=org_admin)
    assert weights_of(Program.objects.get(pk=program.pk))["location"] == 2


def test_admin_of_another_organization_gets_404_and_changes_nothing(program, other_admin_client):
    before = _weights_in_db(program)

    for method in ("get", "post", "put"):
        response = getattr(other_admin_client, method)(_url(program), {"location": "10"})
        assert response.status_code == 404, method

    assert _weights_in_db(program) == before


def test_anonymous_visitor_is_sent_to_login(program, anon_client):
    response = anon_client.post(_url(program), {k: "1" for k in FIELD_KEYS})

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert _weights_in_db(program) == weights_of(program)


def test_other_methods_are_refused(program, org_admin_client):
    assert org_admin_client.put(_url(program)).status_code == 405
    assert org_admin_client.delete(_url(program)).status_code == 405


def test_each_program_keeps_its_own_weights(program, org_admin_client):
    sibling = factories.ProgramFactory(organization=program.organization)

    org_admin_client.post(_url(program), {k: str(v) for k, v in NEW.items()})

    assert _weights_in_db(program) == NEW
    assert weights_of(Program.objects.get(pk=sibling.pk))["location"] == 2


def test_settings_page_links_to_the_weights(program, org_admin_client):
    response = org_admin_client.get(reverse("programs:edit", kwargs={"program_id": program.pk}))

    assert _url(program) in response.content.decode()
