"""Image records and tags kept in dicts, behind one lock.

This is the reference adapter: it applies the domain's search rules
directly, and the shared contract tests hold the other repositories to it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from attrs import evolve

from tim.domain.model.errors import TagNameTaken
from tim.domain.model.images import ImageRecord, NewImage
from tim.domain.model.paging import Page, PageRequest
from tim.domain.model.search import ImageQuery
from tim.domain.model.tags import Tag, sorted_tags


class MemoryRepository:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._images: dict[int, ImageRecord] = {}  # stored with tags=()
        self._image_tags: dict[int, set[int]] = {}
        self._blob_keys: dict[str, int] = {}
        self._tags: dict[int, Tag] = {}
        self._tag_ids: dict[str, int] = {}
        self._last_image_id = 0
        self._last_tag_id = 0

    def close(self) -> None:
        pass

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
            )
            self._images[record.id] = record
            self._blob_keys[record.blob_key] = record.id
            self._image_tags[record.id] = {self._tag_named(name).id for name in image.tag_names}
            return self._full(record.id)

    def get_image(self, image_id: int) -> ImageRecord | None:
        with self._lock:
            return self._full(image_id) if image_id in self._images else None

    def get_image_by_blob_key(self, blob_key: str) -> ImageRecord | None:
        with self._lock:
            image_id = self._blob_keys.get(blob_key)
            return None if image_id is None else self._full(image_id)

    def find_images(self, query: ImageQuery, page: PageRequest) -> Page[ImageRecord]:
        with self._lock:
            images = [self._full(image_id) for image_id in self._images]
        return page.slice(query.select(images))

    def set_image_tags(self, image_id: int, tag_names: Sequence[str]) -> ImageRecord | None:
        with self._lock:
            if image_id not in self._images:
                return None
            self._image_tags[image_id] = {self._tag_named(name).id for name in tag_names}
            return self._full(image_id)

    def mark_uploaded(self, image_id: int, timestamp: int) -> ImageRecord | None:
        with self._lock:
            image = self._images.get(image_id)
            if image is None:
                return None
            if not image.is_uploaded:
                self._images[image_id] = evolve(image, uploaded_timestamp=timestamp)
            return self._full(image_id)

    def delete_image(self, image_id: int, *, pending_only: bool = False) -> ImageRecord | None:
        with self._lock:
            if image_id not in self._images or (pending_only and self._images[image_id].is_uploaded):
                return None
            record = self._full(image_id)
            del self._images[image_id], self._image_tags[image_id], self._blob_keys[record.blob_key]
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
            if name in self._tag_ids:
                raise TagNameTaken(self._tags[self._tag_ids[name]])
            return self._tag_named(name)

    def get_tag(self, tag_id: int) -> Tag | None:
        with self._lock:
            return self._tags.get(tag_id)

    def rename_tag(self, tag_id: int, name: str) -> Tag | None:
        with self._lock:
            tag = self._tags.get(tag_id)
            if tag is None:
                return None
            holder = self._tag_ids.get(name)
            if holder is not None and holder != tag_id:
                raise TagNameTaken(self._tags[holder])
            del self._tag_ids[tag.name]
            self._tag_ids[name] = tag_id
            self._tags[tag_id] = Tag(tag_id, name)
            return self._tags[tag_id]

    def delete_tag(self, tag_id: int) -> bool:
        with self._lock:
            tag = self._tags.pop(tag_id, None)
            if tag is None:
                return False
            del self._tag_ids[tag.name]
            for tag_ids in self._image_tags.values():
                tag_ids.discard(tag_id)
            return True

    def _tag_named(self, name: str) -> Tag:
        """The tag with this name, created if missing (caller holds the lock)."""
        if name not in self._tag_ids:
            self._last_tag_id += 1
            self._tag_ids[name] = self._last_tag_id
            self._tags[self._last_tag_id] = Tag(self._last_tag_id, name)
        return self._tags[self._tag_ids[name]]

    def _full(self, image_id: int) -> ImageRecord:
        """The stored record with its current tags (caller holds the lock)."""
        tags = sorted_tags(self._tags[tag_id] for tag_id in self._image_tags[image_id])
        return evolve(self._images[image_id], tags=tags)
