"""Where image records and tags are kept: the catalogue's storage.

Each write is one transaction: it either happens completely or not at all,
so a use case that needs several writes to hold together (an image and its
new tags, a rename that must not collide) gets them from a single call.
Each write also records its changes in the change feed, in the same
transaction (see tim.domain.model.changes). Methods return plain domain
values, never cursors or lazy results bound to a connection, except inside
a `read()` block, which is one snapshot of the catalogue.

Every write that changes what an image carries also records history events
(tim.domain.model.history) in its transaction. Writes made for a caller take
an `actor` (who and when); without one, the change is tim's own, now.

Aliases: a merged tag's name resolves to the tag it was merged into. A name
is a tag's or an alias's, never both. Image inputs (add_image,
set_image_tags, edit_image_tags) naming an alias mean its tag; add_tag and
rename_tag with an alias's name raise TagNameTaken with the tag it resolves to.

Repositories do not search: the search index does, from what a view shows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from tim.domain.model.changes import FeedEntry, FeedPosition
from tim.domain.model.facts import FileFacts
from tim.domain.model.edits import TagEdit
from tim.domain.model.history import Actor, Event, HistoryQuery
from tim.domain.model.images import ImageRecord, NewImage
from tim.domain.model.paging import Page, PageRequest
from tim.domain.model.tags import Tag


class CatalogView(Protocol):
    """One consistent read of the catalogue: every method sees the same
    snapshot, taken at the first call."""

    def feed_position(self) -> FeedPosition:
        """The feed's epoch and the sequence number of its last change."""

    def changes_after(self, seq: int, limit: int) -> Sequence[FeedEntry]:
        """Up to `limit` changes after `seq`, in order. Old changes are
        trimmed: a follower that finds the first one is not `seq + 1`
        must rebuild from the tables."""

    def images(self, ids: Sequence[int]) -> list[ImageRecord]:
        """The records with these ids, with their tags, in the order given."""

    # What a search index is built from.

    def image_keys(self) -> tuple[Sequence[int], Sequence[int]]:
        """The ids of every image, ascending, and the created_timestamp of each."""

    def uploaded_image_ids(self) -> Sequence[int]:
        """The ids of the images whose file is stored, ascending."""

    def image_ids_by_creator(self) -> Iterator[tuple[str, Sequence[int]]]:
        """Each creator with the ids of the images it created."""

    def tags(self) -> Sequence[Tag]:
        """Every tag."""

    def image_ids_by_tag(self) -> Iterator[tuple[int, Sequence[int]]]:
        """Each tag's id with the ids of its images (tags with images only)."""

    def aliases(self) -> Sequence[tuple[str, int]]:
        """Every alias with the id of the tag it resolves to."""


class ImageRepository(Protocol):
    def read(self) -> AbstractContextManager[CatalogView]:
        """A snapshot of the catalogue, for as long as the block lasts (keep it short)."""

    def add_image(self, image: NewImage) -> ImageRecord:
        """Store a new record with a fresh id (ids are never reused), creating
        any of its tags that do not exist yet."""

    def get_image(self, image_id: int) -> ImageRecord | None: ...

    def get_image_by_blob_key(self, blob_key: str) -> ImageRecord | None: ...

    def set_image_tags(
        self, image_id: int, tag_names: Sequence[str], *, actor: Actor | None = None
    ) -> ImageRecord | None:
        """Replace an image's tags with these names, creating missing tags.
        None if there is no such image."""

    def edit_image_tags(self, image_ids: Sequence[int], edit: TagEdit, *, actor: Actor, via: str) -> int:
        """Apply the edit to every one of the images (TagEdit.applied), or,
        if any of them does not exist, to none: ImagesNotFound names those.
        Concurrent edits of one image take turns, so none is lost. Returns
        how many of the images' tag sets changed. `via` is what history
        says the edit came through ("edit" or "bulk")."""

    def mark_uploaded(self, image_id: int, timestamp: int, facts: FileFacts | None = None) -> ImageRecord | None:
        """Record that the file is stored, with what its bytes showed (in the
        same transaction, so an uploaded record never lacks them). Keeps an
        earlier timestamp and facts if set already. None if there is no such
        image."""

    def images_with_sha256(self, sha256: str) -> list[ImageRecord]:
        """The records whose sha256 is this one (stored files with these
        bytes, and pending uploads that declared them); an indexed lookup."""

    def delete_image(
        self, image_id: int, *, pending_only: bool = False, actor: Actor | None = None
    ) -> ImageRecord | None:
        """Remove a record; returns what was removed, None if nothing was
        (so of two racing deletes, exactly one gets the record). With
        `pending_only`, only a record whose file is not stored (checked in
        the same transaction as the delete)."""

    def pending_images(self, created_before: int) -> Iterator[ImageRecord]:
        """Records whose file is not stored yet, created before a time
        (for sweeps; materialised in batches, no open cursor escapes)."""


class TagRepository(Protocol):
    def list_tags(self, page: PageRequest) -> Page[Tag]:
        """Tags in alphabetical order (case-folded name, then exact name)."""

    def add_tag(self, name: str) -> Tag:
        """Raises TagNameTaken if the name exists (case-sensitive)."""

    def get_tag(self, tag_id: int) -> Tag | None: ...

    def rename_tag(self, tag_id: int, name: str, *, actor: Actor | None = None) -> Tag | None:
        """Raises TagNameTaken if another tag or an alias has the name; None if no such tag."""

    def delete_tag(self, tag_id: int, *, actor: Actor | None = None) -> bool:
        """Remove the tag from every image, then the tag itself and its aliases."""

    def merge_tags(self, source: int, into: int, *, actor: Actor | None = None) -> Tag:
        """Every image of tag `source` gets tag `into` instead; `source` is
        deleted, and its name and aliases become aliases of `into`. Returns
        `into`; NotFound if either tag does not exist (then nothing changes)."""

    def remove_alias(self, tag_id: int, name: str) -> bool:
        """Make `name` resolve to nothing (free for a tag again); False if
        it is not an alias of that tag."""

    def history(
        self, query: HistoryQuery, *, after: Sequence[int] | None = None, limit: int | None = None
    ) -> list[Event]:
        """The events the query selects, newest first (HistoryQuery.select),
        those older than the key `after` (at, id) only, at most `limit`."""


class Repository(ImageRepository, TagRepository, Protocol):
    """Images and tags live together: image writes create tags."""

    # True when reads only do local work (memory, a file), never wait on a
    # network: quick enough to run where they are asked for, and better run
    # one at a time than in threads that take turns at Python's lock.
    reads_are_local: bool

    def interrupt(self, thread_id: int) -> None:
        """Stop what the thread `thread_id` is running on the database now
        (its caller has gone away): that call raises StorageUnavailable.
        Nothing happens when the thread runs nothing."""
    def kept_secret(self, name: str) -> bytes:
        """A random secret of 32 bytes kept with the catalogue under `name`,
        made on first use: the same for every process on this catalogue."""

    def reindex(self) -> FeedPosition:
        """Start a new feed epoch, so that every search index built on this
        catalogue, in any process, rebuilds from the tables before its next
        search (after rows were changed outside tim, e.g. restored or loaded)."""

    def close(self) -> None: ...
