"""Bidirectional controls never get in: every form and the CSV import clean them.

A right-to-left override (U+202E) in a name makes "Ann\u202egpj.exe" show as
"Annexe.jpg" and flips the rest of any line that shows it, subjects included.
Names and one-line fields lose every bidi control, directional marks
included; longer text (bio, note, decline message) keeps its marks, which
right-to-left prose uses, and loses the embeddings, overrides and isolates.
"""

import pytest
from django.urls import reverse

from pairing import services
from pairing.forms import DeclineForm, PreferenceForm
from pairing.models import MentorRequest
from pairing_admin.lib.text import multi_line, one_line, without_bidi
from pairing_admin.mail.links import Purpose, link_create
from programs.forms import ProgramForm, RegistrationForm, SupportRequestForm
from programs.imports.parse import parse_import
from programs.models import Organization
from programs.questions import questions_of
from tests import factories
from tests.support.answers import answers_by_key

FORMATTING = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
MARKS = "\u200e\u200f\u061c"
RLO, PDF, RLI, PDI, RLM = "\u202e", "\u202c", "\u2067", "\u2069", "\u200f"
# What a visitor types: every control, in a name and a longer text.
NAME = f"{RLO}Ann{PDF}{RLI}{RLM}{PDI}"
TEXT = f"Busy{RLO} until{PDF} June\n{RLM}שלום{RLM}"
TEXT_CLEAN = f"Busy until June\n{RLM}שלום{RLM}"


def _controls(value: str) -> set[str]:
    return set(value) & set(FORMATTING + MARKS)


def test_the_shared_cleaning():
    every = "a" + "".join(c + "b" for c in FORMATTING + MARKS)
    assert without_bidi(every) == "a" + "b" * 12
    assert without_bidi(every, keep_marks=True) == "a" + "b" * 9 + "".join(m + "b" for m in MARKS)
    assert one_line(f" {RLO}Ann \u2066\n Lee{RLM} ") == "Ann Lee"
    assert multi_line(TEXT) == TEXT_CLEAN
    assert one_line("Zoë O'Brien, شريف") == "Zoë O'Brien, شريف"  # nothing else is touched


def test_registration_form_cleans_names_profile_tags_bio_and_email(program):
    form = RegistrationForm(
        {
            "role": "mentee",
            "first_name": NAME,
            "last_name": f"Lee{RLO}",
            "email": f"{RLI}Zoe@exa{RLO}mple.org{PDI}",
            "title": f"{RLI}Lead{PDI}",
            "department": f"Data{RLM}",
            "location": f"{RLO}York",
            "goals": f"SQL{RLO}, {RLI}Excel",
            "bio": TEXT,
        },
        default_capacity=2,
        questions=questions_of(program),
    )
    assert form.is_valid(), form.errors
    data = form.cleaned_data
    assert (data["first_name"], data["last_name"], data["email"]) == (
        "Ann",
        "Lee",
        "zoe@example.org",
    )
    assert (data["title"], data["department"], data["location"]) == ("Lead", "Data", "York")
    assert form.registration_values()["answers"] == {"goals": ["SQL", "Excel"]}
    (picks,) = [v for v in form.answer_values.values() if v]
    assert picks.new_labels == ("SQL", "Excel")
    assert data["bio"] == TEXT_CLEAN


def test_participant_edit_form_saves_the_cleaned_values(program, org_admin_client):
    person = factories.ParticipantFactory(program=program, bio="")
    url = reverse(
        "programs:participant_edit",
        kwargs={"program_id": program.pk, "participant_id": person.pk},
    )
    data = {
        "role": person.role,
        "first_name": NAME,
        "last_name": f"{RLO}Lee",
        "email": f"{RLI}ann@example.org{PDI}",
        "title": f"Lead{RLO}",
        "department": "",
        "location": "",
        "goals": f"{RLO}SQL",
        "interests": "",
        "bio": TEXT,
        "manager_email": f"boss@exa{RLO}mple.org",
        "capacity": str(person.capacity),
    }
    response = org_admin_client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors
    person.refresh_from_db()
    assert (person.first_name, person.last_name, person.email) == (
        "Ann",
        "Lee",
        "ann@example.org",
    )
    assert (person.title, person.bio) == ("Lead", TEXT_CLEAN)
    assert answers_by_key(person) == {"goals": ["SQL"]}
    assert person.manager_email == "boss@example.org"


