"""Page requests and pages of results."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from attrs import frozen

from tim.domain.model.fields import INT64_MAX, parse_int

T = TypeVar("T")
U = TypeVar("U")

MAX_PAGE_SIZE = 100


@frozen
class PageRequest:
    number: int = 0
    limit: int = MAX_PAGE_SIZE

    @classmethod
    def parse(cls, page: object = None, limit: object = None) -> PageRequest:
        """`page` >= 0 (default 0), `limit` 1..100 (default 100); never clamped."""
        return cls(
            number=0 if page is None else parse_int("page", page, minimum=0, maximum=INT64_MAX // MAX_PAGE_SIZE),
            limit=MAX_PAGE_SIZE if limit is None else parse_int("limit", limit, minimum=1, maximum=MAX_PAGE_SIZE),
        )

    @property
    def offset(self) -> int:
        return self.number * self.limit

    def slice(self, items: Sequence[T]) -> Page[T]:
        """This page of an already ordered sequence of every match."""
        return Page.of(items[self.offset : self.offset + self.limit], total=len(items), request=self)


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
        return Page(tuple(map(change, self.results)), self.total_results, self.current_page, self.has_more_pages)
