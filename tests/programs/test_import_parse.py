"""The CSV reader on its own: no database, no HTTP."""

import itertools

import pytest

from programs.imports.parse import ImportFileError, decode_upload, parse_import
from programs.models import Question, QuestionOption


def _parse(text: str):
    return parse_import(text, default_mentor_capacity=4)


def _errors(text: str) -> list[tuple[int, str, str]]:
    return [(e.line, e.column, e.reason) for e in _parse(text).row_errors]


@pytest.mark.parametrize(
    "cell",
    ["=1+1", "+44 20", "@SUM(A1)", "-2+3", "-(1)", "-A1", "-SUM(A1:A2)", " =cmd", "\tx", "\rx"],
)
def test_formula_looking_cells_are_refused(cell):
    text = 'email,role,first_name,title\na@example.org,mentee,Ann,"' + cell + '"\n'
    assert _errors(text) == [(2, "title", "looks like a spreadsheet formula")]


@pytest.mark.parametrize("cell", ["- mentoring", "Senior engineer", "-", "Anne-Marie", "C++ dev"])
def test_ordinary_text_is_not_mistaken_for_a_formula(cell):
    text = f"email,role,first_name,title\na@example.org,mentee,Ann,{cell}\n"
    parsed = _parse(text)
    assert parsed.row_errors == []
    assert parsed.rows[0]["title"] == cell


def test_headers_are_case_and_separator_insensitive():
    parsed = _parse(
        "E-mail,ROLE,First Name,last-name,Manager Email\nA@x.org,Mentor,Ann,Lee,B@X.org\n"
    )
    accepted = (
        "Accepted columns are: email, role, first_name, last_name, title, department, location,"
        " bio, manager_email, capacity, name, skills, goals, interests."
    )
    assert parsed.file_errors == [
        f"Unknown column: e_mail. {accepted}",
        f"Missing required column: email. {accepted}",
    ]
    parsed = _parse(
        "Email,ROLE,First Name,last-name,Manager Email\nA@x.org,Mentor,Ann,Lee,B@X.org\n"
    )
    assert parsed.file_errors == []
    assert parsed.rows == [
        {
            "email": "a@x.org",
            "role": "mentor",
            "first_name": "Ann",
            "last_name": "Lee",
            "manager_email": "b@x.org",
        }
    ]
    assert parsed.provided_fields == ["role", "first_name", "last_name", "manager_email"]


def test_name_column_is_split_on_the_first_space():
    parsed = _parse("email,role,name\na@x.org,mentee,Mary  Ann   de Souza\nb@x.org,mentee,Cher\n")
    assert [(r["first_name"], r["last_name"]) for r in parsed.rows] == [
        ("Mary", "Ann de Souza"),
        ("Cher", ""),
    ]


def test_name_and_first_name_together_are_a_file_error():
    parsed = _parse("email,role,name,first_name\na@x.org,mentee,A B,A\n")
    assert parsed.file_errors == [
        "Use either a name column or first_name and last_name columns, not both."
    ]


def test_semicolon_delimiter_is_detected_from_the_header():
    parsed = _parse('email;role;first_name;interests\na@x.org;mentee;Ann;"x, y"\n')
    assert parsed.rows[0]["interests"] == ["x", "y"]


def test_capacity_defaults_by_role_when_blank():
    parsed = _parse(
        "email,role,first_name,capacity\na@x.org,mentor,A,\nb@x.org,mentee,B,\nc@x.org,mentor,C,0\n"
    )
    assert [r["capacity"] for r in parsed.rows] == [4, 0, 0]


def test_error_lines_are_the_physical_line_where_the_record_starts():
    text = (
        "email,role,first_name,bio\n"
        "\n"
        'a@x.org,mentee,Ann,"two\nlines"\n'
        "b@x.org,boss,Bob,\n"
        'c@x.org,mentee,Cy,"x\r\ny"\n'
        "bad,mentee,Di,\n"
    )
    assert _errors(text) == [
        (5, "role", "“boss” must be mentee or mentor"),
        (8, "email", "“bad” is not a valid email address"),
    ]


