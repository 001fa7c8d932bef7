"""Where image records and tags are kept.

Each method is one transaction: it either happens completely or not at all,
so a use case that needs several writes to hold together (an image and its
new tags, a rename that must not collide) gets them from a single call.
Methods return plain domain values, never cursors or lazy results bound to a
connection.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from tim.domain.model.images import ImageRecord, NewImage
from tim.domain.model.paging import Page, PageRequest
from tim.domain.model.search import ImageQuery
from tim.domain.model.tags import Tag


class ImageRepository(Protocol):
    def add_image(self, image: NewImage) -> ImageRecord:
        """Store a new record with a fresh id (ids are never reused), creating
        any of its tags that do not exist yet."""

    def get_image(self, image_id: int) -> ImageRecord | None: ...

    def get_image_by_blob_key(self, blob_key: str) -> ImageRecord | None: ...

    def find_images(self, query: ImageQuery, page: PageRequest) -> Page[ImageRecord]:
        """The requested page of images matching `query`, newest first."""

    def set_image_tags(self, image_id: int, tag_names: Sequence[str]) -> ImageRecord | None:
        """Replace an image's tags with these names, creating missing tags.
        None if there is no such image."""

    def mark_uploaded(self, image_id: int, timestamp: int) -> ImageRecord | None:
        """Record that the file is stored. Keeps an earlier timestamp if one is
        set already. None if there is no such image."""

    def delete_image(self, image_id: int, *, pending_only: bool = False) -> ImageRecord | None:
        """Remove a record; returns what was removed, None if nothing was.
        With `pending_only`, only a record whose file is not stored (checked
        in the same transaction as the delete)."""

    def pending_images(self, created_before: int) -> Iterator[ImageRecord]:
        """Records whose file is not stored yet, created before a time
        (for sweeps; materialised in batches, no open cursor escapes)."""


class TagRepository(Protocol):
    def list_tags(self, page: PageRequest) -> Page[Tag]:
        """Tags in alphabetical order (case-folded name, then exact name)."""

    def add_tag(self, name: str) -> Tag:
        """Raises TagNameTaken if the name exists (case-sensitive)."""

    def get_tag(self, tag_id: int) -> Tag | None: ...

    def rename_tag(self, tag_id: int, name: str) -> Tag | None:
        """Raises TagNameTaken if another tag has the name; None if no such tag."""

    def delete_tag(self, tag_id: int) -> bool:
        """Remove the tag from every image, then the tag itself."""


class Repository(ImageRepository, TagRepository, Protocol):
    """Images and tags live together: image writes create tags."""

    def close(self) -> None: ...