def test_program_name_is_cleaned(db):
    form = ProgramForm(
        {"name": f"Spring {RLO}2026", "default_mentor_capacity": 3},
        organizations=Organization.objects.none(),
    )
    form.is_valid()
    assert form.cleaned_data["name"] == "Spring 2026"


def test_csv_import_cleans_every_cell():
    text = (
        "email,role,first_name,last_name,title,goals,bio,manager_email\n"
        f'{RLO}ann@example.org,mentee,{NAME},Lee{RLI},{RLO}Lead,"{RLO}SQL; R",'
        f'"{TEXT}",boss@exa{RLO}mple.org\n'
        f"bob@example.org,mentee,Bob,Ray,,,,\n"
    )
    parsed = parse_import(text, default_mentor_capacity=2)
    assert parsed.file_errors == [] and parsed.row_errors == []
    ann = parsed.rows[0]
    assert (ann["email"], ann["first_name"], ann["last_name"]) == (
        "ann@example.org",
        "Ann",
        "Lee",
    )
    assert (ann["title"], ann["goals"], ann["bio"]) == ("Lead", ["SQL", "R"], TEXT_CLEAN)
    assert ann["manager_email"] == "boss@example.org"
    for row in parsed.rows:
        assert not any(_controls(str(value)) - set(MARKS) for value in row.values())


def test_csv_import_sees_a_formula_hidden_behind_a_bidi_control():
    parsed = parse_import(
        f"email,role,first_name\na@example.org,mentee,{RLO}=HYPERLINK(1)\n",
        default_mentor_capacity=2,
    )
    assert [(e.line, e.column, e.reason) for e in parsed.row_errors] == [
        (2, "first_name", "looks like a spreadsheet formula")
    ]


def test_decline_message_is_stored_and_sent_without_bidi_controls(program, client):
    program.pairing_enabled = True
    program.save(update_fields=["pairing_enabled"])
    mentee = factories.ParticipantFactory(program=program, first_name="Sam")
    mentor = factories.MentorFactory(program=program)
    pending = services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk], note="").request
    _, raw = link_create(
        purpose=Purpose.DECLINE,
        participant=mentor,
        expires_at=pending.expires_at,
        object_id=pending.pk,
    )
    response = client.post(f"/r/{raw}/", {"message": TEXT})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == MentorRequest.Status.DECLINED
    assert pending.decline_message == TEXT_CLEAN


def test_the_mentees_note_and_the_support_request_are_cleaned():
    note = PreferenceForm({"note": TEXT, "rank_7": "1"}, offered={7}, max_preferences=3)
    assert note.is_valid(), note.errors
    assert note.cleaned_data["note"] == TEXT_CLEAN
    decline = DeclineForm({"message": TEXT})
    assert decline.is_valid() and decline.cleaned_data["message"] == TEXT_CLEAN
    support = SupportRequestForm({"subject": f"Help{RLO} me", "message": TEXT})
    assert support.is_valid(), support.errors
    assert (support.cleaned_data["subject"], support.cleaned_data["message"]) == (
        "Help me",
        TEXT_CLEAN,
    )


@pytest.mark.parametrize("field", ["first_name", "last_name", "title", "department", "location"])
def test_every_one_line_field_of_the_registration_form_loses_every_control(field, program):
    form = RegistrationForm(
        {"role": "mentee", "first_name": "Zoe", "email": "z@example.org", field: NAME},
        default_capacity=2,
        questions=questions_of(program),
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data[field] == "Ann"