def test_short_rows_count_as_blank_cells():
    assert _errors("email,role,first_name,title\na@x.org,mentee\n") == [
        (2, "first_name", "is missing")
    ]


def test_decode_strips_the_bom_and_refuses_other_encodings():
    assert decode_upload("\ufeffemail\n".encode()) == "email\n"
    with pytest.raises(ImportFileError, match="not UTF-8"):
        decode_upload("é".encode("cp1252"))
    with pytest.raises(ImportFileError, match="binary data"):
        decode_upload(b"PK\x03\x04\x00\x00")


def test_newlines_in_title_department_and_location_become_spaces_but_bio_keeps_them():
    text = (
        "email,role,first_name,last_name,title,department,location,bio\n"
        'a@example.org,mentee,Ann,Lee,"Lead\tengineer",'
        '"Data\n\nScience","New\r\nYork","Line one\nLine two"\n'
    )
    parsed = _parse(text)
    assert parsed.file_errors == [] and parsed.row_errors == []
    row = parsed.rows[0]
    assert row["title"] == "Lead engineer"
    assert (row["department"], row["location"]) == ("Data Science", "New York")
    assert row["bio"] == "Line one\nLine two"


# A name, an email, a role or a capacity never runs over lines: a line break
# in one is a quote left open, the next rows read into the cell.
@pytest.mark.parametrize(
    ("header", "row", "column"),
    [
        ("email,role,first_name", 'a@example.org,mentee,"Ann\nBcc: x@evil.test"', "first_name"),
        (
            "email,role,first_name,last_name",
            'a@example.org,mentee,Ann,"Lee\r\n Smith"',
            "last_name",
        ),
        ("email,role,name", 'a@example.org,mentee,"Ann\nvan  Lee"', "name"),
        ("email,role,first_name", '"a@example.org\n",mentee,Ann', "email"),
        ("email,role,first_name", 'a@example.org,"mentee\n",Ann', "role"),
        ("email,role,first_name,capacity", 'a@example.org,mentor,Ann,"3\n"', "capacity"),
        ("email,role,first_name,manager_email", 'a@x.org,mentee,Ann,"b@x.org\n"', "manager_email"),
    ],
)
def test_a_line_break_in_a_one_line_column_refuses_the_file(header, row, column):
    parsed = _parse(f"{header}\nz@example.org,mentee,Zoe\n\n{row}\nb@example.org,mentee,Bob\n")
    assert parsed.file_errors == [
        f'Line 4: the {column} cell opens a quote (") that closes only on line 5, so the '
        "lines between were read into that one cell. Close the quote where the cell ends (or "
        "remove it) and upload the file again; nothing was imported."
    ]
    assert parsed.rows == [] and parsed.row_errors == [] and not parsed.is_valid


# --- Answers to the program's questions ------------------------------------------------

_ids = itertools.count(1)


def _question(key, kind, label, *, audience="everyone", options=(), **fields) -> Question:
    """An unsaved question as questions_of gives it (with its option_list)."""
    question = Question(
        pk=next(_ids),
        key=key,
        label=label,
        text=f"{label}?",
        audience=audience,
        kind=kind,
        **fields,
    )
    question.option_list = [
        QuestionOption(pk=next(_ids), question=question, label=option, position=n)
        for n, option in enumerate(options)
    ]
    return question


Kind = Question.Kind
QUESTIONS = [
    _question("level", Kind.SINGLE, "Level", options=("Junior", "Mid", "Senior")),
    _question(
        "langs",
        Kind.MULTIPLE,
        "Languages",
        audience="mentor",
        options=("Python", "SQL", "Go"),
        max_choices=2,
    ),
    _question("tools", Kind.MULTIPLE, "Tools", options=("Git",), open_options=True),
    _question("years", Kind.NUMBER, "Years of experience", min_value=0, max_value=40),
    _question("pitch", Kind.SHORT_TEXT, "Pitch", audience="mentee"),
    _question("story", Kind.LONG_TEXT, "Story"),
    _question(
        "track", Kind.SINGLE, "Track", audience="mentee", options=("Tech", "People"), required=True
    ),
]
HEADER = "email,role,first_name,level,langs,tools,years,pitch,story,track\n"


