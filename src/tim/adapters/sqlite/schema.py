"""The SQLite schema, as numbered migrations that run when a file is opened.

`PRAGMA user_version` holds how many migrations a file has had. They run in a
BEGIN IMMEDIATE transaction that re-reads the version first, so when several
processes open a new file at once one migrates and the others find it done.
Released migrations are never edited; a change to the schema is a new entry.

Why the indexes (sized for a million images and ten thousand tags): they
serve the search index's build (every image in newest-first order, the
uploaded ones, each creator's and each tag's images) and the lookups by id,
blob key and name; searches themselves run on the search index.
- images_pending: the few records still waiting for their file, by id.
- tags.folded is name.casefold(), recomputed when Python's Unicode version
  changes; tags_alphabetical serves the tag list's order (case folding
  leaves no ASCII capitals, so NOCASE orders it exactly like BINARY).
- image_tags keeps each image's created_timestamp (from version 1, when
  searches ran in SQL); image_tags_newest lists a tag's images.

File facts (version 4): `sha256`, `content_type` and `dicom` (the allowlisted
attributes as JSON); images_by_sha256 finds a file's duplicates.

The change feed (version 3): `feed` holds its epoch and last sequence
number in one row, which every write transaction updates; `changes` holds
the recent changes, trimmed as it grows.

Aliases and history (version 4): a merged tag's row stays as an alias of
the tag it was merged into (`alias_of`), so the one UNIQUE name column
keeps tag and alias names apart; tags_alphabetical lists real tags only.
`history` keeps every event, newest first by (at, id), found by image and
by principal through their indexes.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from pathlib import Path

from tim.adapters.sqlite.connections import ConnectionPool, connect, translated_errors, use_wal
from tim.domain.model.errors import StorageUnavailable
from tim.domain.model.tags import tag_order

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: images, tags and the links between them
        """
        CREATE TABLE images (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids are never reused
            filename TEXT NOT NULL,
            size INTEGER NOT NULL,
            created_by TEXT NOT NULL,
            created_timestamp INTEGER NOT NULL,
            blob_key TEXT NOT NULL UNIQUE,
            uploaded_timestamp INTEGER
        )
        """,
        "CREATE INDEX images_newest ON images (created_timestamp)",
        (
            "CREATE INDEX images_uploaded_newest ON images (created_timestamp, id, uploaded_timestamp)"
            " WHERE uploaded_timestamp IS NOT NULL"
        ),
        "CREATE INDEX images_by_creator ON images (created_by, created_timestamp)",
        "CREATE INDEX images_pending ON images (id) WHERE uploaded_timestamp IS NULL",
        """
        CREATE TABLE tags (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            folded TEXT NOT NULL COLLATE NOCASE,
            image_count INTEGER NOT NULL DEFAULT 0
        )
        """,
        "CREATE INDEX tags_alphabetical ON tags (folded, name)",
        """
        CREATE TABLE image_tags (
            image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
            tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
            created_timestamp INTEGER NOT NULL,
            PRIMARY KEY (image_id, tag_id)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX image_tags_newest ON image_tags (tag_id, created_timestamp, image_id)",
        """
        CREATE TRIGGER image_tags_count_in AFTER INSERT ON image_tags BEGIN
            UPDATE tags SET image_count = image_count + 1 WHERE id = NEW.tag_id;
        END
        """,
        """
        CREATE TRIGGER image_tags_count_out AFTER DELETE ON image_tags BEGIN
            UPDATE tags SET image_count = image_count - 1 WHERE id = OLD.tag_id;
        END
        """,
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    ),
    (  # 2: API tokens, by name, found by the SHA-256 digest of their secret (never the secret)
        """
        CREATE TABLE api_tokens (
            name TEXT NOT NULL PRIMARY KEY,
            scope TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
            digest BLOB NOT NULL UNIQUE CHECK (length(digest) = 32),
            created_timestamp INTEGER NOT NULL
        )
        """,
    ),
    (  # 3: the change feed; tag counts and the indexes of SQL searches are gone
        "CREATE TABLE feed (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), epoch TEXT NOT NULL, seq INTEGER NOT NULL)",
        "INSERT INTO feed (singleton, epoch, seq) VALUES (1, lower(hex(randomblob(8))), 0)",
        "CREATE TABLE changes (seq INTEGER PRIMARY KEY, change TEXT NOT NULL)",
        "DROP TRIGGER image_tags_count_in",
        "DROP TRIGGER image_tags_count_out",
        "ALTER TABLE tags DROP COLUMN image_count",
    ),
    (  # 4: file facts (null until the file is stored; sha256 may be declared before), duplicates by digest
        "ALTER TABLE images ADD COLUMN sha256 TEXT",
        "ALTER TABLE images ADD COLUMN content_type TEXT",
        "ALTER TABLE images ADD COLUMN dicom TEXT",
        "CREATE INDEX images_by_sha256 ON images (sha256) WHERE sha256 IS NOT NULL",
    ),
    (  # 5: aliases (merged tags' rows) and history
        "ALTER TABLE tags ADD COLUMN alias_of INTEGER REFERENCES tags (id) ON DELETE CASCADE",
        "CREATE INDEX tags_aliases ON tags (alias_of) WHERE alias_of IS NOT NULL",
        "DROP INDEX tags_alphabetical",
        "CREATE INDEX tags_alphabetical ON tags (folded, name) WHERE alias_of IS NULL",
        """
        CREATE TABLE history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,  -- who made the change (an event's `by`)
            action TEXT NOT NULL,
            image_id INTEGER,  -- NULL: an event of a tag; no foreign key: kept after the image
            added TEXT NOT NULL,  -- JSON arrays of names
            removed TEXT NOT NULL,
            details TEXT NOT NULL  -- a JSON object
        )
        """,
        "CREATE INDEX history_newest ON history (at, id)",
        "CREATE INDEX history_of_image ON history (image_id, at, id)",
        "CREATE INDEX history_by ON history (actor, at, id)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

# Which Unicode version computed tags.folded: a Python with another version
# may fold some names differently, so the column is recomputed on open.
_FOLDED_WITH = "folded_with_unicode"


def folded(name: str) -> str:
    """The case-folded name that tags are ordered and matched by."""
    return tag_order(name)[0]


def user_version(connection: sqlite3.Connection) -> int:
    return connection.execute("PRAGMA user_version").fetchone()[0]


def migrate(connection: sqlite3.Connection) -> None:
    """Bring the file to SCHEMA_VERSION and tags.folded to this Python's Unicode."""
    if user_version(connection) == SCHEMA_VERSION and _folded_with(connection) == unicodedata.unidata_version:
        return  # the common case: no write lock needed
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = user_version(connection)  # again: another process may have migrated meanwhile
        if version > SCHEMA_VERSION:
            raise StorageUnavailable(f"the database has schema version {version}; this tim knows up to {SCHEMA_VERSION}")
        for number in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[number - 1]:
                connection.execute(statement)
            # PRAGMA takes no parameters; `number` is an int from this module.
            connection.execute(f"PRAGMA user_version = {int(number)}")
        if _folded_with(connection) != unicodedata.unidata_version:
            _refold(connection)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _folded_with(connection: sqlite3.Connection) -> str | None:
    if user_version(connection) < 1:
        return None
    row = connection.execute("SELECT value FROM meta WHERE key = ?", (_FOLDED_WITH,)).fetchone()
    return None if row is None else row[0]


def _refold(connection: sqlite3.Connection) -> None:
    for tag_id, name in connection.execute("SELECT id, name FROM tags").fetchall():
        connection.execute("UPDATE tags SET folded = ? WHERE id = ?", (folded(name), tag_id))
    connection.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (_FOLDED_WITH, unicodedata.unidata_version),
    )


def open_migrated(path: Path) -> ConnectionPool:
    """A pool on the file at `path`, created (with its folder) if need be,
    in WAL mode and migrated to the current schema."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StorageUnavailable(f"cannot create the folder for the SQLite database {str(path)!r}: {error}") from error
    with translated_errors(path):
        connection = connect(path)
        try:
            use_wal(connection)
            migrate(connection)
        finally:
            connection.close()
    return ConnectionPool(path)
