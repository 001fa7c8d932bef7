"""Page requests and pages of results: how a list is cut into pages.

Results have one order (newest first for images, alphabetical for tags);
page `number` of size `limit` holds the results ranked `number * limit` up
to, not including, `(number + 1) * limit`. A page past the end is empty;
`total_results` always counts every result, not just the page's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from attrs import field, frozen, validators

from tim.domain.model.fields import INT64_MAX, parse_int

T = TypeVar("T")
U = TypeVar("U")

MAX_PAGE_SIZE = 100
# So that every offset fits in 64 bits, as every store keeps integers.
MAX_PAGE_NUMBER = INT64_MAX // MAX_PAGE_SIZE


@frozen
class PageRequest:
    number: int = field(default=0, validator=[validators.instance_of(int), validators.ge(0), validators.le(MAX_PAGE_NUMBER)])
    limit: int = field(
        default=MAX_PAGE_SIZE, validator=[validators.instance_of(int), validators.ge(1), validators.le(MAX_PAGE_SIZE)]
    )

    @classmethod
    def parse(cls, page: object = None, limit: object = None) -> PageRequest:
        """`page` >= 0 (default 0), `limit` 1..100 (default 100); never clamped."""
        return cls(
            number=0 if page is None else parse_int("page", page, minimum=0, maximum=MAX_PAGE_NUMBER),
            limit=MAX_PAGE_SIZE if limit is None else parse_int("limit", limit, minimum=1, maximum=MAX_PAGE_SIZE),
        )

    @property
    def offset(self) -> int:
        return self.number * self.limit

    def window(self, total: int) -> range:
        """The ranks (0 = first result) on this page, of `total` results."""
        return range(min(self.offset, total), min(self.offset + self.limit, total))

    def slice(self, items: Sequence[T]) -> Page[T]:
        """This page of an already ordered sequence of every result."""
        ranks = self.window(len(items))
        return Page.of(items[ranks.start : ranks.stop], total=len(items), request=self)


@frozen
class Page(Generic[T]):
    results: tuple[T, ...]
    total_results: int
    current_page: int
    has_more_pages: bool

    @classmethod
    def of(cls, results: Sequence[T], *, total: int, request: PageRequest) -> Page[T]:
        return cls(
            results=tuple(results),
            total_results=total,
            current_page=request.number,
            has_more_pages=request.offset + request.limit < total,
        )

    def map(self, change: Callable[[T], U]) -> Page[U]:
        return self.with_results(tuple(map(change, self.results)))

    def with_results(self, results: Sequence[U]) -> Page[U]:
        return Page(tuple(results), self.total_results, self.current_page, self.has_more_pages)
