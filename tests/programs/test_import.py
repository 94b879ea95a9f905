"""CSV import through the admin pages: upload -> preview -> confirm."""

import csv
import io
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from programs.imports import services as import_services
from programs.imports.apply_pg import participants_copy_upsert
from programs.imports.parse import ImportFileError, check_upload_size, parse_import
from programs.models import (
    Answer,
    Participant,
    ParticipantImport,
    Program,
    Question,
    QuestionOption,
)
from programs.questions import answer_labels, answers_of, questions_of
from tests import factories
from tests.support.imports import (
    confirm_import,
    messages_of,
    participants_snapshot,
    preview_url,
    upload_csv,
)

# Every test runs through each way the rows are written (see conftest.upsert_path).
pytestmark = pytest.mark.usefixtures("upsert_path")

HEADER = "email,role,first_name,last_name,department,skills,capacity\n"


@pytest.fixture
def existing(program):
    return factories.ParticipantFactory(
        program=program,
        email="grace@example.org",
        first_name="Grace",
        last_name="Old",
        bio="Kept when the file has no bio column",
        source=Participant.Source.REGISTRATION,
    )


def _answers(program, person) -> dict:
    """A person's answers by question key, read afresh: labels, a number or a text."""
    fresh = Program.objects.get(pk=program.pk)  # the import may have added options
    return answer_labels(fresh, answers_of([person.pk])).get(person.pk, {})


# --- Happy path ---------------------------------------------------------------------


def test_upload_preview_confirm_creates_and_updates_participants(
    org_admin_client, program, existing
):
    csv_text = (
        HEADER
        + 'Ada@Example.org ,mentor,Ada,Lovelace,Engineering,"Python; maths, poetry",\n'
        + "grace@example.org,MENTEE,Grace,Hopper,Research,,\n"
        + "linus@example.org,mentor,Linus,Torvalds,Kernel,C|Git,7\n"
    )
    response = upload_csv(org_admin_client, program, csv_text.encode())
    upload = ParticipantImport.objects.get(program=program)
    assert response.status_code == 302
    assert response.url == preview_url(upload)
    assert upload.filename == "people.csv"
    assert upload.status == ParticipantImport.Status.PREVIEW

    preview = org_admin_client.get(preview_url(upload))
    page = preview.content.decode()
    assert preview.status_code == 200
    assert preview.context["preview"].row_count == 3
    assert preview.context["preview"].new_count == 2
    assert preview.context["preview"].update_count == 1
    assert "Import 3 participants" in page
    assert "Discard" in page
    assert "ada@example.org" in page
    assert Participant.objects.filter(program=program).count() == 1  # the preview wrote nothing

    response = confirm_import(org_admin_client, upload)
    assert response.status_code == 302
    assert response.url == reverse("programs:participants", args=[program.pk])
    assert messages_of(response) == ["Imported 3 participants: 2 new, 1 updated."]

    people = {p.email: p for p in Participant.objects.filter(program=program)}
    assert set(people) == {"ada@example.org", "grace@example.org", "linus@example.org"}
    ada = people["ada@example.org"]
    assert (ada.role, ada.first_name, ada.last_name) == ("mentor", "Ada", "Lovelace")
    assert _answers(program, ada) == {"skills": ["Python", "maths", "poetry"]}
    assert ada.capacity == program.default_mentor_capacity  # blank capacity -> default
    assert ada.source == Participant.Source.IMPORT
    assert people["linus@example.org"].capacity == 7
    assert _answers(program, people["linus@example.org"]) == {"skills": ["C", "Git"]}
    grace = people["grace@example.org"]
    assert grace.pk == existing.pk
    assert (grace.role, grace.last_name, grace.department) == ("mentee", "Hopper", "Research")
    assert grace.capacity == 0
    assert grace.bio == "Kept when the file has no bio column"
    assert _answers(program, grace) == {}
    assert grace.source == Participant.Source.REGISTRATION
    upload.refresh_from_db()
    assert upload.status == ParticipantImport.Status.APPLIED
    assert (upload.created_count, upload.updated_count) == (2, 1)
    assert upload.applied_at is not None


