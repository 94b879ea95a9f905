"""Pages of large tables: the page's ids from an index first, then only those rows.

Django's Paginator slices the query, so page 1,000 of a log makes the database
read (and throw away) 49,950 whole rows to return 50. `IdPaginator` finds the
page's ids with the same filters and order, which an index covering them
answers without touching the table, and then reads the 50 rows by id. It can
also be handed the total when the caller already knows it (a status count
read for the page's tabs), which saves the count query, or told to count no
further than `count_limit` (a search: "1,000+ emails"), so a search that
matches little does not read every row twice.
"""

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property


class IdPaginator(Paginator):
    def __init__(
        self,
        object_list: QuerySet,
        per_page: int,
        *,
        count: int | None = None,
        count_limit: int | None = None,
    ) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count
        self._count_limit = count_limit
        self.bounded = False  # True when there are more than `count` rows

    @cached_property
    def count(self) -> int:
        if self._known_count is not None:
            return self._known_count
        rows = self.object_list.order_by()
        if self._count_limit is None:
            return rows.count()
        found = rows.values("pk")[: self._count_limit + 1].count()
        self.bounded = found > self._count_limit
        return min(found, self._count_limit)

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = {row.pk: row for row in self.object_list.order_by().filter(pk__in=ids)}
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)


class _SlicedIdPaginator(IdPaginator):
    """IdPaginator's counting, Django's lazy slice of the ids for the page."""

    page = Paginator.page


def page_by_ids(ids: QuerySet, rows: QuerySet, per_page: int, number, *, count=None) -> Page:
    """One page of `rows`, chosen by the page's ids in `ids` (the list's order), in one query.

    For a list whose order and filters live in another table than its rows (the
    Unpaired sub-tabs walk the mentees' standings, then read the participants):
    the page's ids are a subquery of `ids`, sliced, which the database answers
    from the index that holds the order, and only those rows are read, with
    their joins. `rows` must give the same order as `ids`; `count` as IdPaginator.
    """
    page = _SlicedIdPaginator(ids, per_page, count=count).get_page(number)
    page.object_list = list(rows.filter(pk__in=page.object_list))
    return page
