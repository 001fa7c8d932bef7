"""The search index: which images a query selects, and in what order."""

from __future__ import annotations

from typing import Protocol

from tim.domain.model.images import ImageRecord
from tim.domain.model.paging import Page, PageRequest
from tim.domain.model.search import ImageQuery
from tim.ports.repository import CatalogView


class SearchIndex(Protocol):
    """Answers every image list and search from a structure derived from the
    catalogue. Before answering, it catches up with the view's change feed,
    so it answers for exactly the snapshot the view shows."""

    def search(self, view: CatalogView, query: ImageQuery, page: PageRequest) -> Page[ImageRecord]:
        """The requested page of images matching `query`, newest first
        (created_timestamp, then id, descending), as the view shows them,
        with the exact total."""

    def refresh(self, view: CatalogView) -> None:
        """Catch up with the view (building from the tables if need be)."""