def test_reimporting_the_same_people_updates_them_instead_of_duplicating(org_admin_client, program):
    first = HEADER + "a@example.org,mentor,Ann,One,Sales,,3\nb@example.org,mentee,Bob,Two,Ops,,\n"
    upload_csv(org_admin_client, program, first.encode())
    confirm_import(org_admin_client, ParticipantImport.objects.get())
    ids = dict(Participant.objects.values_list("email", "id"))

    second = "Email,Role,Name,Department\nA@example.org,mentor,Ann Marie Smith,Legal\nb@example.org,mentor,Bob Two,Ops\n"
    upload_csv(org_admin_client, program, second.encode())
    upload = ParticipantImport.objects.filter(status="preview").get()
    assert org_admin_client.get(preview_url(upload)).context["preview"].update_count == 2
    response = confirm_import(org_admin_client, upload)

    assert messages_of(response)[-1] == "Imported 2 participants: 0 new, 2 updated."
    assert dict(Participant.objects.values_list("email", "id")) == ids
    ann = Participant.objects.get(email="a@example.org")
    assert (ann.first_name, ann.last_name, ann.department) == ("Ann", "Marie Smith", "Legal")
    assert ann.capacity == 3  # no capacity column: kept
    bob = Participant.objects.get(email="b@example.org")
    assert bob.role == "mentor"


def test_confirming_twice_imports_once(org_admin_client, program):
    upload_csv(org_admin_client, program, (HEADER + "a@example.org,mentee,Ann,,,,\n").encode())
    upload = ParticipantImport.objects.get()
    confirm_import(org_admin_client, upload)
    Participant.objects.update(first_name="Edited since")

    response = confirm_import(org_admin_client, upload)

    assert response.url == preview_url(upload)
    assert messages_of(response)[-1] == "This file was already imported."
    assert Participant.objects.get().first_name == "Edited since"
    page = org_admin_client.get(preview_url(upload)).content.decode()
    assert "Import 1 participant" not in page


def test_discarded_file_cannot_be_confirmed(org_admin_client, program):
    upload_csv(org_admin_client, program, (HEADER + "a@example.org,mentee,Ann,,,,\n").encode())
    upload = ParticipantImport.objects.get()

    response = org_admin_client.post(
        reverse("programs:import_discard", args=[program.pk, upload.pk])
    )
    assert response.url == reverse("programs:import_upload", args=[program.pk])
    upload.refresh_from_db()
    assert upload.status == ParticipantImport.Status.DISCARDED

    response = confirm_import(org_admin_client, upload)
    assert "discarded" in messages_of(response)[-1]
    assert not Participant.objects.exists()


def test_preview_and_confirm_answer_only_their_methods(org_admin_client, program):
    upload_csv(org_admin_client, program, (HEADER + "a@example.org,mentee,Ann,,,,\n").encode())
    upload = ParticipantImport.objects.get()
    assert (
        org_admin_client.get(
            reverse("programs:import_confirm", args=[program.pk, upload.pk])
        ).status_code
        == 405
    )
    assert (
        org_admin_client.get(
            reverse("programs:import_discard", args=[program.pk, upload.pk])
        ).status_code
        == 405
    )
    assert org_admin_client.post(preview_url(upload)).status_code == 405
    upload.refresh_from_db()
    assert upload.status == ParticipantImport.Status.PREVIEW
    assert not Participant.objects.exists()


