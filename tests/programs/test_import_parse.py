"""The CSV reader on its own: no database, no HTTP."""

import pytest

from programs.imports.parse import ImportFileError, decode_upload, parse_import


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
        " skills, interests, goals, bio, manager_email, capacity, name."
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
    parsed = _parse('email;role;first_name;skills\na@x.org;mentee;Ann;"x, y"\n')
    assert parsed.rows[0]["skills"] == ["x", "y"]


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
