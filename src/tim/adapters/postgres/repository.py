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

import secrets
import sys
import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import psycopg
from psycopg import IsolationLevel
from psycopg.errors import UniqueViolation
from psycopg_pool import ConnectionPool

from tim.adapters.clock import unattributed
from tim.adapters.fact_rows import NEW_IMAGE_COLUMNS, dicom_from_text, dicom_text, new_image_row
from tim.adapters.feed_rows import decode, encode, trim_up_to
from tim.adapters.history_rows import event_row, events_of_images, insert_events, select_events, stored_event
from tim.adapters.postgres.connection import connect, open_pool, unavailable_as_domain_error
from tim.adapters.postgres.schema import migrate
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
from tim.domain.model.errors import ImagesNotFound, NotFound, TagNameTaken
from tim.domain.model.facts import FileFacts
from tim.domain.model.history import Actor, Event, HistoryQuery, NewEvent
from tim.domain.model.images import ImageRecord, NewImage
from tim.domain.model.paging import Page, PageRequest
from tim.domain.model.tags import Tag, check_merge, sorted_names, sorted_tags

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
# KEY SHARE keeps the tags from being deleted, renamed or merged before we commit.
_LOCK_TAGS_NAMED = (
    'SELECT id, name FROM tags WHERE name = ANY(%s) AND alias_of IS NULL ORDER BY name COLLATE "C" FOR KEY SHARE'
)
_ALIASES_NAMED = "SELECT name, alias_of FROM tags WHERE name = ANY(%s) AND alias_of IS NOT NULL"
_LOCK_TAGS = "SELECT id, name, alias_of FROM tags WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE"
# The tag each name means, by its own name or as an alias (no lock: for removals).
_TAGS_MEANT = (
    "SELECT a.name, t.id, t.name FROM tags a JOIN tags t ON t.id = coalesce(a.alias_of, a.id) WHERE a.name = ANY(%s)"
)


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
            record = _record(row, tags)
            _events(conn, NewEvent.created(record))
            if uploaded:
                _events(conn, NewEvent.uploaded(record, image.uploaded_timestamp))
            _record_changes(conn, *new_tags, ImageAdded(row[0], image.created_timestamp, image.created_by, uploaded, tag_ids))
            return record

    def get_image(self, image_id: int) -> ImageRecord | None:
        with self._transaction(snapshot=True) as conn:
            return _one(conn, f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.id = %s", (image_id,))

    def get_image_by_blob_key(self, blob_key: str) -> ImageRecord | None:
        with self._transaction(snapshot=True) as conn:
            return _one(conn, f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.blob_key = %s", (blob_key,))

    def set_image_tags(
        self, image_id: int, tag_names: Sequence[str], *, actor: Actor | None = None
    ) -> ImageRecord | None:
        with self._transaction() as conn:
            # The row lock makes concurrent replacements of one image's tags take turns.
            row = conn.execute(
                f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.id = %s FOR NO KEY UPDATE", (image_id,)
            ).fetchone()
            if row is None:
                return None
            tags, new_tags = _tags_named(conn, tag_names)
            removed = dict(
                conn.execute(
                    "DELETE FROM image_tags x USING tags t WHERE t.id = x.tag_id AND x.image_id = %s"
                    " AND x.tag_id <> ALL(%s) RETURNING x.tag_id, t.name",
                    (image_id, [tag.id for tag in tags]),
                ).fetchall()
            )
            added = _link(conn, image_id, tags)
            changes: list[Change] = list(new_tags)
            if added or removed:
                changes.append(ImageRetagged(image_id, row[4], added, tuple(removed), not tags))
                names = sorted_names(tag.name for tag in tags if tag.id in added), sorted_names(removed.values())
                _events(conn, NewEvent.tagged(actor or unattributed(), image_id, *names, "replace"))
            _record_changes(conn, *changes)
            return _record(row, tags)

    def edit_image_tags(self, image_ids: Sequence[int], edit: TagEdit, *, actor: Actor, via: str) -> int:
        with self._transaction() as conn:
            # Locked in id order: concurrent edits of an image take turns (so
            # none is lost), edits of many images never deadlock, and an
            # image deleted meanwhile is not found.
            created = dict(
                conn.execute(
                    "SELECT id, created_timestamp FROM images WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                    (list(image_ids),),
                ).fetchall()
            )
            missing = [image_id for image_id in image_ids if image_id not in created]
            if missing:
                raise ImagesNotFound(missing)
            added, new_tags = _tags_named(conn, edit.add)
            removed = {tag_id for _, tag_id, _ in conn.execute(_TAGS_MEANT, (list(edit.remove),))}
            current: dict[int, dict[int, str]] = {image_id: {} for image_id in image_ids}
            for image_id, tag_id, name in conn.execute(
                "SELECT x.image_id, t.id, t.name FROM image_tags x JOIN tags t ON t.id = x.tag_id"
                " WHERE x.image_id = ANY(%s)",
                (list(image_ids),),
            ):
                current[image_id][tag_id] = name
            names = {tag.id: tag.name for tag in added} | {i: n for tags in current.values() for i, n in tags.items()}
            added_ids = [tag.id for tag in added]
            # Every image is checked before any is changed: a refusal rolls back the lot.
            plans = [(i, edit.applied(i, current[i].keys(), added_ids, removed)) for i in image_ids]
            links_out, links_in, events, changes = [], [], [], []
            for image_id, after in plans:
                gone = [tag_id for tag_id in current[image_id] if tag_id not in after]
                new = [tag_id for tag_id in after if tag_id not in current[image_id]]
                if not gone and not new:
                    continue
                links_out += [(image_id, tag_id) for tag_id in gone]
                links_in += [(image_id, tag_id) for tag_id in new]
                changes.append(ImageRetagged(image_id, created[image_id], tuple(new), tuple(gone), not after))
                added_names, removed_names = sorted_names(names[t] for t in new), sorted_names(names[t] for t in gone)
                events.append(NewEvent.tagged(actor, image_id, added_names, removed_names, via))
            if links_out:
                conn.execute(
                    "DELETE FROM image_tags"
                    " WHERE (image_id, tag_id) IN (SELECT * FROM unnest(%s::bigint[], %s::bigint[]))",
                    ([i for i, _ in links_out], [t for _, t in links_out]),
                )
            if links_in:
                conn.execute(
                    "INSERT INTO image_tags (image_id, tag_id) SELECT * FROM unnest(%s::bigint[], %s::bigint[])",
                    ([i for i, _ in links_in], [t for _, t in links_in]),
                )
            _events(conn, *events)
            _record_changes(conn, *new_tags, *changes)
            return len(changes)

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
                record = _records(conn, [row])[0]
                _events(conn, NewEvent.uploaded(record, timestamp))
                _record_changes(conn, ImageUploaded(image_id, row[4]))
                return record
            return _one(conn, f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.id = %s", (image_id,))

    def images_with_sha256(self, sha256: str) -> list[ImageRecord]:
        with self._transaction(snapshot=True) as conn:
            rows = conn.execute(f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.sha256 = %s", (sha256,)).fetchall()
            return _records(conn, rows)

    def delete_image(
        self, image_id: int, *, pending_only: bool = False, actor: Actor | None = None
    ) -> ImageRecord | None:
        with self._transaction() as conn:
            # Locked first, so of two concurrent deletes only one returns the
            # record, and a concurrent mark_uploaded is seen by pending_only.
            record = _one(conn, f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.id = %s FOR UPDATE", (image_id,))
            if record is not None and pending_only and record.is_uploaded:
                return None
            if record is not None:
                conn.execute("DELETE FROM images WHERE id = %s", (image_id,))
                tag_ids = tuple(tag.id for tag in record.tags)
                _events(conn, NewEvent.deleted(actor or unattributed(), record))
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
            total = conn.execute("SELECT count(*) FROM tags WHERE alias_of IS NULL").fetchone()[0]
            ranks = page.window(total)
            rows = conn.execute(
                "SELECT id, name FROM tags WHERE alias_of IS NULL"
                ' ORDER BY folded_name COLLATE "C", name COLLATE "C" LIMIT %s OFFSET %s',
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
                    raise TagNameTaken(holder, name)

    def get_tag(self, tag_id: int) -> Tag | None:
        with self._transaction(snapshot=True) as conn:
            row = conn.execute("SELECT id, name FROM tags WHERE id = %s AND alias_of IS NULL", (tag_id,)).fetchone()
        return None if row is None else Tag(*row)

    def rename_tag(self, tag_id: int, name: str, *, actor: Actor | None = None) -> Tag | None:
        with self._transaction() as conn:
            current = _lock_tag(conn, tag_id)
            if current is None:
                return None
            if current.name == name:
                return current
            template = NewEvent.tag_renamed(actor or unattributed(), current, name)
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
                        raise TagNameTaken(holder, name) from None
                    continue
                _events_of_images(conn, tag_id, template)
                _events(conn, template)
                _record_changes(conn, TagRenamed(tag_id, name))
                return Tag(*row)

    def delete_tag(self, tag_id: int, *, actor: Actor | None = None) -> bool:
        with self._transaction() as conn:
            tag = _lock_tag(conn, tag_id)
            if tag is None:
                return False
            template = NewEvent.tag_deleted(actor or unattributed(), tag)
            _events_of_images(conn, tag_id, template)
            conn.execute("DELETE FROM tags WHERE id = %s", (tag_id,))  # links and aliases go by ON DELETE CASCADE
            _record_changes(conn, TagDeleted(tag_id))
            return True

    def merge_tags(self, source: int, into: int, *, actor: Actor | None = None) -> Tag:
        with self._transaction() as conn:
            # Both locked (in id order) before any link is read: a writer that
            # locked either first commits first, and its links are moved too.
            locked = {
                row[0]: Tag(*row)
                for row in conn.execute(
                    "SELECT id, name FROM tags WHERE id = ANY(%s) AND alias_of IS NULL ORDER BY id FOR UPDATE",
                    ([source, into],),
                )
            }
            for tag_id in (source, into):
                if tag_id not in locked:
                    raise NotFound(f"tag {tag_id} does not exist")
            check_merge(source, into)
            actor = actor or unattributed()
            merged, kept = locked[source], locked[into]
            template = NewEvent.tags_merged(actor, merged, kept)
            had_into = NewEvent.tags_merged(actor, merged, kept, had_into=True)
            _events_of_images(conn, source, template, had=(into, had_into))
            _events(conn, NewEvent.tags_merged(actor, merged, kept))
            conn.execute(
                "INSERT INTO image_tags (image_id, tag_id) SELECT image_id, %s FROM image_tags WHERE tag_id = %s"
                " ON CONFLICT DO NOTHING",
                (into, source),
            )
            conn.execute("DELETE FROM image_tags WHERE tag_id = %s", (source,))
            conn.execute("UPDATE tags SET alias_of = %s WHERE id = %s OR alias_of = %s", (into, source, source))
            _record_changes(conn, TagsMerged(source, into, merged.name))
            return kept

    def remove_alias(self, tag_id: int, name: str) -> bool:
        with self._transaction() as conn:
            if conn.execute("DELETE FROM tags WHERE name = %s AND alias_of = %s", (name, tag_id)).rowcount == 0:
                return False
            _record_changes(conn, AliasRemoved(name))
            return True

    def history(
        self, query: HistoryQuery, *, after: Sequence[int] | None = None, limit: int | None = None
    ) -> list[Event]:
        with self._transaction(snapshot=True) as conn:
            rows = conn.execute(*select_events(query, after, limit, "%s")).fetchall()
        return [stored_event(row) for row in rows]

    def kept_secret(self, name: str) -> bytes:
        key = f"secret:{name}"
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                (key, secrets.token_hex(32)),
            )
            return bytes.fromhex(conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()[0])


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
    """The tag a name means: its own, or the one it is an alias of."""
    row = conn.execute(_TAGS_MEANT, ([name],)).fetchone()
    return None if row is None else Tag(row[1], row[2])


def _lock_tag(conn: psycopg.Connection, tag_id: int) -> Tag | None:
    row = conn.execute("SELECT id, name FROM tags WHERE id = %s AND alias_of IS NULL FOR UPDATE", (tag_id,)).fetchone()
    return None if row is None else Tag(*row)


def _tags_named(conn: psycopg.Connection, names: Iterable[str]) -> tuple[list[Tag], list[TagAdded]]:
    """The tags these names mean (their own, or an alias's), created where
    missing, locked until commit; and the tags this created."""
    found: dict[str, Tag] = {}
    created: list[TagAdded] = []
    missing = list(dict.fromkeys(names))
    while missing:
        for tag_id, name in conn.execute(_LOCK_TAGS_NAMED, (missing,)):
            found[name] = Tag(tag_id, name)
        rest = [name for name in missing if name not in found]
        pointing = dict(conn.execute(_ALIASES_NAMED, (rest,)).fetchall()) if rest else {}
        while pointing:  # lock the tags aliases mean; one merged meanwhile is an alias itself now: on to its tag
            locked = {row[0]: row for row in conn.execute(_LOCK_TAGS, (sorted(set(pointing.values())),))}
            onward = {}
            for alias, target in pointing.items():
                row = locked.get(target)
                if row is not None and row[2] is None:
                    found[alias] = Tag(row[0], row[1])
                elif row is not None:
                    onward[alias] = row[2]
                # else its tag was deleted, and the alias with it: the name is free
            pointing = onward
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
    unique = {tag.id: tag for tag in found.values()}  # a tag and its alias mean one tag
    return list(unique.values()), sorted(created, key=lambda change: change.tag_id)


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


def _events(conn: psycopg.Connection, *events: NewEvent) -> None:
    if events:
        with conn.cursor() as cursor:
            cursor.executemany(insert_events("%s"), [event_row(event) for event in events])


def _events_of_images(
    conn: psycopg.Connection, tag_id: int, template: NewEvent, had: tuple[int, NewEvent] | None = None
) -> None:
    conn.execute(*events_of_images(tag_id, template, had, "%s"))


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
        return [Tag(*row) for row in self._conn.execute("SELECT id, name FROM tags WHERE alias_of IS NULL")]

    def aliases(self) -> Sequence[tuple[str, int]]:
        return self._conn.execute("SELECT name, alias_of FROM tags WHERE alias_of IS NOT NULL").fetchall()

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
