"""Reading ids and search text from query strings and forms, safely.

A URL can carry anything: "²" passes str.isdigit() but int() refuses it, a
30-digit id overflows SQLite and PostgreSQL's bigint, and PostgreSQL refuses
text containing NUL. These helpers turn all of that into "nothing asked"
instead of a 500.
"""

from collections.abc import Iterable

_MAX_ID_DIGITS = 18  # below 2**63: any row id of ours, never an overflow


def row_id(value) -> int | None:
    """A row id from a query or form value; None for anything else."""
    text = str(value or "")
    if text.isascii() and text.isdigit() and len(text) <= _MAX_ID_DIGITS:
        return int(text)
    return None


def row_ids(values: Iterable, *, limit: int | None = None) -> list[int]:
    """The valid row ids among `values`, each once, in the order given (at most `limit`)."""
    out = []
    for value in values:
        pk = row_id(value)
        if pk is not None:
            out.append(pk)
    out = list(dict.fromkeys(out))
    return out if limit is None else out[:limit]


def search_text(value, *, max_length: int = 100) -> str:
    """What someone typed in a search box: trimmed, shortened, without NUL characters."""
    return str(value or "").replace("\x00", "").strip()[:max_length]
