"""Image records and tags kept in dicts, behind one lock.

A first-class repository (the one `tim.open()` uses by default, and the
fake of the use-case tests): it keeps a change feed like the others, and a
view holds the lock, so a view is a snapshot.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from attrs import evolve

from tim.adapters.clock import unattributed
from tim.domain.model.changes import (
    AliasRemoved,
    Change,
    FeedEntry,
    FeedPosition,
    ImageAdded,
    ImageDeleted,
    ImageRetagged,
    ImageUploaded,
    TagAdded,
    TagDeleted,
    TagRenamed,
    TagsMerged,
)
from tim.domain.model.errors import TagNameTaken
from tim.domain.model.facts import FileFacts
from tim.domain.model.edits import TagEdit
from tim.domain.model.errors import ImagesNotFound, NotFound, TagNameTaken
from tim.domain.model.history import Actor, Event, HistoryQuery, NewEvent
from tim.domain.model.images import ImageRecord, NewImage
from tim.domain.model.paging import Page, PageRequest
from tim.domain.model.tags import Tag, check_merge, sorted_names, sorted_tags

# Changes kept for followers that fall behind; one further behind rebuilds.
FEED_KEPT = 10_000


class MemoryRepository:

    reads_are_local = True
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._images: dict[int, ImageRecord] = {}  # stored with tags=()
        self._image_tags: dict[int, set[int]] = {}
        self._blob_keys: dict[str, int] = {}
        self._tags: dict[int, Tag] = {}
        self._tag_ids: dict[str, int] = {}
        self._aliases: dict[str, int] = {}  # alias -> the id of its tag
        self._last_image_id = 0
        self._last_tag_id = 0
        self._feed: list[FeedEntry] = []
        self._position = FeedPosition(FeedPosition.new_epoch(), 0)
        self._history: list[Event] = []
        self._secrets: dict[str, bytes] = {}

    def close(self) -> None:
        pass

    @contextmanager
    def read(self) -> Iterator[MemoryView]:
        with self._lock:
            yield MemoryView(self)

    def interrupt(self, thread_id: int) -> None:
        pass  # nothing here takes long enough to stop

    def reindex(self) -> FeedPosition:
        with self._lock:
            self._feed.clear()
            self._position = FeedPosition(FeedPosition.new_epoch(), self._position.seq)
            return self._position

    # images

    def add_image(self, image: NewImage) -> ImageRecord:
        with self._lock:
            self._last_image_id += 1
            record = ImageRecord(
                id=self._last_image_id,
                filename=image.filename,
                size=image.size,
                created_by=image.created_by,
                created_timestamp=image.created_timestamp,
                blob_key=image.blob_key,
                uploaded_timestamp=image.uploaded_timestamp,
                sha256=image.sha256,
                content_type=image.content_type,
                dicom=image.dicom,
            )
            tag_ids = list(dict.fromkeys(self._tag_named(name).id for name in image.tag_names))
            self._images[record.id] = record
            self._blob_keys[record.blob_key] = record.id
            self._image_tags[record.id] = set(tag_ids)
            self._record(
                ImageAdded(record.id, record.created_timestamp, record.created_by, record.is_uploaded, tuple(tag_ids))
            )
            full = self._full(record.id)
            self._event(NewEvent.created(full))
            if full.is_uploaded:
                self._event(NewEvent.uploaded(full, full.uploaded_timestamp))
            return full

    def get_image(self, image_id: int) -> ImageRecord | None:
        with self._lock:
            return self._full(image_id) if image_id in self._images else None

    def get_image_by_blob_key(self, blob_key: str) -> ImageRecord | None:
        with self._lock:
            image_id = self._blob_keys.get(blob_key)
            return None if image_id is None else self._full(image_id)

    def set_image_tags(
        self, image_id: int, tag_names: Sequence[str], *, actor: Actor | None = None
    ) -> ImageRecord | None:
        with self._lock:
            if image_id not in self._images:
                return None
            after = {self._tag_named(name).id for name in tag_names}
            self._retag(image_id, after, actor or unattributed(), "replace")
            return self._full(image_id)

    def edit_image_tags(self, image_ids: Sequence[int], edit: TagEdit, *, actor: Actor, via: str) -> int:
        with self._lock:
            missing = [image_id for image_id in image_ids if image_id not in self._images]
            if missing:
                raise ImagesNotFound(missing)
            # Every image is checked before anything changes (or a tag is made):
            # tags still to be made stand in with negative ids meanwhile.
            new = [name for name in edit.add if self._existing(name) is None]
            stand_in = {name: -n for n, name in enumerate(new, 1)}
            added = [stand_in.get(name) or self._existing(name).id for name in edit.add]
            removed = [tag.id for tag in map(self._existing, edit.remove) if tag is not None]
            plans = [(i, edit.applied(i, self._image_tags[i], added, removed)) for i in image_ids]
            made = {stand_in[name]: self._tag_named(name).id for name in new}
            return sum(self._retag(image_id, {made.get(t, t) for t in after}, actor, via) for image_id, after in plans)

    def _retag(self, image_id: int, after: set[int], actor: Actor, via: str) -> bool:
        """Give the image these tags (caller holds the lock); whether that changed them."""
        before = self._image_tags[image_id]
        if before == after:
            return False
        self._image_tags[image_id] = after
        created = self._images[image_id].created_timestamp
        self._record(ImageRetagged(image_id, created, tuple(after - before), tuple(before - after), not after))
        self._event(NewEvent.tagged(actor, image_id, self._names(after - before), self._names(before - after), via))
        return True

    def mark_uploaded(self, image_id: int, timestamp: int, facts: FileFacts | None = None) -> ImageRecord | None:
        with self._lock:
            image = self._images.get(image_id)
            if image is None:
                return None
            if not image.is_uploaded:
                known = {} if facts is None else {"sha256": facts.sha256, "content_type": facts.content_type, "dicom": facts.dicom}
                self._images[image_id] = evolve(image, uploaded_timestamp=timestamp, **known)
                self._record(ImageUploaded(image_id, image.created_timestamp))
                self._event(NewEvent.uploaded(image, timestamp))
            return self._full(image_id)

    def images_with_sha256(self, sha256: str) -> list[ImageRecord]:
        with self._lock:
            # A scan: the in-memory store is for tests and small embedders.
            return [self._full(image.id) for image in self._images.values() if image.sha256 == sha256]

    def delete_image(
        self, image_id: int, *, pending_only: bool = False, actor: Actor | None = None
    ) -> ImageRecord | None:
        with self._lock:
            if image_id not in self._images or (pending_only and self._images[image_id].is_uploaded):
                return None
            record = self._full(image_id)
            del self._images[image_id], self._image_tags[image_id], self._blob_keys[record.blob_key]
            self._record(
                ImageDeleted(image_id, record.created_timestamp, record.created_by, tuple(t.id for t in record.tags))
            )
            self._event(NewEvent.deleted(actor or unattributed(), record))
            return record

    def pending_images(self, created_before: int) -> Iterator[ImageRecord]:
        with self._lock:
            pending = [
                self._full(image.id)
                for image in self._images.values()
                if not image.is_uploaded and image.created_timestamp < created_before
            ]
        return iter(sorted(pending, key=lambda image: image.id))

    # tags

    def list_tags(self, page: PageRequest) -> Page[Tag]:
        with self._lock:
            return page.slice(sorted_tags(self._tags.values()))

    def add_tag(self, name: str) -> Tag:
        with self._lock:
            existing = self._existing(name)
            if existing is not None:
                raise TagNameTaken(existing, name)
            return self._tag_named(name)

    def get_tag(self, tag_id: int) -> Tag | None:
        with self._lock:
            return self._tags.get(tag_id)

    def rename_tag(self, tag_id: int, name: str, *, actor: Actor | None = None) -> Tag | None:
        with self._lock:
            tag = self._tags.get(tag_id)
            if tag is None:
                return None
            if tag.name == name:
                return tag
            holder = self._existing(name)
            if holder is not None:
                raise TagNameTaken(holder, name)
            actor = actor or unattributed()
            for image_id in self._carrying(tag_id):
                self._event(NewEvent.tag_renamed(actor, tag, name, image_id))
            self._event(NewEvent.tag_renamed(actor, tag, name))
            del self._tag_ids[tag.name]
            self._tag_ids[name] = tag_id
            self._tags[tag_id] = Tag(tag_id, name)
            self._record(TagRenamed(tag_id, name))
            return self._tags[tag_id]

    def delete_tag(self, tag_id: int, *, actor: Actor | None = None) -> bool:
        with self._lock:
            tag = self._tags.pop(tag_id, None)
            if tag is None:
                return False
            actor = actor or unattributed()
            del self._tag_ids[tag.name]
            for image_id in self._carrying(tag_id):
                self._image_tags[image_id].discard(tag_id)
                self._event(NewEvent.tag_deleted(actor, tag, image_id))
            for alias in [alias for alias, target in self._aliases.items() if target == tag_id]:
                del self._aliases[alias]
            self._record(TagDeleted(tag_id))
            return True

    def merge_tags(self, source: int, into: int, *, actor: Actor | None = None) -> Tag:
        with self._lock:
            for tag_id in (source, into):
                if tag_id not in self._tags:
                    raise NotFound(f"tag {tag_id} does not exist")
            check_merge(source, into)
            actor = actor or unattributed()
            merged, kept = self._tags.pop(source), self._tags[into]
            for image_id in self._carrying(source):
                tag_ids = self._image_tags[image_id]
                self._event(NewEvent.tags_merged(actor, merged, kept, image_id, had_into=into in tag_ids))
                tag_ids.discard(source)
                tag_ids.add(into)
            self._event(NewEvent.tags_merged(actor, merged, kept))
            del self._tag_ids[merged.name]
            for alias, target in list(self._aliases.items()):
                if target == source:
                    self._aliases[alias] = into
            self._aliases[merged.name] = into
            self._record(TagsMerged(source, into, merged.name))
            return kept

    def remove_alias(self, tag_id: int, name: str) -> bool:
        with self._lock:
            if self._aliases.get(name) != tag_id:
                return False
            del self._aliases[name]
            self._record(AliasRemoved(name))
            return True

    def history(
        self, query: HistoryQuery, *, after: Sequence[int] | None = None, limit: int | None = None
    ) -> list[Event]:
        with self._lock:
            return query.select(self._history, after, limit)

    def kept_secret(self, name: str) -> bytes:
        with self._lock:
            return self._secrets.setdefault(name, secrets.token_bytes(32))

    def _existing(self, name: str) -> Tag | None:
        """The tag a name means, by its own name or an alias (caller holds the lock)."""
        tag_id = self._tag_ids.get(name, self._aliases.get(name))
        return None if tag_id is None else self._tags[tag_id]

    def _carrying(self, tag_id: int) -> list[int]:
        return sorted(image_id for image_id, tag_ids in self._image_tags.items() if tag_id in tag_ids)

    def _names(self, tag_ids: set[int]) -> tuple[str, ...]:
        return sorted_names(self._tags[tag_id].name for tag_id in tag_ids)

    def _event(self, event: NewEvent) -> None:
        self._history.append(event.numbered(len(self._history) + 1))

    def _tag_named(self, name: str) -> Tag:
        """The tag with this name (or alias), created if missing (caller holds the lock)."""
        if name in self._aliases:
            return self._tags[self._aliases[name]]
        if name not in self._tag_ids:
            self._last_tag_id += 1
            self._tag_ids[name] = self._last_tag_id
            self._tags[self._last_tag_id] = Tag(self._last_tag_id, name)
            self._record(TagAdded(self._last_tag_id, name))
        return self._tags[self._tag_ids[name]]

    def _full(self, image_id: int) -> ImageRecord:
        """The stored record with its current tags (caller holds the lock)."""
        tags = sorted_tags(self._tags[tag_id] for tag_id in self._image_tags[image_id])
        return evolve(self._images[image_id], tags=tags)

    def _record(self, change: Change) -> None:
        """Add a change to the feed (caller holds the lock)."""
        self._position = evolve(self._position, seq=self._position.seq + 1)
        self._feed.append(FeedEntry(self._position.seq, change))
        if len(self._feed) > 2 * FEED_KEPT:
            del self._feed[:FEED_KEPT]


class MemoryView:
    """The CatalogView of a MemoryRepository, valid while its lock is held."""

    def __init__(self, repository: MemoryRepository):
        self._repository = repository

    def feed_position(self) -> FeedPosition:
        return self._repository._position

    def changes_after(self, seq: int, limit: int) -> Sequence[FeedEntry]:
        feed = self._repository._feed
        first = feed[0].seq if feed else self._repository._position.seq + 1
        start = max(0, seq + 1 - first)
        return feed[start : start + limit]

    def images(self, ids: Sequence[int]) -> list[ImageRecord]:
        repository = self._repository
        return [repository._full(image_id) for image_id in ids if image_id in repository._images]

    def image_keys(self) -> tuple[Sequence[int], Sequence[int]]:
        ordered = sorted((image.created_timestamp, image.id) for image in self._repository._images.values())
        return [image_id for _, image_id in ordered], [created for created, _ in ordered]

    def uploaded_image_ids(self) -> Sequence[int]:
        return sorted(image.id for image in self._repository._images.values() if image.is_uploaded)

    def image_ids_by_creator(self) -> Iterator[tuple[str, Sequence[int]]]:
        creators: dict[str, list[int]] = {}
        for image in self._repository._images.values():
            creators.setdefault(image.created_by, []).append(image.id)
        return iter(creators.items())

    def tags(self) -> Sequence[Tag]:
        return list(self._repository._tags.values())

    def image_ids_by_tag(self) -> Iterator[tuple[int, Sequence[int]]]:
        by_tag: dict[int, list[int]] = {}
        for image_id, tag_ids in self._repository._image_tags.items():
            for tag_id in tag_ids:
                by_tag.setdefault(tag_id, []).append(image_id)
        return iter(by_tag.items())

    def aliases(self) -> Sequence[tuple[str, int]]:
        return list(self._repository._aliases.items())
