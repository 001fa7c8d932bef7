"""Image records and tags in PostgreSQL.

Each method runs in one transaction on a connection from a pool that is
opened once. Reads that take more than one statement run on one snapshot
(REPEATABLE READ), as does a `read()` view. Every write records its changes
last, in the feed's row (see schema.py): that row's lock, held until commit,
makes writers commit in the order of their sequence numbers, so a reader
that sees change n has seen every change before it. Missing tags are inserted
with INSERT ... ON CONFLICT DO NOTHING, and a name another writer inserted
first is then read with a SELECT in the same transaction: concurrent writers
with the same new names wait for each other instead of failing, and the
unique constraint, not a prior check, decides who created a tag.
"""

from __future__ import annotations

import sys
import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import psycopg
from psycopg import IsolationLevel
from psycopg.errors import UniqueViolation
from psycopg_pool import ConnectionPool

from tim.adapters.fact_rows import NEW_IMAGE_COLUMNS, dicom_from_text, dicom_text, new_image_row
from tim.adapters.feed_rows import decode, encode, trim_up_to
from tim.adapters.postgres.connection import connect, open_pool, unavailable_as_domain_error
from tim.adapters.postgres.schema import migrate
from tim.domain.model.changes import (
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
)
from tim.domain.model.errors import TagNameTaken
from tim.domain.model.facts import FileFacts
from tim.domain.model.images import ImageRecord, NewImage
from tim.domain.model.paging import Page, PageRequest
from tim.domain.model.tags import Tag, sorted_tags

IMAGE_COLUMNS = (
    "i.id, i.filename, i.size, i.created_by, i.created_timestamp, i.blob_key, i.uploaded_timestamp,"
    " i.sha256, i.content_type, i.dicom"
)
PENDING_BATCH = 500
# A search index's build reads every row: its statements may take longer
# than the statement_timeout of everything else, by this factor.
BUILD_TIMEOUT_FACTOR = 20

# New tags get ids in the order their names were given, as the in-memory
# reference does, but are inserted in name order: concurrent writers then meet
# their shared new names in one order, and wait for each other rather than
# deadlock. ON CONFLICT gives way to a writer that inserted a name first (the
# id drawn for it is then skipped, never reused).
_NEW_TAG_IDS = "SELECT nextval(pg_get_serial_sequence('tags', 'id')) FROM generate_series(1, %s)"
_INSERT_TAGS = """
    INSERT INTO tags (id, name, folded_name) OVERRIDING SYSTEM VALUE
    SELECT new.id, new.name, new.folded_name
    FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS new (id, name, folded_name)
    ORDER BY new.name COLLATE "C"
    ON CONFLICT (name) DO NOTHING
    RETURNING id, name
"""
# KEY SHARE keeps the tags from being deleted or renamed before we commit.
_LOCK_TAGS_NAMED = 'SELECT id, name FROM tags WHERE name = ANY(%s) ORDER BY name COLLATE "C" FOR KEY SHARE'


