"""Page requests and pages of results: how a list is cut into pages.

Results have one order (newest first for images, alphabetical for tags);
page `number` of size `limit` holds the results ranked `number * limit` up
to, not including, `(number + 1) * limit`. A page past the end is empty;
`total_results` always counts every result, not just the page's.

A page may instead follow a key (keyset paging, what cursors carry): it
holds the first `limit` results that come after that key in the order, so
results added or removed elsewhere in the list never shift it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from attrs import field, frozen, validators

from tim.domain.model.errors import InvalidInput
from tim.domain.model.fields import INT64_MAX, parse_int

T = TypeVar("T")
U = TypeVar("U")

MAX_PAGE_SIZE = 100
# What the use cases ask for at once on their own (an export's batches).
MAX_BATCH = 1000
# So that every offset fits in 64 bits, as every store keeps integers.
MAX_PAGE_NUMBER = INT64_MAX // MAX_PAGE_SIZE


@frozen
class PageRequest:
    number: int = field(default=0, validator=[validators.instance_of(int), validators.ge(0), validators.le(MAX_PAGE_NUMBER)])
    limit: int = field(
        default=MAX_PAGE_SIZE, validator=[validators.instance_of(int), validators.ge(1), validators.le(MAX_BATCH)]
    )
    # The key of the result this page follows (keyset paging); `number` is then 0.
    after: tuple[int, ...] | None = field(default=None, validator=validators.optional(validators.instance_of(tuple)))

    def __attrs_post_init__(self) -> None:
        if self.after is not None and self.number:
            raise InvalidInput.of("cursor", "give a cursor or a page, not both")

    @classmethod
    def parse(cls, page: object = None, limit: object = None) -> PageRequest:
        """`page` >= 0 (default 0), `limit` 1..100 (default 100); never clamped."""
        return cls(
            number=0 if page is None else parse_int("page", page, minimum=0, maximum=MAX_PAGE_NUMBER),
            limit=MAX_PAGE_SIZE if limit is None else parse_int("limit", limit, minimum=1, maximum=MAX_PAGE_SIZE),
        )

    @classmethod
    def following(cls, after: tuple[int, ...], limit: int = MAX_PAGE_SIZE) -> PageRequest:
        return cls(limit=limit, after=after)

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
    # Where the next page starts, for lists that page by cursor (None: the last page).
    next_cursor: str | None = None

    @classmethod
    def of(cls, results: Sequence[T], *, total: int, request: PageRequest) -> Page[T]:
        return cls(
            results=tuple(results),
            total_results=total,
            current_page=request.number,
            has_more_pages=request.offset + request.limit < total,
        )

    @classmethod
    def following(cls, results: Sequence[T], *, total: int, earlier: int, request: PageRequest) -> Page[T]:
        """A keyset page, which `earlier` results come before: its number is
        the one it would have, were the list cut into pages of its size."""
        return cls(tuple(results), total, earlier // request.limit, earlier + len(results) < total)

    def map(self, change: Callable[[T], U]) -> Page[U]:
        return self.with_results(tuple(map(change, self.results)))

    def with_results(self, results: Sequence[U]) -> Page[U]:
        return Page(tuple(results), self.total_results, self.current_page, self.has_more_pages, self.next_cursor)

    def with_cursor(self, cursor: str | None) -> Page[T]:
        return Page(self.results, self.total_results, self.current_page, self.has_more_pages, cursor)


@frozen
class CursorPage(Generic[T]):
    """A page of a list that pages by cursor only (history): whether more
    follow, and where they start."""

    results: tuple[T, ...]
    has_more_pages: bool
    next_cursor: str | None = None