def test_upload_page_has_the_labels_and_column_help(org_admin_client, program):
    page = org_admin_client.get(reverse("programs:import_upload", args=[program.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert '<label for="id_file">CSV file</label>' in html
    assert "Upload and preview" in html
    assert "manager_email" in html
    assert 'download="participants-template.csv"' in html
    assert 'aria-current="page">Import CSV' in html


def test_import_urls_are_404_for_another_organization_and_another_program(
    other_admin_client, org_admin_client, program, org
):
    upload = ParticipantImport.objects.create(
        program=program, filename="x.csv", content=HEADER + "a@example.org,mentee,Ann,,,,\n"
    )
    sibling = factories.ProgramFactory(organization=org)
    names = ("import_preview", "import_confirm", "import_discard")
    for name in names:
        url = reverse(f"programs:{name}", args=[program.pk, upload.pk])
        assert other_admin_client.get(url).status_code == 404
        assert other_admin_client.post(url).status_code == 404
        wrong_program = reverse(f"programs:{name}", args=[sibling.pk, upload.pk])
        assert org_admin_client.post(wrong_program).status_code == 404
    url = reverse("programs:import_upload", args=[program.pk])
    assert (
        other_admin_client.post(url, {"file": SimpleUploadedFile("a.csv", b"x")}).status_code == 404
    )
    upload.refresh_from_db()
    assert upload.status == ParticipantImport.Status.PREVIEW
    assert not Participant.objects.exists()
    assert ParticipantImport.objects.count() == 1


def test_confirm_writes_with_a_fixed_number_of_queries(org_admin_client, program):
    rows = "".join(f"p{i}@example.org,mentee,P{i},,,,\n" for i in range(300))
    upload_csv(org_admin_client, program, (HEADER + rows).encode())
    upload = ParticipantImport.objects.get()
    with CaptureQueriesContext(connection) as queries:
        confirm_import(org_admin_client, upload)
    assert Participant.objects.count() == 300
    # Per-row writes would be 300+ queries; batches of inserts (and of the
    # skills column's answers, all blank here) are a few dozen.
    assert len(queries) < 35, len(queries)


# --- Files that import fine ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bom", "\ufeffemail,role,first_name\nzoe@example.org,mentee,Zoë\n".encode()),
        (
            "semicolons",
            "email;role;first_name;interests\nzoe@example.org;mentee;Zoë;a, b\n".encode(),
        ),
        (
            "quoted newlines",
            'email,role,first_name,bio\nzoe@example.org,mentee,Zoë,"Line one\nline two, with comma"\n'.encode(),
        ),
        ("crlf", "email,role,first_name\r\nzoe@example.org,mentee,Zoë\r\n".encode()),
    ],
)
def test_well_formed_variants_import(org_admin_client, program, name, data):
    response = upload_csv(org_admin_client, program, data)
    assert response.status_code == 302, name
    response = confirm_import(org_admin_client, ParticipantImport.objects.get())
    assert messages_of(response) == ["Imported 1 participant: 1 new, 0 updated."]
    person = Participant.objects.get()
    assert (person.email, person.first_name) == ("zoe@example.org", "Zoë")
    if name == "semicolons":
        assert _answers(program, person) == {"interests": ["a", "b"]}
    if name == "quoted newlines":
        assert person.bio == "Line one\nline two, with comma"


# --- Files refused outright: nothing stored, nothing written ---------------------------


def _garbage() -> bytes:
    return random.Random(4).randbytes(5 * 1024 * 1024)


FILE_LEVEL_CASES = [
    ("random garbage", _garbage, "not a CSV text file (it contains binary data)"),
    (
        "wrong headers",
        lambda: b"mail,kind,first_name\na@example.org,mentee,Ann\n",
        "Unknown columns: mail, kind. Accepted columns are: email, role, first_name, last_name",
    ),
    (
        "missing required column",
        lambda: b"email,first_name\na@example.org,Ann\n",
        "Missing required column: role.",
    ),
    ("empty file", lambda: b"", "The file is empty."),
    ("only blank lines", lambda: b"\r\n\n  \n", "The file is empty."),
    (
        "header only",
        lambda: b"email,role,first_name\n",
        "The file has a header row but no participants.",
    ),
    (
        "not UTF-8",
        lambda: "email,role,first_name\nrené@example.org,mentee,René\n".encode("latin-1"),
        "The file is not UTF-8 encoded",
    ),
    (
        "duplicate column",
        lambda: b"email,role,first_name,Email\na@example.org,mentee,Ann,b@example.org\n",
        "These columns appear more than once: email.",
    ),
    (
        # Read leniently, this was one person named "Ann\nbob@example.org,mentee,Bob".
        "quote never closed",
        lambda: (
            b"email,role,first_name\nzoe@example.org,mentee,Zoe\n"
            b'ann@example.org,mentee,"Ann\nbob@example.org,mentee,Bob\n'
        ),
        'Line 3: a quote (") opens a cell that is never closed, so everything after it would '
        "be read into that one cell. Close the quote where the cell ends (or remove it) and "
        "upload the file again; nothing was imported.",
    ),
    (
        "quote never closed in the last cell",
        lambda: (
            b'email,role,first_name,bio\r\nann@example.org,mentee,Ann,"Hi\r\n'
            b"bob@example.org,mentee,Bob,Hello\r\n"
        ),
        'Line 2: a quote (") opens a cell that is never closed',
    ),
    (
        "quote closed rows later",
        lambda: (
            b'email,role,first_name,bio\nann@example.org,mentee,"Ann\n'
            b'bob@example.org,mentee,Bob,"Hello"\n'
        ),
        'Line 2: the first_name cell opens a quote (") that closes only on line 3',
    ),
]


@pytest.mark.parametrize(
    ("name", "make", "message"), FILE_LEVEL_CASES, ids=[c[0] for c in FILE_LEVEL_CASES]
)
def test_unusable_file_is_refused_with_its_reason(
    org_admin_client, program, existing, name, make, message
):
    before = participants_snapshot(program)
    response = upload_csv(org_admin_client, program, make())
    assert response.status_code == 200
    errors = response.context["form"].errors["file"]
    assert any(message in e for e in errors), (name, errors)
    html = response.content.decode()
    assert 'id="id_file_error"' in html
    assert 'aria-invalid="true"' in html
    assert not ParticipantImport.objects.exists()
    assert participants_snapshot(program) == before


def test_file_over_the_size_limit_is_refused(org_admin_client, program, existing, settings):
    settings.IMPORT_MAX_BYTES = 1024
    before = participants_snapshot(program)
    rows = "".join(f"p{i}@example.org,mentee,P{i}\n" for i in range(100))
    response = upload_csv(org_admin_client, program, f"email,role,first_name\n{rows}".encode())
    errors = response.context["form"].errors["file"]
    assert "the largest file we accept is 1 KB" in errors[0]
    assert not ParticipantImport.objects.exists()
    assert participants_snapshot(program) == before


def test_a_file_one_byte_over_the_limit_says_both_sizes_in_bytes(
    org_admin_client, program, existing, settings
):
    settings.IMPORT_MAX_BYTES = 5 * 1024 * 1024
    before = participants_snapshot(program)
    header = b"email,role,first_name\n"
    data = header + b"a" * (settings.IMPORT_MAX_BYTES + 1 - len(header))
    response = upload_csv(org_admin_client, program, data)
    assert response.context["form"].errors["file"] == [
        "The file is 5,242,881 bytes; the largest file we accept is 5,242,880 bytes (5.0 MB). "
        "Split it into smaller files and import them one after another."
    ]
    assert not ParticipantImport.objects.exists()
    assert participants_snapshot(program) == before


def test_sizes_that_differ_when_rounded_stay_short(settings):
    settings.IMPORT_MAX_BYTES = 5 * 1024 * 1024
    with pytest.raises(ImportFileError) as caught:
        check_upload_size(6 * 1024 * 1024)
    assert str(caught.value).startswith("The file is 6.0 MB; the largest file we accept is 5.0 MB.")


# --- Files with row errors: previewed with every error, never applied ----------------


ROW_ERROR_CASES = [
    (
        "formula cells",
        "email,role,first_name,last_name,department,title,location,bio\n"
        'a@example.org,mentee,"=HYPERLINK(""http://x"")",Ok,+1,@SUM(A1),-2+3,"- mentoring, not a formula"\n'
        "b@example.org,mentee,\tBob,,,,,\n",
        [
            (2, "first_name", "looks like a spreadsheet formula"),
            (2, "department", "looks like a spreadsheet formula"),
            (2, "title", "looks like a spreadsheet formula"),
            (2, "location", "looks like a spreadsheet formula"),
            (3, "first_name", "looks like a spreadsheet formula"),
        ],
    ),
    (
        "duplicate emails",
        "email,role,first_name\na@example.org,mentee,Ann\nb@example.org,mentee,Bob\nA@Example.org,mentor,Ann\n",
        [(4, "email", "“a@example.org” is a duplicate of line 2")],
    ),
    (
        "missing email",
        "email,role,first_name\n,mentee,Ann\n",
        [(2, "email", "is missing")],
    ),
    (
        "invalid email",
        "email,role,first_name,manager_email\nann-at-example.org,mentee,Ann,\nb@example.org,mentee,Bob,boss@\n",
        [
            (2, "email", "“ann-at-example.org” is not a valid email address"),
            (3, "manager_email", "“boss@” is not a valid email address"),
        ],
    ),
    (
        "unknown role",
        "email,role,first_name\na@example.org,coach,Ann\nb@example.org,,Bob\n",
        [
            (2, "role", "“coach” must be mentee or mentor"),
            (3, "role", "is missing; it must be mentee or mentor"),
        ],
    ),
    (
        "bad capacity",
        "email,role,first_name,capacity\na@example.org,mentor,Ann,lots\nb@example.org,mentor,Bob,51\nc@example.org,mentor,Cy,-1\nd@example.org,mentor,Di,2.5\n",
        [
            (2, "capacity", "“lots” must be a whole number from 0 to 50"),
            (3, "capacity", "“51” must be a whole number from 0 to 50"),
            (4, "capacity", "“-1” must be a whole number from 0 to 50"),
            (5, "capacity", "“2.5” must be a whole number from 0 to 50"),
        ],
    ),
    (
        "too long",
        f"email,role,first_name,title\na@example.org,mentee,{'A' * 101},Ok\nb@example.org,mentee,Bob,{'T' * 121}\n",
        [
            (2, "first_name", "is longer than 100 characters"),
            (3, "title", "is longer than 120 characters"),
        ],
    ),
    (
        "error after a multi-line record",
        'email,role,first_name,bio\na@example.org,mentee,Ann,"one\ntwo\nthree"\nbad,mentee,Bob,\n',
        [(5, "email", "“bad” is not a valid email address")],
    ),
    (
        "extra cells",
        "email,role,first_name\na@example.org,mentee,Ann,surprise\n",
        [(2, "", "This row has 4 cells but the header has 3 columns.")],
    ),
]


@pytest.mark.parametrize(
    ("name", "text", "expected"), ROW_ERROR_CASES, ids=[c[0] for c in ROW_ERROR_CASES]
)
def test_row_errors_are_listed_and_block_the_import(
    org_admin_client, program, existing, name, text, expected
):
    before = participants_snapshot(program)
    response = upload_csv(org_admin_client, program, text.encode())
    assert response.status_code == 302, name
    upload = ParticipantImport.objects.get()

    preview = org_admin_client.get(preview_url(upload))
    found = [(e.line, e.column, e.reason) for e in preview.context["preview"].parsed.row_errors]
    assert found == expected
    html = preview.content.decode()
    assert "This file cannot be imported until these errors are fixed" in html
    assert 'scope="col" class="num">Line</th>' in html
    assert f'<td class="num">{expected[0][0]}</td>' in html
    assert reverse("programs:import_confirm", args=[program.pk, upload.pk]) not in html
    assert not preview.context["can_confirm"]

    response = confirm_import(org_admin_client, upload)
    assert messages_of(response) == [
        "This file has errors, so nothing was imported. Fix them and upload it again."
    ]
    upload.refresh_from_db()
    assert upload.status == ParticipantImport.Status.PREVIEW
    assert participants_snapshot(program) == before


def _planner_rows(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


def test_a_large_import_gives_the_planner_fresh_statistics(org_admin_client, program):
    """Until autovacuum runs, a planner that believes 50,000 new mentees are one row
    chose a nested loop that made the first Invite all take minutes."""
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    from pairing.models import MenteeStanding
    from programs.imports.services import ANALYZE_AFTER

    rows = "".join(f"p{i}@example.org,mentee,P{i},Reading\n" for i in range(ANALYZE_AFTER + 5))
    header = "email,role,first_name,interests\n"
    upload_csv(org_admin_client, program, (header + rows).encode())
    confirm_import(org_admin_client, ParticipantImport.objects.get())
    assert _planner_rows(Participant._meta.db_table) == Participant.objects.count()
    assert _planner_rows(MenteeStanding._meta.db_table) == MenteeStanding.objects.count()
    assert Answer.objects.count() == ANALYZE_AFTER + 5
    assert _planner_rows(Answer._meta.db_table) == Answer.objects.count()


# --- Answers to the program's questions ------------------------------------------------

Kind = Question.Kind


def _ask(program, key, kind, label, *, options=(), audience="everyone", **fields) -> Question:
    question = Question.objects.create(
        program=program,
        key=key,
        label=label,
        text=f"{label}?",
        kind=kind,
        audience=audience,
        position=Question.objects.filter(program=program).count(),
        **fields,
    )
    for n, option in enumerate(options):
        QuestionOption.objects.create(question=question, label=option, position=n)
    return question


@pytest.fixture
def quiz(program):
    """`program` asking, after the default questions, one question of each kind."""
    return _with_quiz(program)


def _with_quiz(program):
    _ask(program, "level", Kind.SINGLE, "Level", options=("Junior", "Mid", "Senior"))
    _ask(
        program,
        "langs",
        Kind.MULTIPLE,
        "Languages",
        options=("Python", "SQL", "Go"),
        audience="mentor",
        max_choices=2,
    )
    _ask(program, "years", Kind.NUMBER, "Years of experience", min_value=0, max_value=40)
    _ask(program, "pitch", Kind.SHORT_TEXT, "Pitch", audience="mentee")
    _ask(program, "story", Kind.LONG_TEXT, "Story")
    return program


QUIZ_HEADER = "email,role,first_name,level,langs,years,pitch,story,skills,interests\n"


def _options(program, key) -> list[str]:
    return list(
        QuestionOption.objects.filter(question__program=program, question__key=key).values_list(
            "label", flat=True
        )
    )


def _version(program) -> int:
    return Program.objects.values_list("questions_version", flat=True).get(pk=program.pk)


def test_every_kind_of_answer_is_imported_and_a_reimport_replaces_only_the_files_columns(
    org_admin_client, quiz
):
    program = quiz
    grace = factories.ParticipantFactory(
        program=program, email="grace@example.org", interests=["Chess"], goals=["Speak up"]
    )
    version = _version(program)
    text = (
        QUIZ_HEADER
        + 'ada@example.org,mentor,Ada,SENIOR,"python; SQL",12,,"Line one\nLine two",'
        + '"Python; Mentoring",AI|chess\n'
        + "grace@example.org,mentee,Grace,junior,,3,Keen  to learn,,,\n"
        + "linus@example.org,mentor,Linus,,Go,,,,MENTORING,ai\n"
    )
    upload_csv(org_admin_client, program, text.encode())
    response = confirm_import(org_admin_client, ParticipantImport.objects.get())

    assert messages_of(response) == ["Imported 3 participants: 2 new, 1 updated."]
    people = {p.email: p for p in Participant.objects.filter(program=program)}
    assert _answers(program, people["ada@example.org"]) == {
        "level": ["Senior"],
        "langs": ["Python", "SQL"],
        "years": 12,
        "story": "Line one\nLine two",
        "skills": ["Python", "Mentoring"],
        "interests": ["Chess", "AI"],
    }
    # Grace's interests cell was blank: cleared; her goals had no column: kept.
    assert _answers(program, grace) == {
        "level": ["Junior"],
        "years": 3,
        "pitch": "Keen to learn",
        "goals": ["Speak up"],
    }
    assert _answers(program, people["linus@example.org"]) == {
        "langs": ["Go"],
        "skills": ["Mentoring"],
        "interests": ["AI"],
    }
    # Open questions took the new options once, spelt as they came first; the
    # closed ones took none. The program's questions changed, so their version too.
    assert _options(program, "skills") == ["Python", "Mentoring"]
    assert _options(program, "interests") == ["Chess", "AI"]
    assert _options(program, "level") == ["Junior", "Mid", "Senior"]
    assert _version(program) == version + 1

    upload_csv(
        org_admin_client,
        program,
        b"email,role,first_name,years,langs\nada@example.org,mentor,Ada,,Go\n",
    )
    confirm_import(org_admin_client, ParticipantImport.objects.get(status="preview"))
    assert _answers(program, people["ada@example.org"]) == {
        "level": ["Senior"],
        "langs": ["Go"],
        "story": "Line one\nLine two",
        "skills": ["Python", "Mentoring"],
        "interests": ["Chess", "AI"],
    }
    assert _version(program) == version + 1  # no option added


ANSWER_ERROR_CASES = [
    (
        "unknown option",
        "level",
        "Expert",
        "mentee",
        "“Level” has no option “Expert” (its options: Junior, Mid, Senior).",
    ),
    (
        "two answers to a single choice",
        "level",
        "Junior|Mid",
        "mentee",
        "“Level” takes one answer, not 2.",
    ),
    (
        "too many choices",
        "langs",
        "Python; SQL; Go",
        "mentor",
        "Pick at most 2 for “Languages”, not 3.",
    ),
    (
        "wrong type",
        "years",
        "five",
        "mentee",
        "“Years of experience” takes a whole number, not “five”.",
    ),
    ("out of range", "years", "99", "mentee", "“Years of experience” takes a number from 0 to 40."),
    (
        "wrong role",
        "langs",
        "Python",
        "mentee",
        "“Languages” is asked of mentors only, and this row is a mentee. Leave the cell blank.",
    ),
    ("text too long", "pitch", "p" * 201, "mentee", "“Pitch” takes at most 200 characters."),
]


@pytest.mark.parametrize(
    ("name", "column", "cell", "role", "reason"),
    ANSWER_ERROR_CASES,
    ids=[c[0] for c in ANSWER_ERROR_CASES],
)
def test_a_bad_answer_is_listed_by_line_column_and_question_and_nothing_is_written(
    org_admin_client, quiz, existing, name, column, cell, role, reason
):
    program = quiz
    before = participants_snapshot(program)
    answers_before = list(Answer.objects.values_list("id", flat=True))
    text = (
        f"email,role,first_name,interests,{column}\n"
        f"new@example.org,mentee,New,Brand new topic,\n"
        f"grace@example.org,{role},Grace,Chess,{cell}\n"
    )
    upload_csv(org_admin_client, program, text.encode())
    upload = ParticipantImport.objects.get()

    preview = org_admin_client.get(preview_url(upload))
    found = [(e.line, e.column, e.reason) for e in preview.context["preview"].parsed.row_errors]
    assert found == [(3, column, reason)]
    html = preview.content.decode()
    assert f"<td>{column}</td><td>{reason}</td>" in html.replace("&ldquo;", "“")
    response = confirm_import(org_admin_client, upload)

    assert "nothing was imported" in messages_of(response)[-1]
    assert participants_snapshot(program) == before
    assert list(Answer.objects.values_list("id", flat=True)) == answers_before
    assert "Brand new topic" not in _options(program, "interests")


def test_a_required_question_blank_or_without_a_column_refuses_new_people(
    org_admin_client, program, existing
):
    _ask(program, "track", Kind.SINGLE, "Track", options=("Tech", "People"), required=True)
    upload_csv(
        org_admin_client,
        program,
        b"email,role,first_name,track\nnew@example.org,mentee,New,\n",
    )
    upload = ParticipantImport.objects.get()
    preview = org_admin_client.get(preview_url(upload)).context["preview"]
    assert [(e.line, e.column, e.reason) for e in preview.parsed.row_errors] == [
        (2, "track", "“Track” is required, and this cell is blank.")
    ]

    # Without the column, Grace (known) keeps what she has; a new person could not answer.
    upload_csv(
        org_admin_client,
        program,
        b"email,role,first_name\ngrace@example.org,mentee,Grace\nnew@example.org,mentee,New\n",
    )
    upload = ParticipantImport.objects.get(
        filename="people.csv", status="preview", pk__gt=upload.pk
    )
    preview = org_admin_client.get(preview_url(upload)).context["preview"]
    assert [(e.line, e.column, e.reason) for e in preview.parsed.row_errors] == [
        (
            3,
            "track",
            "“Track” is required, and the file has no track column to answer it for this "
            "new participant.",
        )
    ]
    response = confirm_import(org_admin_client, upload)
    assert messages_of(response)[-1] == (
        "Nothing was imported. Line 3: “Track” is required, and the file has no track column "
        "to answer it for this new participant."
    )
    assert not Participant.objects.filter(email="new@example.org").exists()

    upload_csv(org_admin_client, program, b"email,role,first_name\ngrace@example.org,mentee,Gigi\n")
    confirm_import(
        org_admin_client, ParticipantImport.objects.filter(status="preview").latest("pk")
    )
    assert Participant.objects.get(email="grace@example.org").first_name == "Gigi"


def test_the_preview_shows_each_rows_answers(org_admin_client, quiz):
    text = QUIZ_HEADER + 'ada@example.org,mentor,Ada,Mid,"Go, sql",7,,,,\n'
    upload_csv(org_admin_client, quiz, text.encode())
    page = org_admin_client.get(preview_url(ParticipantImport.objects.get())).content.decode()
    assert '<th scope="col">Answers</th>' in page
    assert "<td>Level: Mid · Languages: Go, SQL · Years of experience: 7</td>" in page


def _rows(n: int) -> str:
    return "".join(
        f'p{i}@example.org,mentor,P{i},Mid,"Go; SQL",{i % 40},,"A story",Python,Topic{i % 3}\n'
        for i in range(n)
    )


def test_the_confirm_costs_the_same_queries_for_3_rows_as_for_60(org_admin_client, quiz, org):
    """Each program's first file: every answer is new, and so are the open options."""
    counts = []
    for program, n in ((quiz, 3), (_quiz_program(org), 60)):
        upload_csv(org_admin_client, program, (QUIZ_HEADER + _rows(n)).encode())
        upload = ParticipantImport.objects.get(program=program)
        with CaptureQueriesContext(connection) as queries:
            confirm_import(org_admin_client, upload)
        assert Answer.objects.filter(program=program).count() == n * 7
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def _quiz_program(org):
    return _with_quiz(factories.ProgramFactory(organization=org))


def test_the_copy_and_the_portable_path_write_the_same_answers(org, upsert_path):
    """Called directly, outside the views: apply_pg's COPY and the portable bulk writes."""
    text = QUIZ_HEADER + _rows(4) + "x@example.org,mentee,X,junior,,,Hi,,,topic1\n"
    written = []
    for upsert in (participants_copy_upsert, import_services._participants_bulk_upsert):
        program = _quiz_program(org)
        parsed = parse_import(text, default_mentor_capacity=2, questions=questions_of(program))
        assert parsed.is_valid
        with transaction.atomic():
            upsert(
                program=program,
                rows=parsed.rows,
                capacities=[2] * len(parsed.rows),
                update_fields=[*parsed.provided_fields, "updated_at"],
                questions=[q for q in questions_of(program) if q.key in parsed.answer_keys],
            )
        fresh = Program.objects.get(pk=program.pk)
        by_email = dict(Participant.objects.filter(program=program).values_list("pk", "email"))
        labels = answer_labels(fresh, answers_of(by_email))
        written.append(
            (
                {by_email[pid]: answers for pid, answers in labels.items()},
                _options(program, "interests"),
                fresh.questions_version,
            )
        )
    assert written[0] == written[1]
    answers, interests, version = written[0]
    assert answers["x@example.org"] == {"level": ["Junior"], "pitch": "Hi", "interests": ["Topic1"]}
    assert answers["p1@example.org"] == {
        "level": ["Mid"],
        "langs": ["Go", "SQL"],
        "years": 1,
        "story": "A story",
        "skills": ["Python"],
        "interests": ["Topic1"],
    }
    assert interests == ["Topic0", "Topic1", "Topic2"]
    assert version == Program._meta.get_field("questions_version").default + 1


# --- The template CSV and the column help ------------------------------------------------


def test_the_template_csv_has_every_column_and_an_example_per_role_that_imports(
    org_admin_client, quiz, django_assert_num_queries
):
    program = quiz
    # Options a spreadsheet would take for a formula, or that a cell would split, are
    # never the example; a scale reaching below zero gives 0.
    _ask(program, "band", Kind.SINGLE, "Band", options=("=SUM(1)", "-2 years", "A, B", "Core"))
    _ask(program, "mood", Kind.NUMBER, "Mood", min_value=-5, max_value=5, required=True)
    url = reverse("programs:import_template", args=[program.pk])
    # session, user, membership check, program, questions, options, then the
    # session's idle-timeout refresh (savepoint, update, release).
    with django_assert_num_queries(9):
        response = org_admin_client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="participants-template.csv"'
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0] == [
        "email", "role", "first_name", "last_name", "title", "department", "location", "bio",
        "manager_email", "capacity", "skills", "goals", "interests", "level", "langs", "years",
        "pitch", "story", "band", "mood",
    ]  # fmt: skip
    mentee, mentor = (dict(zip(rows[0], row, strict=True)) for row in rows[1:])
    assert (mentee["role"], mentor["role"]) == ("mentee", "mentor")
    assert (mentee["langs"], mentor["langs"]) == ("", "Python; SQL")  # mentors only, at most 2
    assert (mentee["pitch"], mentor["pitch"]) == ("A short answer", "")
    assert (mentee["level"], mentee["years"], mentee["band"], mentee["mood"]) == (
        "Junior",
        "0",
        "Core",
        "0",
    )
    assert mentor["capacity"] == str(program.default_mentor_capacity)
    for row in rows[1:]:
        assert not [c for c in row if c[:1] in ("=", "+", "-", "@")], row

    upload_csv(org_admin_client, program, response.content)
    upload = ParticipantImport.objects.get()
    assert org_admin_client.get(preview_url(upload)).context["preview"].parsed.row_errors == []
    response = confirm_import(org_admin_client, upload)
    assert messages_of(response) == ["Imported 2 participants: 2 new, 0 updated."]
    ada = Participant.objects.get(role="mentor")
    assert _answers(program, ada)["langs"] == ["Python", "SQL"]
    assert _answers(program, ada)["mood"] == 0


def test_the_template_of_a_new_program_imports_too(org_admin_client, program):
    response = org_admin_client.get(reverse("programs:import_template", args=[program.pk]))
    upload_csv(org_admin_client, program, response.content)
    response = confirm_import(org_admin_client, ParticipantImport.objects.get())
    assert messages_of(response) == ["Imported 2 participants: 2 new, 0 updated."]
    assert Participant.objects.get(role="mentee").department == "Research"


def test_the_template_csv_is_only_for_the_programs_admins(other_admin_client, program):
    url = reverse("programs:import_template", args=[program.pk])
    assert other_admin_client.get(url).status_code == 404
    assert other_admin_client.post(url).status_code == 404


def test_the_upload_page_lists_the_programs_questions(
    org_admin_client, quiz, django_assert_num_queries
):
    QuestionOption.objects.create(
        question=Question.objects.get(program=quiz, key="interests"), label="Chess"
    )
    url = reverse("programs:import_upload", args=[quiz.pk])
    # As the template CSV: whatever the number of questions and options.
    with django_assert_num_queries(9):
        response = org_admin_client.get(url)
    html = response.content.decode().replace("&#x27;", "'")
    rows = [
        ("skills", "Skills", "Everyone", "Multiple choice", "No options yet; new options are added."),
        ("goals", "Goals", "Everyone", "Multiple choice", "No options yet; new options are added."),
        ("interests", "Interests", "Everyone", "Multiple choice", "Any of: Chess; new options are added."),
        ("department", "Department", "Everyone", "Short text", "Text, up to 120 characters."),
        ("level", "Level", "Everyone", "Single choice", "One of: Junior, Mid, Senior."),
        ("langs", "Languages", "Mentors", "Multiple choice", "Any of: Python, SQL, Go; at most 2."),
        ("years", "Years of experience", "Everyone", "Number or scale", "A whole number from 0 to 40."),
        ("story", "Story", "Everyone", "Long text (shown, never matched)", "Text, up to 2,000 characters; may run over several lines."),
    ]  # fmt: skip
    for column, label, whom, kind, accepts in rows:
        assert (
            f"<tr><td><code>{column}</code></td><td>{label}</td><td>{whom}</td>"
            f"<td>{kind}</td><td>{accepts}</td></tr>"
        ) in html, column
    assert 'href="' + reverse("programs:import_template", args=[quiz.pk]) + '"' in html
