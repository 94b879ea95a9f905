"""Small text rules shared by the apps."""

import re

# Explicit bidirectional formatting characters: embeddings and overrides
# (U+202A-U+202E) and isolates (U+2066-U+2069). Each reorders the text that
# follows it, so a name holding a right-to-left override shows "Ann\u202egpj.exe"
# as "Annexe.jpg" and can flip the rest of an email line. Nobody types them;
# right-to-left scripts display correctly without them.
BIDI_FORMATTING = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Directional marks (left-to-right, right-to-left, Arabic letter mark) only
# set the direction of the characters beside them. Writers of right-to-left
# prose use them, so longer text keeps them; a name or a one-line field never
# needs them.
BIDI_MARKS = "\u200e\u200f\u061c"
BIDI_FORMATTING_RE = "[" + BIDI_FORMATTING + "]"
BIDI_ALL_RE = "[" + BIDI_FORMATTING + BIDI_MARKS + "]"
_FORMATTING = re.compile(BIDI_FORMATTING_RE)
_ALL = re.compile(BIDI_ALL_RE)


def without_bidi(value: str, *, keep_marks: bool = False) -> str:
    """The value without bidirectional controls (with its marks, if asked)."""
    return (_FORMATTING if keep_marks else _ALL).sub("", value)


def one_line(value: str) -> str:
    """Every run of whitespace, newlines included, as one space; trimmed; and no
    bidirectional controls (names and one-line fields go into email headers and
    subjects). The cleaning every form and the import apply to one-line input."""
    return " ".join(without_bidi(value).split())


def multi_line(value: str) -> str:
    """Longer text (a bio, a note, a decline message) keeps its lines and its
    directional marks, not the controls that reorder text."""
    return without_bidi(value, keep_marks=True)
