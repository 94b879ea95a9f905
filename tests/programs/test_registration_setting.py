"""Program settings: the admin opens and closes self-registration."""

import pytest
from django.urls import reverse

from pairing_admin.mail.models import OutboundEmail
from programs.models import ActivityEvent, PendingRegistration, Program
from tests.programs import registering


def _settings(program, **overrides):
    """The settings form as the admin's browser posts it, both boxes shown."""
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
        "registration_open": "on" if program.registration_open else "",
        "registration_open-shown": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


def _edit_url(program):
    return reverse("programs:edit", kwargs={"program_id": program.pk})


def _registration_form(**overrides):
    data = {"role": "mentee", "first_name": "Zoe", "email": "zoe@example.org"}
    data.update(overrides)
    return data


def test_settings_form_shows_the_registration_box(program, org_admin_client):
    response = org_admin_client.get(_edit_url(program))
    form = response.context["form"]
    assert form["registration_open"].value() is True
    html = response.content.decode()
    assert 'name="registration_open-shown"' in html
    assert "Registration open" in html
    assert "Anyone who has the program&#x27;s registration link can sign up" in html


def test_admin_closes_and_reopens_registration_and_the_link_follows(
    program, org_admin, org_admin_client, anon_client
):
    response = org_admin_client.post(_edit_url(program), _settings(program, registration_open=""))
    assert response.status_code == 302
    program.refresh_from_db()
    assert program.registration_open is False
    event = ActivityEvent.objects.get(program=program)
    assert (event.verb, event.actor, event.detail) == (
        ActivityEvent.Verb.PROGRAM_SETTINGS_CHANGED,
        org_admin,
        "registration open → closed",
    )
    detail = org_admin_client.get(reverse("programs:detail", kwargs={"program_id": program.pk}))
    assert "Registration is closed." in detail.content.decode()

    # The link says so and takes nothing.
    join = registering.register_url(program)
    for page in (anon_client.get(join), anon_client.post(join, _registration_form())):
        assert page.status_code == 200
        html = page.content.decode()
        assert "Registration is closed" in html
        assert 'name="email"' not in html
    assert not PendingRegistration.objects.exists()
    assert not OutboundEmail.objects.exists()

    response = org_admin_client.post(_edit_url(program), _settings(program, registration_open="on"))
    assert response.status_code == 302
    program.refresh_from_db()
    assert program.registration_open is True
    latest = ActivityEvent.objects.filter(program=program).order_by("-pk").first()
    assert latest.detail == "registration closed → open"
    html = anon_client.get(join).content.decode()
    assert "Registration is closed" not in html
    assert 'name="email"' in html


def test_evergreen_program_refuses_to_close_registration_and_saves_nothing(
    program, org_admin_client
):
    Program.objects.filter(pk=program.pk).update(program_type=Program.Type.EVERGREEN)
    program.refresh_from_db()

    response = org_admin_client.post(
        _edit_url(program), _settings(program, registration_open="", name="Renamed")
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["registration_open"]
    assert errors["registration_open"] == [
        "An Evergreen program always takes new registrations: people join it at any time. "
        "Tick Registration open, or choose Cohort."
    ]
    assert 'id="id_registration_open_error"' in response.content.decode()
    program.refresh_from_db()
    assert program.registration_open is True and program.name != "Renamed"
    assert not ActivityEvent.objects.filter(program=program).exists()


def test_switching_to_evergreen_with_registration_closed_is_refused(program, org_admin_client):
    Program.objects.filter(pk=program.pk).update(registration_open=False)
    program.refresh_from_db()

    response = org_admin_client.post(
        _edit_url(program), _settings(program, program_type="evergreen")
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["registration_open"]
    program.refresh_from_db()
    assert (program.program_type, program.registration_open) == ("cohort", False)
    assert not ActivityEvent.objects.filter(program=program).exists()


@pytest.mark.parametrize("saved", [True, False])
def test_a_post_without_the_registration_box_keeps_the_saved_value(
    program, org_admin_client, saved
):
    # A settings page opened before the box existed posts neither the box nor its sign.
    Program.objects.filter(pk=program.pk).update(registration_open=saved)
    program.refresh_from_db()
    data = _settings(program, name="Renamed")
    data.pop("registration_open", None)
    del data["registration_open-shown"]

    assert org_admin_client.post(_edit_url(program), data).status_code == 302

    program.refresh_from_db()
    assert (program.name, program.registration_open) == ("Renamed", saved)
    assert "registration" not in ActivityEvent.objects.get(program=program).detail


def test_a_new_program_can_start_with_registration_closed(org, org_admin_client):
    data = _settings(Program(name="Autumn"), registration_open="")
    data["organization"] = org.pk

    response = org_admin_client.post(reverse("programs:create"), data)

    assert response.status_code == 302
    assert Program.objects.get(name="Autumn").registration_open is False
