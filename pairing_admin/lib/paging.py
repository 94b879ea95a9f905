"""Pages of a long list without reading the rows before the page twice."""

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet


class CountedPaginator(Paginator):
    """A paginator told how many rows there are (a count kept or read already), so it
    does not count them again; `count=None` counts as Django's does."""

    def __init__(self, object_list, per_page, *, count: int | None = None) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @property
    def count(self) -> int:
        if self._known_count is None:
            self._known_count = super().count
        return self._known_count


def page_by_ids(ids: QuerySet, rows: QuerySet, per_page: int, page_number, *, count=None) -> Page:
    """One page of `rows`, chosen by the page's ids in `ids` (the list's order).

    The database finds the page's ids by walking the list's index (through the
    rows before the page without reading them), then reads only those rows with
    their joins; asked for both at once, it may read every row and sort them
    to find a deep page. `rows` must give the same order as `ids`.
    """
    page = CountedPaginator(ids, per_page, count=count).get_page(page_number)
    page.object_list = list(rows.filter(pk__in=page.object_list))
    return page
