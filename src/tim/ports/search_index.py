"""The search index: which images a query selects, and in what order."""

from __future__ import annotations

from typing import Protocol

from collections.abc import Sequence

from tim.domain.model.images import ImageRecord
from tim.domain.model.paging import Page, PageRequest
from tim.domain.model.search import ImageQuery
from tim.domain.model.tags import TagListing, TagRecord
from tim.ports.repository import CatalogView


class SearchIndex(Protocol):
    """Answers every image list and search from a structure derived from the
    catalogue. Before answering, it catches up with the view's change feed,
    so it answers for exactly the snapshot the view shows."""

    def search(self, view: CatalogView, query: ImageQuery, page: PageRequest) -> Page[ImageRecord]:
        """The requested page of images matching `query` as the view's
        aliases resolve it (ImageQuery.resolved), newest first
        (created_timestamp, then id, descending), as the view shows them,
        with the exact total. A page that follows a key (created_timestamp,
        id) holds the matches older than that key, at the cost of any page."""

    def tags(self, view: CatalogView, listing: TagListing, page: PageRequest) -> Page[TagRecord]:
        """The requested page of the tags the listing shows, in its order
        (TagListing.select), with their image counts and aliases."""

    def tag_records(self, view: CatalogView, ids: Sequence[int] | None = None) -> list[TagRecord]:
        """The records of the tags with these ids that exist (None: of every tag)."""

    def refresh(self, view: CatalogView) -> None:
        """Catch up with the view (building from the tables if need be)."""