def _asked(text: str, questions=QUESTIONS):
    return parse_import(text, default_mentor_capacity=2, questions=questions)


def test_every_kind_of_question_is_read_from_its_column():
    parsed = _asked(
        HEADER
        + 'a@x.org,mentor,Ann,SENIOR,"python| sql",git; Docker;GIT,12,,"Line one\nLine two",\n'
        + "b@x.org,mentee,Bob,mid,,,0,Keen  to   learn,,people\n"
    )
    assert parsed.file_errors == [] and parsed.row_errors == []
    ann, bob = parsed.rows
    # Options as the program spells them, the new one as written, duplicates dropped.
    assert (ann["level"], ann["langs"], ann["tools"]) == (
        ["Senior"],
        ["Python", "SQL"],
        ["Git", "Docker"],
    )
    assert (ann["years"], ann["pitch"], ann["story"], ann["track"]) == (
        12,
        None,
        "Line one\nLine two",
        None,
    )
    assert (bob["level"], bob["langs"], bob["tools"], bob["years"]) == (["Mid"], None, None, 0)
    assert (bob["pitch"], bob["track"]) == ("Keen to learn", ["People"])
    assert parsed.answer_keys == ["level", "langs", "tools", "years", "pitch", "story", "track"]
    assert parsed.provided_fields == ["role", "first_name"]


def test_only_the_question_columns_in_the_file_are_answer_keys():
    parsed = _asked("email,role,first_name,years\na@x.org,mentor,Ann,3\n")
    assert parsed.answer_keys == ["years"]
    assert parsed.rows == [{"email": "a@x.org", "role": "mentor", "first_name": "Ann", "years": 3}]


BAD_CELLS = [
    (
        "unknown option",
        "level",
        "Expert",
        "“Level” has no option “Expert” (its options: Junior, Mid, Senior).",
    ),
    ("two answers to a single choice", "level", "Junior; Mid", "“Level” takes one answer, not 2."),
    ("too many choices", "langs", "Python, SQL, Go", "Pick at most 2 for “Languages”, not 3."),
    ("not a number", "years", "five", "“Years of experience” takes a whole number, not “five”."),
    (
        "not a whole number",
        "years",
        "2.5",
        "“Years of experience” takes a whole number, not “2.5”.",
    ),
    ("above the range", "years", "41", "“Years of experience” takes a number from 0 to 40."),
    ("below the range", "years", "-1", "“Years of experience” takes a number from 0 to 40."),
    ("text too long", "story", "x" * 2001, "“Story” takes at most 2000 characters."),
    (
        "new option too long",
        "tools",
        "y" * 121,
        "An answer to “Tools” is at most 120 characters.",
    ),
    ("formula", "tools", "=HYPERLINK(1)", "looks like a spreadsheet formula"),
]


@pytest.mark.parametrize(
    ("name", "column", "cell", "reason"), BAD_CELLS, ids=[c[0] for c in BAD_CELLS]
)
def test_a_bad_answer_is_a_row_error_naming_the_question(name, column, cell, reason):
    text = f'email,role,first_name,{column}\nok@x.org,mentor,Ok,\nb@x.org,mentor,Bob,"{cell}"\n'
    parsed = _asked(text)
    assert _row_errors(parsed) == [(3, column, reason)]
    assert parsed.rows == [
        {"email": "ok@x.org", "role": "mentor", "first_name": "Ok", column: None}
    ]
    assert not parsed.is_valid


