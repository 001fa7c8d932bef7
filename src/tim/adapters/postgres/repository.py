"""Image records and tags in PostgreSQL.

Each method runs in one transaction on a connection from a pool that is
opened once. Reads that take more than one statement run on one snapshot
(REPEATABLE READ), so a page and its total agree. Missing tags are inserted
with INSERT ... ON CONFLICT DO NOTHING, and a name another writer inserted
first is then read with a SELECT in the same transaction: concurrent writers
with the same new names wait for each other instead of failing, and the
unique constraint, not a prior check, decides who created a tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import psycopg
from psycopg.errors import UniqueViolation
from psycopg_pool import ConnectionPool

from tim.adapters.postgres.connection import connect, open_pool, unavailable_as_domain_error
from tim.adapters.postgres.queries import IMAGE_COLUMNS, count_images, limit_and_offset, page_of_images
from tim.adapters.postgres.schema import migrate
from tim.domain.model.errors import TagNameTaken
from tim.domain.model.images import ImageRecord, NewImage
from tim.domain.model.paging import Page, PageRequest
from tim.domain.model.search import ImageQuery
from tim.domain.model.tags import Tag, sorted_tags

PENDING_BATCH = 500

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

    def __init__(self, pool: ConnectionPool):
        self._pool = pool

    @classmethod
    def open(cls, url: str, *, max_connections: int = 10, timeout: float = 10.0) -> PostgresRepository:
        """Migrate the database to the current schema and open the pool.
        `timeout` bounds how long a call waits for a connection."""
        with unavailable_as_domain_error():
            with connect(url) as conn:
                migrate(conn)
            return cls(open_pool(url, max_size=max_connections, timeout=timeout))

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def _transaction(self, *, snapshot: bool = False) -> Iterator[psycopg.Connection]:
        with unavailable_as_domain_error(), self._pool.connection() as conn, conn.transaction():
            if snapshot:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn

    # images

    def add_image(self, image: NewImage) -> ImageRecord:
        with self._transaction() as conn:
            row = conn.execute(
                "INSERT INTO images AS i (filename, size, created_by, created_timestamp, blob_key, uploaded_timestamp)"
                f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {IMAGE_COLUMNS}",
                (
                    image.filename,
                    image.size,
                    image.created_by,
                    image.created_timestamp,
                    image.blob_key,
                    image.uploaded_timestamp,
                ),
            ).fetchone()
            tags = _tags_named(conn, image.tag_names)
            _link(conn, row[0], tags)
            return _record(row, tags)

    def get_image(self, image_id: int) -> ImageRecord | None:
        with self._transaction(snapshot=True) as conn:
            return _one(conn, f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.id = %s", (image_id,))

    def get_image_by_blob_key(self, blob_key: str) -> ImageRecord | None:
        with self._transaction(snapshot=True) as conn:
            return _one(conn, f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.blob_key = %s", (blob_key,))

    def find_images(self, query: ImageQuery, page: PageRequest) -> Page[ImageRecord]:
        with self._transaction(snapshot=True) as conn:
            count = count_images(query)
            total = conn.execute(count.sql, count.params).fetchone()[0]
            wanted = page_of_images(query, page)
            records = _records(conn, conn.execute(wanted.sql, wanted.params).fetchall())
        return Page.of(records, total=total, request=page)

    def set_image_tags(self, image_id: int, tag_names: Sequence[str]) -> ImageRecord | None:
        with self._transaction() as conn:
            # The row lock makes concurrent replacements of one image's tags take turns.
            row = conn.execute(
                f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.id = %s FOR NO KEY UPDATE", (image_id,)
            ).fetchone()
            if row is None:
                return None
            tags = _tags_named(conn, tag_names)
            conn.execute(
                "DELETE FROM image_tags WHERE image_id = %s AND tag_id <> ALL(%s)",
                (image_id, [tag.id for tag in tags]),
            )
            _link(conn, image_id, tags)
            return _record(row, tags)

    def mark_uploaded(self, image_id: int, timestamp: int) -> ImageRecord | None:
        with self._transaction() as conn:
            row = conn.execute(
                f"UPDATE images AS i SET uploaded_timestamp = %s WHERE i.id = %s AND i.uploaded_timestamp IS NULL"
                f" RETURNING {IMAGE_COLUMNS}",
                (timestamp, image_id),
            ).fetchone()
            if row is not None:
                return _records(conn, [row])[0]
            return _one(conn, f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.id = %s", (image_id,))

    def delete_image(self, image_id: int, *, pending_only: bool = False) -> ImageRecord | None:
        with self._transaction() as conn:
            # Locked first, so of two concurrent deletes only one returns the
            # record, and a concurrent mark_uploaded is seen by pending_only.
            record = _one(conn, f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.id = %s FOR UPDATE", (image_id,))
            if record is not None and pending_only and record.is_uploaded:
                return None
            if record is not None:
                conn.execute("DELETE FROM images WHERE id = %s", (image_id,))
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
            rows = conn.execute(
                'SELECT id, name FROM tags ORDER BY folded_name COLLATE "C", name COLLATE "C" LIMIT %s OFFSET %s',
                limit_and_offset(page),
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
                return None if row is None else Tag(*row)

    def delete_tag(self, tag_id: int) -> bool:
        with self._transaction() as conn:
            return conn.execute("DELETE FROM tags WHERE id = %s", (tag_id,)).rowcount > 0


def _record(row: Sequence, tags: Iterable[Tag]) -> ImageRecord:
    image_id, filename, size, created_by, created_timestamp, blob_key, uploaded_timestamp = row
    return ImageRecord(
        id=image_id,
        filename=filename,
        size=size,
        created_by=created_by,
        created_timestamp=created_timestamp,
        blob_key=blob_key,
        tags=sorted_tags(tags),
        uploaded_timestamp=uploaded_timestamp,
    )


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


def _tags_named(conn: psycopg.Connection, names: Iterable[str]) -> list[Tag]:
    """The tags with these names, created where missing, locked until commit."""
    found: dict[str, Tag] = {}
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
        # Names another writer inserted first are committed now: the next round reads them.
        missing = [name for name in new if name not in found]
    return list(found.values())


def _link(conn: psycopg.Connection, image_id: int, tags: Sequence[Tag]) -> None:
    if tags:
        conn.execute(
            "INSERT INTO image_tags (image_id, tag_id) SELECT %s, unnest(%s::bigint[]) ON CONFLICT DO NOTHING",
            (image_id, [tag.id for tag in tags]),
        )
