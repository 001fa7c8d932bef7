"""Image records and tags in one SQLite file: the embedded default.

Every method is one transaction on a connection borrowed from the pool, and
returns finished domain values; nothing bound to a connection leaves it,
except inside `read()`, whose view is one read transaction (one snapshot).
Write transactions take the write lock up front (BEGIN IMMEDIATE), so the
change feed's order is commit order.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from tim.adapters.clock import unattributed
from tim.adapters.fact_rows import NEW_IMAGE_COLUMNS, dicom_from_text, dicom_text, new_image_row
from tim.adapters.feed_rows import decode, encode, trim_up_to
from tim.adapters.history_rows import event_row, events_of_images, insert_events, select_events, stored_event
from tim.adapters.sqlite.connections import ConnectionPool
from tim.adapters.sqlite.schema import folded, open_migrated
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
from tim.domain.model.edits import TagEdit
from tim.domain.model.errors import Conflict, ImagesNotFound, NotFound, TagNameTaken
from tim.domain.model.facts import FileFacts
from tim.domain.model.history import Actor, Event, HistoryQuery, NewEvent
from tim.domain.model.images import ImageRecord, NewImage
from tim.domain.model.paging import Page, PageRequest
from tim.domain.model.tags import Tag, check_merge, sorted_names

IMAGE_COLUMNS = (
    "i.id, i.filename, i.size, i.created_by, i.created_timestamp, i.blob_key, i.uploaded_timestamp,"
    " i.sha256, i.content_type, i.dicom"
)
PENDING_BATCH = 500


class SqliteRepository:
    """The Repository port on a SQLite file, safe for many threads and processes."""

    reads_are_local = True

    def __init__(self, pool: ConnectionPool):
        self._pool = pool

    @classmethod
    def open(cls, path: Path) -> SqliteRepository:
        """Open (creating it and its folder if needed) and migrate the file."""
        return cls(open_migrated(path))

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def read(self) -> Iterator[SqliteView]:
        with self._pool.transaction(write=False) as db:
            yield SqliteView(db)

    def interrupt(self, thread_id: int) -> None:
        self._pool.interrupt(thread_id)

    def reindex(self) -> FeedPosition:
        with self._pool.transaction(write=True) as db:
            epoch = FeedPosition.new_epoch()
            db.execute("DELETE FROM changes")
            db.execute("UPDATE feed SET epoch = ? WHERE singleton = 1", (epoch,))
            return FeedPosition(epoch, db.execute("SELECT seq FROM feed WHERE singleton = 1").fetchone()[0])

    # images

    def add_image(self, image: NewImage) -> ImageRecord:
        with self._pool.transaction(write=True) as db:
            if db.execute("SELECT 1 FROM images WHERE blob_key = ?", (image.blob_key,)).fetchone() is not None:
                raise Conflict(f"an image record already uses the object key {image.blob_key!r}")
            image_id = db.execute(
                f"INSERT INTO images ({NEW_IMAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", new_image_row(image)
            ).lastrowid
            tag_ids, new_tags = _tags_named(db, image.tag_names)
            _link(db, image_id, image.created_timestamp, tag_ids)
            uploaded = image.uploaded_timestamp is not None
            _record(db, *new_tags, ImageAdded(image_id, image.created_timestamp, image.created_by, uploaded, tag_ids))
            added = _one_image(db, "i.id = ?", image_id)
            _events(db, NewEvent.created(added))
            if uploaded:
                _events(db, NewEvent.uploaded(added, image.uploaded_timestamp))
            return added

    def get_image(self, image_id: int) -> ImageRecord | None:
        with self._pool.transaction(write=False) as db:
            return _one_image(db, "i.id = ?", image_id)

    def get_image_by_blob_key(self, blob_key: str) -> ImageRecord | None:
        with self._pool.transaction(write=False) as db:
            return _one_image(db, "i.blob_key = ?", blob_key)

    def set_image_tags(
        self, image_id: int, tag_names: Sequence[str], *, actor: Actor | None = None
    ) -> ImageRecord | None:
        with self._pool.transaction(write=True) as db:
            image = _one_image(db, "i.id = ?", image_id)
            if image is None:
                return None
            tag_ids, new_tags = _tags_named(db, tag_names)
            _record(db, *new_tags)
            current = {tag.id: tag.name for tag in image.tags}
            _retag(db, image.id, image.created_timestamp, current, set(tag_ids), actor or unattributed(), "replace")
            return _one_image(db, "i.id = ?", image_id)

    def edit_image_tags(self, image_ids: Sequence[int], edit: TagEdit, *, actor: Actor, via: str) -> int:
        with self._pool.transaction(write=True) as db:
            created = dict(
                db.execute(f"SELECT id, created_timestamp FROM images WHERE id IN ({_marks(image_ids)})", image_ids)
            )
            missing = [image_id for image_id in image_ids if image_id not in created]
            if missing:
                raise ImagesNotFound(missing)
            added, new_tags = _tags_named(db, edit.add)
            removed = [tag.id for tag in map(lambda name: _tag_named(db, name), edit.remove) if tag is not None]
            _record(db, *new_tags)
            current: dict[int, dict[int, str]] = {image_id: {} for image_id in image_ids}
            for image_id, tag_id, name in db.execute(
                "SELECT x.image_id, t.id, t.name FROM image_tags x JOIN tags t ON t.id = x.tag_id"
                f" WHERE x.image_id IN ({_marks(image_ids)})",
                image_ids,
            ):
                current[image_id][tag_id] = name
            # Every image is checked before any is changed: a refusal rolls back the lot.
            plans = [(i, edit.applied(i, current[i].keys(), added, removed)) for i in image_ids]
            return sum(_retag(db, i, created[i], current[i], after, actor, via) for i, after in plans)

    def mark_uploaded(self, image_id: int, timestamp: int, facts: FileFacts | None = None) -> ImageRecord | None:
        with self._pool.transaction(write=True) as db:
            marked = db.execute(
                "UPDATE images SET uploaded_timestamp = ?, sha256 = coalesce(?, sha256), content_type = ?, dicom = ?"
                " WHERE id = ? AND uploaded_timestamp IS NULL RETURNING created_timestamp",
                _uploaded(timestamp, facts, image_id),
            ).fetchone()
            image = _one_image(db, "i.id = ?", image_id)
            if marked is not None:
                _record(db, ImageUploaded(image_id, marked[0]))
                _events(db, NewEvent.uploaded(image, timestamp))
            return image

    def images_with_sha256(self, sha256: str) -> list[ImageRecord]:
        with self._pool.transaction(write=False) as db:
            rows = db.execute(f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.sha256 = ?", (sha256,)).fetchall()
            return _with_tags(db, rows)

    def delete_image(
        self, image_id: int, *, pending_only: bool = False, actor: Actor | None = None
    ) -> ImageRecord | None:
        with self._pool.transaction(write=True) as db:
            image = _one_image(db, "i.id = ?", image_id)
            if image is None or (pending_only and image.is_uploaded):
                return None
            db.execute("DELETE FROM images WHERE id = ?", (image_id,))  # its links go by ON DELETE CASCADE
            _record(db, ImageDeleted(image.id, image.created_timestamp, image.created_by, tuple(t.id for t in image.tags)))
            _events(db, NewEvent.deleted(actor or unattributed(), image))
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
            total = db.execute("SELECT COUNT(*) FROM tags WHERE alias_of IS NULL").fetchone()[0]
            ranks = page.window(total)
            rows = db.execute(
                "SELECT id, name FROM tags WHERE alias_of IS NULL ORDER BY folded, name LIMIT ? OFFSET ?",
                (len(ranks), ranks.start),
            ).fetchall()
            return Page.of([Tag(tag_id, name) for tag_id, name in rows], total=total, request=page)

    def add_tag(self, name: str) -> Tag:
        with self._pool.transaction(write=True) as db:
            existing = _tag_named(db, name)
            if existing is not None:
                raise TagNameTaken(existing, name)
            tag = Tag(_insert_tag(db, name), name)
            _record(db, TagAdded(tag.id, tag.name))
            return tag

    def get_tag(self, tag_id: int) -> Tag | None:
        with self._pool.transaction(write=False) as db:
            return _tag_by_id(db, tag_id)

    def rename_tag(self, tag_id: int, name: str, *, actor: Actor | None = None) -> Tag | None:
        with self._pool.transaction(write=True) as db:
            tag = _tag_by_id(db, tag_id)
            if tag is None or tag.name == name:
                return tag
            holder = _tag_named(db, name)
            if holder is not None:  # another tag's name, or an alias (also of this tag)
                raise TagNameTaken(holder, name)
            template = NewEvent.tag_renamed(actor or unattributed(), tag, name)
            _events_of_images(db, tag_id, template)
            _events(db, template)
            db.execute("UPDATE tags SET name = ?, folded = ? WHERE id = ?", (name, folded(name), tag_id))
            _record(db, TagRenamed(tag_id, name))
            return Tag(tag_id, name)

    def delete_tag(self, tag_id: int, *, actor: Actor | None = None) -> bool:
        with self._pool.transaction(write=True) as db:
            tag = _tag_by_id(db, tag_id)
            if tag is None:
                return False
            template = NewEvent.tag_deleted(actor or unattributed(), tag)
            _events_of_images(db, tag_id, template)
            # Its links and aliases go by ON DELETE CASCADE.
            db.execute("DELETE FROM tags WHERE id = ?", (tag_id,))
            _record(db, TagDeleted(tag_id))
            return True

    def merge_tags(self, source: int, into: int, *, actor: Actor | None = None) -> Tag:
        with self._pool.transaction(write=True) as db:
            merged, kept = _tag_by_id(db, source), _tag_by_id(db, into)
            if merged is None or kept is None:
                raise NotFound(f"tag {source if merged is None else into} does not exist")
            check_merge(source, into)
            actor = actor or unattributed()
            template = NewEvent.tags_merged(actor, merged, kept)
            had_into = NewEvent.tags_merged(actor, merged, kept, had_into=True)
            _events_of_images(db, source, template, had=(into, had_into))
            _events(db, NewEvent.tags_merged(actor, merged, kept))
            db.execute(
                "INSERT OR IGNORE INTO image_tags (image_id, tag_id, created_timestamp)"
                " SELECT image_id, ?, created_timestamp FROM image_tags WHERE tag_id = ?",
                (into, source),
            )
            db.execute("DELETE FROM image_tags WHERE tag_id = ?", (source,))
            db.execute("UPDATE tags SET alias_of = ? WHERE id = ? OR alias_of = ?", (into, source, source))
            _record(db, TagsMerged(source, into, merged.name))
            return kept

    def remove_alias(self, tag_id: int, name: str) -> bool:
        with self._pool.transaction(write=True) as db:
            if db.execute("DELETE FROM tags WHERE name = ? AND alias_of = ?", (name, tag_id)).rowcount == 0:
                return False
            _record(db, AliasRemoved(name))
            return True

    def history(
        self, query: HistoryQuery, *, after: Sequence[int] | None = None, limit: int | None = None
    ) -> list[Event]:
        with self._pool.transaction(write=False) as db:
            rows = db.execute(*select_events(query, after, -1 if limit is None else limit, "?"))  # -1: no limit
            return [stored_event(row) for row in rows]

    def kept_secret(self, name: str) -> bytes:
        key = f"secret:{name}"
        with self._pool.transaction(write=True) as db:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, secrets.token_hex(32)))
            return bytes.fromhex(db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])


class SqliteView:
    """The CatalogView of one read transaction."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def feed_position(self) -> FeedPosition:
        return FeedPosition(*self._db.execute("SELECT epoch, seq FROM feed WHERE singleton = 1").fetchone())

    def changes_after(self, seq: int, limit: int) -> Sequence[FeedEntry]:
        rows = self._db.execute("SELECT seq, change FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))
        return [FeedEntry(number, decode(text)) for number, text in rows]

    def images(self, ids: Sequence[int]) -> list[ImageRecord]:
        if not ids:
            return []
        rows = self._db.execute(f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.id IN ({_marks(ids)})", ids).fetchall()
        by_id = {image.id: image for image in _with_tags(self._db, rows)}
        return [by_id[image_id] for image_id in ids if image_id in by_id]

    def image_keys(self) -> tuple[Sequence[int], Sequence[int]]:
        ids, created = self._db.execute(
            "SELECT group_concat(id), group_concat(created_timestamp)"
            " FROM (SELECT id, created_timestamp FROM images ORDER BY created_timestamp, id)"
        ).fetchone()
        return _integers(ids, slices=True), _integers(created, slices=True)

    def uploaded_image_ids(self) -> Sequence[int]:
        (ids,) = self._db.execute("SELECT group_concat(id) FROM images WHERE uploaded_timestamp IS NOT NULL").fetchone()
        return _integers(ids)

    def image_ids_by_creator(self) -> Iterator[tuple[str, Sequence[int]]]:
        for name, ids in self._db.execute("SELECT created_by, group_concat(id) FROM images GROUP BY created_by"):
            yield name, _integers(ids)

    def tags(self) -> Sequence[Tag]:
        return [Tag(*row) for row in self._db.execute("SELECT id, name FROM tags WHERE alias_of IS NULL")]

    def image_ids_by_tag(self) -> Iterator[tuple[int, Sequence[int]]]:
        for tag_id, ids in self._db.execute("SELECT tag_id, group_concat(image_id) FROM image_tags GROUP BY tag_id"):
            yield tag_id, _integers(ids)

    def aliases(self) -> Sequence[tuple[str, int]]:
        return self._db.execute("SELECT name, alias_of FROM tags WHERE alias_of IS NOT NULL").fetchall()


def _integers(text: str | None, *, slices: bool = False) -> Sequence[int]:
    """A comma-separated list from group_concat, parsed as JSON (far faster
    than int() for each of a million numbers). With `slices`, into an array
    a slice at a time, so that no more than a slice's worth of Python
    integers exists at once (for lists of every image)."""
    text = text or ""
    if not slices:
        return json.loads(f"[{text}]")
    numbers = array("q")
    start = 0
    while start < len(text):
        end = text.find(",", start + _PARSED_AT_ONCE)
        end = len(text) if end < 0 else end
        numbers.extend(json.loads(f"[{text[start:end]}]"))
        start = end + 1
    return numbers


_PARSED_AT_ONCE = 1 << 20  # characters


def _marks(values: Sequence[object]) -> str:
    return ", ".join(["?"] * len(values))


def _record(db: sqlite3.Connection, *changes: Change) -> None:
    """Append changes to the feed, in this write transaction."""
    if not changes:
        return
    (last,) = db.execute("UPDATE feed SET seq = seq + ? WHERE singleton = 1 RETURNING seq", (len(changes),)).fetchone()
    first = last - len(changes) + 1
    db.executemany("INSERT INTO changes (seq, change) VALUES (?, ?)", ((first + n, encode(c)) for n, c in enumerate(changes)))
    trim = trim_up_to(first, last)
    if trim is not None:
        db.execute("DELETE FROM changes WHERE seq <= ?", (trim,))


def _tag_named(db: sqlite3.Connection, name: str) -> Tag | None:
    """The tag a name means: its own, or the one it is an alias of."""
    row = db.execute(
        "SELECT t.id, t.name FROM tags a JOIN tags t ON t.id = coalesce(a.alias_of, a.id) WHERE a.name = ?", (name,)
    ).fetchone()
    return None if row is None else Tag(*row)


def _tag_by_id(db: sqlite3.Connection, tag_id: int) -> Tag | None:
    row = db.execute("SELECT id, name FROM tags WHERE id = ? AND alias_of IS NULL", (tag_id,)).fetchone()
    return None if row is None else Tag(*row)


def _retag(
    db: sqlite3.Connection,
    image_id: int,
    created: int,
    current: dict[int, str],
    after: set[int],
    actor: Actor,
    via: str,
) -> bool:
    """Give the image the tags `after` (it has `current`: id -> name); whether that changed them."""
    removed = tuple(tag_id for tag_id in current if tag_id not in after)
    added = tuple(tag_id for tag_id in after if tag_id not in current)
    if not added and not removed:
        return False
    if removed:
        db.execute(f"DELETE FROM image_tags WHERE image_id = ? AND tag_id IN ({_marks(removed)})", (image_id, *removed))
    _link(db, image_id, created, added)
    _record(db, ImageRetagged(image_id, created, added, removed, not after))
    added_names = [name for (name,) in db.execute(f"SELECT name FROM tags WHERE id IN ({_marks(added)})", added)]
    names = sorted_names(added_names), sorted_names(current[tag_id] for tag_id in removed)
    _events(db, NewEvent.tagged(actor, image_id, *names, via))
    return True


def _events(db: sqlite3.Connection, *events: NewEvent) -> None:
    db.executemany(insert_events("?"), map(event_row, events))


def _events_of_images(
    db: sqlite3.Connection, tag_id: int, template: NewEvent, had: tuple[int, NewEvent] | None = None
) -> None:
    db.execute(*events_of_images(tag_id, template, had, "?"))


def _insert_tag(db: sqlite3.Connection, name: str) -> int:
    return db.execute("INSERT INTO tags (name, folded) VALUES (?, ?)", (name, folded(name))).lastrowid


def _tags_named(db: sqlite3.Connection, names: Iterable[str]) -> tuple[tuple[int, ...], list[TagAdded]]:
    """The ids of the tags with these names (or aliases), and the tags this created.

    Look first, insert only if missing: INSERT OR IGNORE would be as safe in
    this write transaction, but an ignored insert still uses up an
    AUTOINCREMENT id, and tag ids should run like the in-memory adapter's."""
    ids: dict[int, None] = {}  # two names may mean one tag (a tag and its alias)
    created = []
    for name in names:
        tag = _tag_named(db, name)
        if tag is None:
            tag = Tag(_insert_tag(db, name), name)
            created.append(TagAdded(tag.id, tag.name))
        ids[tag.id] = None
    return tuple(ids), created


def _link(db: sqlite3.Connection, image_id: int, created: int, tag_ids: Iterable[int]) -> None:
    db.executemany(
        "INSERT OR IGNORE INTO image_tags (image_id, tag_id, created_timestamp) VALUES (?, ?, ?)",
        ((image_id, tag_id, created) for tag_id in tag_ids),
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
    # In the order of the tag list (tags.folded orders like tag_order), so no sort is needed here.
    for image_id, tag_id, name in db.execute(
        "SELECT x.image_id, t.id, t.name FROM image_tags x JOIN tags t ON t.id = x.tag_id"
        f" WHERE x.image_id IN ({_marks(ids)}) ORDER BY t.folded, t.name",
        ids,
    ):
        tags[image_id].append(_tag(tag_id, name))
    return [_image_from_row(row, tuple(tags[row[0]])) for row in rows]


@lru_cache(maxsize=1 << 16)
def _tag(tag_id: int, name: str) -> Tag:
    """Tags are values: the same one is made once, not for every record."""
    return Tag(tag_id, name)


def _image_from_row(row: tuple, tags: tuple[Tag, ...]) -> ImageRecord:
    image_id, filename, size, created_by, created_timestamp, blob_key, uploaded_timestamp, sha256, content_type, dicom = row
    return ImageRecord(
        id=image_id,
        filename=filename,
        size=size,
        created_by=created_by,
        created_timestamp=created_timestamp,
        blob_key=blob_key,
        tags=tags,
        uploaded_timestamp=uploaded_timestamp,
        sha256=sha256,
        content_type=content_type,
        dicom=dicom_from_text(dicom),
    )


def _uploaded(timestamp: int, facts: FileFacts | None, image_id: int) -> tuple:
    """The parameters of marking an image uploaded, with its facts if known."""
    if facts is None:
        return (timestamp, None, None, None, image_id)
    return (timestamp, facts.sha256, facts.content_type, dicom_text(facts.dicom), image_id)
