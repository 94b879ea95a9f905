"""The admin lists' search box: every word typed must match one of the fields.

"Ann Lee" finds the person whose first name holds "Ann" and last name "Lee",
which one `icontains` on the whole text never would.
"""

from collections.abc import Sequence

from django.db.models import Q

# More words than this are ignored: each one adds an OR of every field to the query.
MAX_WORDS = 5


def search_words(query: str) -> list[str]:
    """The words of a search that count (blank: none)."""
    return query.split()[:MAX_WORDS]


def words_filter(query: str, fields: Sequence[str]) -> Q:
    """A filter where each word of `query` is in one of `fields`, ignoring case.

    An empty `Q()` (no filter) for a blank query.
    """
    condition = Q()
    for word in search_words(query):
        either = Q()
        for field in fields:
            either |= Q(**{f"{field}__icontains": word})
        condition &= either
    return condition
