"""Image records and tags in one SQLite file: the embedded default.

Every method is one transaction on a connection borrowed from the pool, and
returns finished domain values; nothing bound to a connection leaves it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from tim.adapters.sqlite.connections import ConnectionPool
from tim.adapters.sqlite.schema import folded, open_migrated
from tim.adapters.sqlite.search_sql import (
    IMAGE_COLUMNS,
    ImageSearch,
    RequiredTag,
    fewest_images_first,
    image_search,
    placeholders,
    required_tags,
    walk_budget,
)
from tim.domain.model.errors import Conflict, TagNameTaken
from tim.domain.model.images import ImageRecord, NewImage
from tim.domain.model.paging import Page, PageRequest
from tim.domain.model.search import ImageQuery
from tim.domain.model.tags import Tag, sorted_tags

PENDING_BATCH = 500


class SqliteRepository:
    """The Repository port on a SQLite file, safe for many threads and processes."""

    def __init__(self, pool: ConnectionPool):
        self._pool = pool

    @classmethod
    def open(cls, path: Path) -> SqliteRepository:
        """Open (creating it and its folder if needed) and migrate the file."""
        return cls(open_migrated(path))

    def close(self) -> None:
        self._pool.close()

    # images

    def add_image(self, image: NewImage) -> ImageRecord:
        with self._pool.transaction(write=True) as db:
            if db.execute("SELECT 1 FROM images WHERE blob_key = ?", (image.blob_key,)).fetchone() is not None:
                raise Conflict(f"an image record already uses the object key {image.blob_key!r}")
            image_id = db.execute(
                "INSERT INTO images (filename, size, created_by, created_timestamp, blob_key, uploaded_timestamp)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (image.filename, image.size, image.created_by, image.created_timestamp, image.blob_key, image.uploaded_timestamp),
            ).lastrowid
            _link_tags(db, image_id, image.tag_names)
            return _one_image(db, "i.id = ?", image_id)

    def get_image(self, image_id: int) -> ImageRecord | None:
        with self._pool.transaction(write=False) as db:
            return _one_image(db, "i.id = ?", image_id)

    def get_image_by_blob_key(self, blob_key: str) -> ImageRecord | None:
        with self._pool.transaction(write=False) as db:
            return _one_image(db, "i.blob_key = ?", blob_key)

    def find_images(self, query: ImageQuery, page: PageRequest) -> Page[ImageRecord]:
        with self._pool.transaction(write=False) as db:
            required: list[RequiredTag] | None = []
            lookup = required_tags(query)
            if lookup is not None:
                required = fewest_images_first(query, db.execute(*lookup))
                if required is None:  # a tag that does not exist: nothing can match
                    return Page.of([], total=0, request=page)
            search = image_search(query, required)
            total = search.known_total
            if total is None:
                total = db.execute(*search.count()).fetchone()[0]
            rows = _page_rows(db, search, page, total) if page.offset < total else []
            return Page.of(_with_tags(db, rows), total=total, request=page)

    def set_image_tags(self, image_id: int, tag_names: Sequence[str]) -> ImageRecord | None:
        with self._pool.transaction(write=True) as db:
            if db.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone() is None:
                return None
            db.execute("DELETE FROM image_tags WHERE image_id = ?", (image_id,))
            _link_tags(db, image_id, tag_names)
            return _one_image(db, "i.id = ?", image_id)

    def mark_uploaded(self, image_id: int, timestamp: int) -> ImageRecord | None:
        with self._pool.transaction(write=True) as db:
            db.execute(
                "UPDATE images SET uploaded_timestamp = ? WHERE id = ? AND uploaded_timestamp IS NULL",
                (timestamp, image_id),
            )
            return _one_image(db, "i.id = ?", image_id)

    def delete_image(self, image_id: int, *, pending_only: bool = False) -> ImageRecord | None:
        with self._pool.transaction(write=True) as db:
            image = _one_image(db, "i.id = ?", image_id)
            if image is not None and pending_only and image.is_uploaded:
                return None
            if image is not None:
                db.execute("DELETE FROM images WHERE id = ?", (image_id,))  # its links go by ON DELETE CASCADE
            return image

    def pending_images(self, created_before: int) -> Iterator[ImageRecord]:
        after = 0
        while True:
            with self._pool.transaction(write=False) as db:
                rows = db.execute(
                    f"SELECT {IMAGE_COLUMNS} FROM images i"
                    " WHERE i.uploaded_timestamp IS NULL AND i.id > ? AND i.created_timestamp < ?"
                    " ORDER BY i.id LIMIT ?",
                    (after, created_before, PENDING_BATCH),
                ).fetchall()
                batch = _with_tags(db, rows)
            yield from batch
            if len(batch) < PENDING_BATCH:
                return
            after = batch[-1].id

    # tags

    def list_tags(self, page: PageRequest) -> Page[Tag]:
        with self._pool.transaction(write=False) as db:
            total = db.execute("SELECT COUNT(*) FROM tags").fetchone()[0]
            rows = db.execute(
                "SELECT id, name FROM tags ORDER BY folded, name LIMIT ? OFFSET ?", (page.limit, page.offset)
            ).fetchall()
            return Page.of([Tag(tag_id, name) for tag_id, name in rows], total=total, request=page)

    def add_tag(self, name: str) -> Tag:
        with self._pool.transaction(write=True) as db:
            existing = _tag_named(db, name)
            if existing is not None:
                raise TagNameTaken(existing)
            return Tag(_insert_tag(db, name), name)

    def get_tag(self, tag_id: int) -> Tag | None:
        with self._pool.transaction(write=False) as db:
            row = db.execute("SELECT id, name FROM tags WHERE id = ?", (tag_id,)).fetchone()
            return None if row is None else Tag(*row)

    def rename_tag(self, tag_id: int, name: str) -> Tag | None:
        with self._pool.transaction(write=True) as db:
            if db.execute("SELECT 1 FROM tags WHERE id = ?", (tag_id,)).fetchone() is None:
                return None
            holder = _tag_named(db, name)
            if holder is not None and holder.id != tag_id:
                raise TagNameTaken(holder)
            db.execute("UPDATE tags SET name = ?, folded = ? WHERE id = ?", (name, folded(name), tag_id))
            return Tag(tag_id, name)

    def delete_tag(self, tag_id: int) -> bool:
        with self._pool.transaction(write=True) as db:
            # Its links go by ON DELETE CASCADE.
            return db.execute("DELETE FROM tags WHERE id = ?", (tag_id,)).rowcount > 0


def _page_rows(db: sqlite3.Connection, search: ImageSearch, page: PageRequest, total: int) -> list[tuple]:
    if search.walk_filters is not None:
        images = db.execute("SELECT COALESCE(MAX(id), 0) FROM images").fetchone()[0]  # ids only grow
        budget = walk_budget(page.offset, page.limit, total, images)
        if budget is not None:
            start = db.execute(*search.walk_start(budget)).fetchone()
            rows = db.execute(*search.walk(page.limit, page.offset, None if start is None else start[0])).fetchall()
            if len(rows) == page.limit or page.offset + len(rows) == total:
                return rows  # the page's last match lies within the walk
    return db.execute(*search.page(page.limit, page.offset)).fetchall()


def _tag_named(db: sqlite3.Connection, name: str) -> Tag | None:
    row = db.execute("SELECT id, name FROM tags WHERE name = ?", (name,)).fetchone()
    return None if row is None else Tag(*row)


def _insert_tag(db: sqlite3.Connection, name: str) -> int:
    return db.execute("INSERT INTO tags (name, folded) VALUES (?, ?)", (name, folded(name))).lastrowid


def _link_tags(db: sqlite3.Connection, image_id: int, names: Iterable[str]) -> None:
    """Link an image to the tags with these names, creating missing tags.

    Look first, insert only if missing: INSERT OR IGNORE would be as safe in
    this write transaction, but an ignored insert still uses up an
    AUTOINCREMENT id, and tag ids should run like the in-memory adapter's."""
    for name in names:
        tag = _tag_named(db, name)
        tag_id = _insert_tag(db, name) if tag is None else tag.id
        db.execute(
            "INSERT OR IGNORE INTO image_tags (image_id, tag_id, created_timestamp)"
            " SELECT id, ?, created_timestamp FROM images WHERE id = ?",
            (tag_id, image_id),
        )