def _row_errors(parsed):
    return [(e.line, e.column, e.reason) for e in parsed.row_errors]


def test_an_answer_to_a_question_not_asked_of_the_rows_role_is_refused():
    parsed = _asked(
        "email,role,first_name,langs,pitch,track\n"
        "a@x.org,mentee,Ann,Python,Hello,Tech\n"
        "b@x.org,mentor,Bob,Python,Hello,\n"
        "c@x.org,mentor,Cy,Go,,\n"
    )
    assert _row_errors(parsed) == [
        (
            2,
            "langs",
            "“Languages” is asked of mentors only, and this row is a mentee. Leave the cell blank.",
        ),
        (
            3,
            "pitch",
            "“Pitch” is asked of mentees only, and this row is a mentor. Leave the cell blank.",
        ),
    ]
    assert [r["email"] for r in parsed.rows] == ["c@x.org"]


def test_a_required_question_left_blank_is_refused_only_for_the_role_it_is_asked_of():
    parsed = _asked("email,role,first_name,track\na@x.org,mentee,Ann, \nb@x.org,mentor,Bob,\n")
    assert _row_errors(parsed) == [(2, "track", "“Track” is required, and this cell is blank.")]
    assert [r["email"] for r in parsed.rows] == ["b@x.org"]


def test_a_row_with_an_unknown_role_is_not_also_judged_by_audience():
    parsed = _asked("email,role,first_name,langs,track\na@x.org,coach,Ann,Python,\n")
    assert _row_errors(parsed) == [(2, "role", "“coach” must be mentee or mentor")]


def test_the_header_accepts_the_question_keys_and_lists_them_when_one_is_unknown():
    parsed = _asked("email,role,first_name,Years,skills\na@x.org,mentor,Ann,3,Python\n")
    assert parsed.file_errors == [
        "Unknown column: skills. Accepted columns are: email, role, first_name, last_name, "
        "title, department, location, bio, manager_email, capacity, name, level, langs, tools, "
        "years, pitch, story, track."
    ]


def test_a_negative_number_answer_is_a_number_not_a_formula():
    scale = [_question("mood", Kind.NUMBER, "Mood", min_value=-5, max_value=5)]
    parsed = _asked("email,role,first_name,mood,title\na@x.org,mentee,Ann,-3,-3\n", scale)
    assert _row_errors(parsed) == [(2, "title", "looks like a spreadsheet formula")]
    parsed = _asked("email,role,first_name,mood\na@x.org,mentee,Ann,-3\n", scale)
    assert parsed.rows[0]["mood"] == -3


def test_the_department_question_is_the_record_column_under_either_name():
    required = [
        _question("dept", Kind.SHORT_TEXT, "Department", profile_field="department", required=True)
    ]
    parsed = _asked("email,role,first_name,Dept\na@x.org,mentee,Ann,Sales\n", required)
    assert parsed.rows[0]["department"] == "Sales"
    assert parsed.provided_fields == ["role", "first_name", "department"]
    assert parsed.answer_keys == []
    parsed = _asked("email,role,first_name,department\na@x.org,mentee,Ann,\n", required)
    assert _row_errors(parsed) == [
        (2, "department", "“Department” is required, and this cell is blank.")
    ]
    parsed = _asked("email,role,department,first_name,dept\na@x.org,mentee,A,Ann,B\n", required)
    assert parsed.file_errors == ["These columns appear more than once: department."]


def test_without_questions_the_file_is_read_as_a_new_programs_defaults_ask():
    parsed = _parse(
        "email,role,first_name,skills,goals,interests\n"
        "a@x.org,mentor,Ann,Python; SQL,,AI\n"
        "b@x.org,mentee,Bob,,Lead a team,AI\n"
    )
    assert parsed.row_errors == []
    assert [(r["skills"], r["goals"], r["interests"]) for r in parsed.rows] == [
        (["Python", "SQL"], None, ["AI"]),
        (None, ["Lead a team"], ["AI"]),
    ]