class PostgresRepository:
    """The Repository port on PostgreSQL (psycopg 3 with a connection pool)."""

    reads_are_local = False

    def __init__(self, pool: ConnectionPool, *, build_timeout_seconds: float = 100.0):
        self._pool = pool
        self._build_timeout_seconds = build_timeout_seconds
        self._in_use: dict[int, psycopg.Connection] = {}  # by the thread using it

    @classmethod
    def open(
        cls, url: str, *, max_connections: int = 10, timeout: float = 10.0, statement_timeout_seconds: float = 5.0
    ) -> PostgresRepository:
        """Migrate the database to the current schema and open the pool.
        `timeout` bounds how long a call waits for a connection,
        `statement_timeout_seconds` how long any statement may run."""
        with unavailable_as_domain_error():
            with connect(url) as conn:
                migrate(conn)
            pool = open_pool(url, max_size=max_connections, timeout=timeout, statement_timeout_seconds=statement_timeout_seconds)
            return cls(pool, build_timeout_seconds=statement_timeout_seconds * BUILD_TIMEOUT_FACTOR)

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def read(self) -> Iterator[PostgresView]:
        with self._transaction(snapshot=True) as conn:
            yield PostgresView(conn, self._build_timeout_seconds)

    def interrupt(self, thread_id: int) -> None:
        conn = self._in_use.get(thread_id)
        if conn is not None:
            conn.cancel_safe(timeout=5)  # the server cancels the statement; the thread's call raises

    def reindex(self) -> FeedPosition:
        with self._transaction() as conn:
            epoch = FeedPosition.new_epoch()
            conn.execute("DELETE FROM changes")
            seq = conn.execute("UPDATE feed SET epoch = %s WHERE singleton RETURNING seq", (epoch,)).fetchone()[0]
            return FeedPosition(epoch, seq)

    @contextmanager
    def _transaction(self, *, snapshot: bool = False) -> Iterator[psycopg.Connection]:
        with unavailable_as_domain_error(), self._pool.connection() as conn:
            # Set before BEGIN, so that BEGIN itself says it (no extra round trip).
            conn.isolation_level = IsolationLevel.REPEATABLE_READ if snapshot else None
            conn.read_only = snapshot
            self._in_use[threading.get_ident()] = conn
            try:
                with conn.transaction():
                    yield conn
            finally:
                self._in_use.pop(threading.get_ident(), None)

    # images

    def add_image(self, image: NewImage) -> ImageRecord:
        with self._transaction() as conn:
            row = conn.execute(
                f"INSERT INTO images AS i ({NEW_IMAGE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                f" RETURNING {IMAGE_COLUMNS}",
                new_image_row(image),
            ).fetchone()
            tags, new_tags = _tags_named(conn, image.tag_names)
            _link(conn, row[0], tags)
            uploaded = image.uploaded_timestamp is not None
            tag_ids = tuple(tag.id for tag in tags)
            _record_changes(conn, *new_tags, ImageAdded(row[0], image.created_timestamp, image.created_by, uploaded, tag_ids))
            return _record(row, tags)

    def get_image(self, image_id: int) -> ImageRecord | None:
        with self._transaction(snapshot=True) as conn:
            return _one(conn, f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.id = %s", (image_id,))

    def get_image_by_blob_key(self, blob_key: str) -> ImageRecord | None:
        with self._transaction(snapshot=True) as conn:
            return _one(conn, f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.blob_key = %s", (blob_key,))

    def set_image_tags(self, image_id: int, tag_names: Sequence[str]) -> ImageRecord | None:
        with self._transaction() as conn:
            # The row lock makes concurrent replacements of one image's tags take turns.
            row = conn.execute(
                f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.id = %s FOR NO KEY UPDATE", (image_id,)
            ).fetchone()
            if row is None:
                return None
            tags, new_tags = _tags_named(conn, tag_names)
            removed = tuple(
                tag_id
                for (tag_id,) in conn.execute(
                    "DELETE FROM image_tags WHERE image_id = %s AND tag_id <> ALL(%s) RETURNING tag_id",
                    (image_id, [tag.id for tag in tags]),
                )
            )
            added = _link(conn, image_id, tags)
            changes: list[Change] = list(new_tags)
            if added or removed:
                changes.append(ImageRetagged(image_id, row[4], added, removed, not tags))
            _record_changes(conn, *changes)
            return _record(row, tags)

    def mark_uploaded(self, image_id: int, timestamp: int, facts: FileFacts | None = None) -> ImageRecord | None:
        known = (None, None, None) if facts is None else (facts.sha256, facts.content_type, dicom_text(facts.dicom))
        with self._transaction() as conn:
            row = conn.execute(
                "UPDATE images AS i SET uploaded_timestamp = %s, sha256 = coalesce(%s, i.sha256), content_type = %s,"
                " dicom = %s WHERE i.id = %s AND i.uploaded_timestamp IS NULL"
                f" RETURNING {IMAGE_COLUMNS}",
                (timestamp, *known, image_id),
            ).fetchone()
            if row is not None:
                _record_changes(conn, ImageUploaded(image_id, row[4]))
                return _records(conn, [row])[0]
            return _one(conn, f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.id = %s", (image_id,))

    def images_with_sha256(self, sha256: str) -> list[ImageRecord]:
        with self._transaction(snapshot=True) as conn:
            rows = conn.execute(f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.sha256 = %s", (sha256,)).fetchall()
            return _records(conn, rows)

    def delete_image(self, image_id: int, *, pending_only: bool = False) -> ImageRecord | None:
        with self._transaction() as conn:
            # Locked first, so of two concurrent deletes only one returns the
            # record, and a concurrent mark_uploaded is seen by pending_only.
            record = _one(conn, f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.id = %s FOR UPDATE", (image_id,))
            if record is not None and pending_only and record.is_uploaded:
                return None
            if record is not None:
                conn.execute("DELETE FROM images WHERE id = %s", (image_id,))
                tag_ids = tuple(tag.id for tag in record.tags)
                _record_changes(conn, ImageDeleted(image_id, record.created_timestamp, record.created_by, tag_ids))
            return record

    def pending_images(self, created_before: int) -> Iterator[ImageRecord]:
        after = 0
        while True:
            with self._transaction(snapshot=True) as conn:
                rows = conn.execute(
                    f"SELECT {IMAGE_COLUMNS} FROM images i"
                    " WHERE i.uploaded_timestamp IS NULL AND i.created_timestamp < %s AND i.id > %s"
                    " ORDER BY i.id LIMIT %s",
                    (created_before, after, PENDING_BATCH),
                ).fetchall()
                batch = _records(conn, rows)
            # Yielded outside the transaction: no connection waits on the caller.
            yield from batch
            if len(rows) < PENDING_BATCH:
                return
            after = rows[-1][0]

    # tags

    def list_tags(self, page: PageRequest) -> Page[Tag]:
        with self._transaction(snapshot=True) as conn:
            total = conn.execute("SELECT count(*) FROM tags").fetchone()[0]
            ranks = page.window(total)
            rows = conn.execute(
                'SELECT id, name FROM tags ORDER BY folded_name COLLATE "C", name COLLATE "C" LIMIT %s OFFSET %s',
                (len(ranks), ranks.start),
            ).fetchall()
        return Page.of([Tag(*row) for row in rows], total=total, request=page)

    def add_tag(self, name: str) -> Tag:
        with self._transaction() as conn:
            while True:
                row = conn.execute(
                    "INSERT INTO tags (name, folded_name) SELECT %s::text, %s::text"
                    " WHERE NOT EXISTS (SELECT 1 FROM tags WHERE name = %s)"
                    " ON CONFLICT (name) DO NOTHING RETURNING id, name",
                    (name, name.casefold(), name),
                ).fetchone()
                if row is not None:
                    _record_changes(conn, TagAdded(*row))
                    return Tag(*row)
                holder = _tag_named(conn, name)
                if holder is not None:  # else it went away meanwhile: try again
                    raise TagNameTaken(holder)

    def get_tag(self, tag_id: int) -> Tag | None:
        with self._transaction(snapshot=True) as conn:
            row = conn.execute("SELECT id, name FROM tags WHERE id = %s", (tag_id,)).fetchone()
        return None if row is None else Tag(*row)

    def rename_tag(self, tag_id: int, name: str) -> Tag | None:
        with self._transaction() as conn:
            current = conn.execute("SELECT name FROM tags WHERE id = %s FOR UPDATE", (tag_id,)).fetchone()
            if current is None:
                return None
            if current[0] == name:
                return Tag(tag_id, name)
            while True:
                try:
                    with conn.transaction():  # a savepoint: a taken name must not end the transaction
                        row = conn.execute(
                            "UPDATE tags SET name = %s, folded_name = %s WHERE id = %s RETURNING id, name",
                            (name, name.casefold(), tag_id),
                        ).fetchone()
                except UniqueViolation:
                    holder = _tag_named(conn, name)
                    if holder is not None:  # else it went away meanwhile: try again
                        raise TagNameTaken(holder) from None
                    continue
                _record_changes(conn, TagRenamed(tag_id, name))
                return Tag(*row)

    def delete_tag(self, tag_id: int) -> bool:
        with self._transaction() as conn:
            if conn.execute("DELETE FROM tags WHERE id = %s", (tag_id,)).rowcount == 0:
                return False
            _record_changes(conn, TagDeleted(tag_id))
            return True


def _record(row: Sequence, tags: Iterable[Tag]) -> ImageRecord:
    image_id, filename, size, created_by, created_timestamp, blob_key, uploaded_timestamp, sha256, content_type, dicom = row
    return ImageRecord(
        id=image_id,
        filename=filename,
        size=size,
        created_by=created_by,
        created_timestamp=created_timestamp,
        blob_key=blob_key,
        tags=sorted_tags(tags),
        uploaded_timestamp=uploaded_timestamp,
        sha256=sha256,
        content_type=content_type,
        dicom=dicom_from_text(dicom),
    )


# Records with their tags in one statement; the tags in the order of the
# tag list (folded_name and name in code point order, like tag_order).
_WITH_TAGS = f"""
    SELECT {IMAGE_COLUMNS},
           coalesce(array_agg(t.id ORDER BY t.folded_name COLLATE "C", t.name COLLATE "C") FILTER (WHERE t.id IS NOT NULL), '{{}}'),
           coalesce(array_agg(t.name ORDER BY t.folded_name COLLATE "C", t.name COLLATE "C") FILTER (WHERE t.id IS NOT NULL), '{{}}')
    FROM images i LEFT JOIN image_tags it ON it.image_id = i.id LEFT JOIN tags t ON t.id = it.tag_id
    WHERE i.id = ANY(%s) GROUP BY i.id
"""


def _records_with_tags(conn: psycopg.Connection, ids: Sequence[int]) -> dict[int, ImageRecord]:
    known: dict[int, Tag] = {}

    def tag(tag_id: int, name: str) -> Tag:
        found = known.get(tag_id)
        if found is None:
            found = known[tag_id] = Tag(tag_id, name)
        return found

    records = {}
    for *row, tag_ids, names in conn.execute(_WITH_TAGS, (list(ids),)):
        records[row[0]] = ImageRecord(
            *row[:6], tuple(map(tag, tag_ids, names)), row[6], None, row[7], row[8], dicom_from_text(row[9])
        )
    return records


def _records(conn: psycopg.Connection, rows: Sequence[Sequence]) -> list[ImageRecord]:
    """The rows as records with their tags, in the rows' order."""
    tags: dict[int, list[Tag]] = {row[0]: [] for row in rows}
    if tags:
        for image_id, tag_id, name in conn.execute(
            "SELECT it.image_id, t.id, t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id"
            " WHERE it.image_id = ANY(%s)",
            (list(tags),),
        ):
            tags[image_id].append(Tag(tag_id, name))
    return [_record(row, tags[row[0]]) for row in rows]


def _one(conn: psycopg.Connection, sql: str, params: Sequence) -> ImageRecord | None:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else _records(conn, [row])[0]


def _tag_named(conn: psycopg.Connection, name: str) -> Tag | None:
    row = conn.execute("SELECT id, name FROM tags WHERE name = %s", (name,)).fetchone()
    return None if row is None else Tag(*row)


def _tags_named(conn: psycopg.Connection, names: Iterable[str]) -> tuple[list[Tag], list[TagAdded]]:
    """The tags with these names, created where missing, locked until commit;
    and the tags this created."""
    found: dict[str, Tag] = {}
    created: list[TagAdded] = []
    missing = list(dict.fromkeys(names))
    while missing:
        for tag_id, name in conn.execute(_LOCK_TAGS_NAMED, (missing,)):
            found[name] = Tag(tag_id, name)
        new = [name for name in missing if name not in found]
        if not new:
            break
        ids = sorted(row[0] for row in conn.execute(_NEW_TAG_IDS, (len(new),)))
        folded = [name.casefold() for name in new]
        for tag_id, name in conn.execute(_INSERT_TAGS, (ids, new, folded)):
            found[name] = Tag(tag_id, name)
            created.append(TagAdded(tag_id, name))
        # Names another writer inserted first are committed now: the next round reads them.
        missing = [name for name in new if name not in found]
    return list(found.values()), sorted(created, key=lambda change: change.tag_id)


def _link(conn: psycopg.Connection, image_id: int, tags: Sequence[Tag]) -> tuple[int, ...]:
    """Link the image to the tags; the ids of the links that are new."""
    if not tags:
        return ()
    return tuple(
        tag_id
        for (tag_id,) in conn.execute(
            "INSERT INTO image_tags (image_id, tag_id) SELECT %s, unnest(%s::bigint[]) ON CONFLICT DO NOTHING"
            " RETURNING tag_id",
            (image_id, [tag.id for tag in tags]),
        )
    )


def _record_changes(conn: psycopg.Connection, *changes: Change) -> None:
    """Append changes to the feed: the last statement of a write transaction
    (the feed row stays locked until commit)."""
    if not changes:
        return
    last = conn.execute("UPDATE feed SET seq = seq + %s WHERE singleton RETURNING seq", (len(changes),)).fetchone()[0]
    first = last - len(changes) + 1
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO changes (seq, change) VALUES (%s, %s)", [(first + n, encode(c)) for n, c in enumerate(changes)]
        )
    trim = trim_up_to(first, last)
    if trim is not None:
        conn.execute("DELETE FROM changes WHERE seq <= %s", (trim,))


class PostgresView:
    """The CatalogView of one REPEATABLE READ transaction."""

    def __init__(self, conn: psycopg.Connection, build_timeout_seconds: float):
        self._conn = conn
        self._build_timeout = f"{round(build_timeout_seconds * 1000)}ms"

    def feed_position(self) -> FeedPosition:
        return FeedPosition(*self._conn.execute("SELECT epoch, seq FROM feed WHERE singleton").fetchone())

    def changes_after(self, seq: int, limit: int) -> Sequence[FeedEntry]:
        rows = self._conn.execute("SELECT seq, change FROM changes WHERE seq > %s ORDER BY seq LIMIT %s", (seq, limit))
        return [FeedEntry(number, decode(text)) for number, text in rows]

    def images(self, ids: Sequence[int]) -> list[ImageRecord]:
        if not ids:
            return []
        by_id = _records_with_tags(self._conn, ids)
        return [by_id[image_id] for image_id in ids if image_id in by_id]

    # The build reads every row: each list of ids comes packed as 8-byte
    # integers in one bytea (int8send), sent in binary and streamed a row at
    # a time, which become arrays at C speed rather than a million Python
    # integers, and never a whole result held in memory at once.

    def image_keys(self) -> tuple[Sequence[int], Sequence[int]]:
        self._conn.execute("SELECT set_config('statement_timeout', %s, true)", (self._build_timeout,))
        # One sort: pairs of (created_timestamp, id), split apart here.
        ((pairs,),) = self._stream(
            "SELECT string_agg(int8send(created_timestamp) || int8send(id), ''::bytea ORDER BY created_timestamp, id)"
            " FROM images"
        )
        keys = _int64s(pairs)
        return keys[1::2], keys[0::2]

    def uploaded_image_ids(self) -> Sequence[int]:
        ((ids,),) = self._stream(f"SELECT {_packed('id')} FROM images WHERE uploaded_timestamp IS NOT NULL")
        return _int64s(ids)

    def image_ids_by_creator(self) -> Iterator[tuple[str, Sequence[int]]]:
        for name, ids in self._stream(f"SELECT created_by, {_packed('id')} FROM images GROUP BY created_by"):
            yield name, _int64s(ids)

    def tags(self) -> Sequence[Tag]:
        return [Tag(*row) for row in self._conn.execute("SELECT id, name FROM tags")]

    def image_ids_by_tag(self) -> Iterator[tuple[int, Sequence[int]]]:
        for tag_id, ids in self._stream(f"SELECT tag_id, {_packed('image_id')} FROM image_tags GROUP BY tag_id"):
            yield tag_id, _int64s(ids)

    def _stream(self, sql: str) -> Iterator[tuple]:
        with self._conn.cursor(binary=True) as cursor:
            yield from cursor.stream(sql)


def _packed(column: str) -> str:
    """SQL aggregating a bigint column into one bytea of big-endian 8-byte integers."""
    return f"string_agg(int8send({column}), ''::bytea)"


def _int64s(packed: bytes | None) -> array:
    numbers = array("q")
    numbers.frombytes(packed or b"")
    if sys.byteorder == "little":
        numbers.byteswap()
    return numbers
