"""Spreadsheet-safe CSV: the formula guard (`safe_cell`, and the same rule as a regular
expression PostgreSQL can run), the byte-order mark Excel needs, the csv writer in blocks."""

import csv
import re
from collections.abc import Iterable, Iterator

CHUNK = 2000
BOM = "\ufeff"
# Where a line of a cell begins: str.splitlines() ends a line at each of these.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
# What a spreadsheet may skip before a formula sign: every character str.isspace()
# calls a space (NBSP and the other Unicode spaces included).
SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# A spreadsheet treats a cell starting with one of these as a formula.
FORMULA_START = "=+-@"


def _danger_pattern(nul: bool) -> str:
    """The rule of `safe_cell` as a regular expression (Python's and PostgreSQL's alike).

    Dangerous: a cell starting with CR; a line (the cell's first, or any after a
    line break) starting with tab or NUL, or whose first non-space character is
    a formula sign. PostgreSQL text cannot hold NUL, so its pattern leaves it out.
    """
    control = "\t\0" if nul else "\t"
    return f"^\r|(?:^|[{LINE_BREAKS}])(?:[{control}]|[{SPACES}]*[-=+@])"


DANGER = re.compile(_danger_pattern(nul=True))
PG_DANGER = _danger_pattern(nul=False)
# The same test over several cells joined by LF: a cell starting with CR is
# dangerous, and after the joining LF it is no longer at the start.
SUSPECT_JOINED = PG_DANGER + "|\n\r"
_BREAK = re.compile(f"[{LINE_BREAKS}]")


def safe_cell(value: object) -> str:
    """The cell as text, with a leading ' when a spreadsheet could read it as a formula.

    Dangerous: a first character of tab, CR or NUL, or a first non-blank
    character of = + - @; in a multi-line cell, any line that starts so
    (lines end where str.splitlines() ends them). PostgreSQL exports apply the
    same rule in SQL (`PG_DANGER`); tests hold the two to the same output.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not text:
        return text
    # Fast path for the common cell: starts with a letter or digit and holds one line.
    if text[0].isalnum() and _BREAK.search(text) is None:
        return text
    return "'" + text if DANGER.search(text) else text


class _Echo:
    """A file-like object that hands back what csv.writer writes."""

    def write(self, value: str) -> str:
        return value


def csv_stream(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """BOM and header, then the rows in blocks of text (each cell made safe).

    The portable path (SQLite, and the reference the PostgreSQL path is tested
    against).
    """
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([safe_cell(h) for h in header])
    block: list[str] = []
    for row in rows:
        block.append(writer.writerow([safe_cell(cell) for cell in row]))
        if len(block) >= 500:
            yield "".join(block)
            block = []
    if block:
        yield "".join(block)