def _one_image(db: sqlite3.Connection, condition: str, value: object) -> ImageRecord | None:
    """The image meeting `condition` (constant SQL with one placeholder)."""
    rows = db.execute(f"SELECT {IMAGE_COLUMNS} FROM images i WHERE {condition}", (value,)).fetchall()
    images = _with_tags(db, rows)
    return images[0] if images else None


def _with_tags(db: sqlite3.Connection, rows: Sequence[tuple]) -> list[ImageRecord]:
    """Records for image rows (in IMAGE_COLUMNS order), each with its tags."""
    if not rows:
        return []
    ids = [row[0] for row in rows]
    tags: dict[int, list[Tag]] = {image_id: [] for image_id in ids}
    for image_id, tag_id, name in db.execute(
        "SELECT x.image_id, t.id, t.name FROM image_tags x JOIN tags t ON t.id = x.tag_id"
        f" WHERE x.image_id IN ({placeholders(len(ids))})",
        ids,
    ):
        tags[image_id].append(Tag(tag_id, name))
    return [_image_from_row(row, sorted_tags(tags[row[0]])) for row in rows]


def _image_from_row(row: tuple, tags: tuple[Tag, ...]) -> ImageRecord:
    image_id, filename, size, created_by, created_timestamp, blob_key, uploaded_timestamp = row
    return ImageRecord(
        id=image_id,
        filename=filename,
        size=size,
        created_by=created_by,
        created_timestamp=created_timestamp,
        blob_key=blob_key,
        tags=tags,
        uploaded_timestamp=uploaded_timestamp,
    )
