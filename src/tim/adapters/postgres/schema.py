"""The PostgreSQL schema, as numbered migrations applied in order.

Every process that opens a repository calls `migrate`. It takes a
transaction-scoped advisory lock before it even looks at the schema, so
processes starting together queue up; each re-reads the version once it holds
the lock, so every migration runs exactly once and a late starter finds the
work done.
"""

from __future__ import annotations

import unicodedata

import psycopg

from tim.domain.model.errors import StorageUnavailable

# The advisory lock key that serialises migrations (advisory locks are per
# database, so databases on one server do not wait for each other).
MIGRATION_LOCK = int.from_bytes(b"tim:sche", "big")

# Tag names are stored with COLLATE "C": byte order of UTF-8 is code-point
# order, which is how Python compares strings, so ORDER BY on these columns
# agrees with tim.domain.model.tags.tag_order (the database's default
# collation would not). `folded_name` is str.casefold() computed in Python:
# PostgreSQL's lower() folds differently (ß, final sigma, dotted I).
_VERSION_1 = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """
    CREATE TABLE images (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        filename text NOT NULL,
        size bigint NOT NULL,
        created_by text NOT NULL,
        created_timestamp bigint NOT NULL,
        blob_key text NOT NULL UNIQUE,
        uploaded_timestamp bigint
    )
    """,
    # Newest first, ties by id: the browse order, also serving date ranges.
    "CREATE INDEX images_newest ON images (created_timestamp DESC, id DESC)",
    "CREATE INDEX images_uploaded_newest ON images (created_timestamp DESC, id DESC)"
    " WHERE uploaded_timestamp IS NOT NULL",
    "CREATE INDEX images_by_creator_newest ON images (created_by, created_timestamp DESC, id DESC)",
    # Sweeps walk the (few) pending records by id.
    "CREATE INDEX images_pending ON images (id) INCLUDE (created_timestamp) WHERE uploaded_timestamp IS NULL",
    """
    CREATE TABLE tags (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text COLLATE "C" NOT NULL UNIQUE,
        folded_name text COLLATE "C" NOT NULL
    )
    """,
    # Alphabetical listing, and literal (wildcard-free) match patterns.
    "CREATE INDEX tags_alphabetical ON tags (folded_name, name)",
    # Match patterns with wildcards anywhere, e.g. '%lung%'. Tags are written
    # rarely and searched often: without fastupdate new names go straight into
    # the index instead of a pending list that every search scans until vacuum.
    "CREATE INDEX tags_folded_trigrams ON tags USING gin (folded_name gin_trgm_ops) WITH (fastupdate = off)",
    """
    CREATE TABLE image_tags (
        image_id bigint NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        tag_id bigint NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
        PRIMARY KEY (image_id, tag_id)
    )
    """,
    # A tag's images (the primary key serves an image's tags).
    "CREATE INDEX image_tags_by_tag ON image_tags (tag_id, image_id)",
)

# API tokens, by name, found by the SHA-256 digest of their secret (never the
# secret itself). COLLATE "C": listed in code point order, as Python sorts.
_VERSION_2 = (
    """
    CREATE TABLE api_tokens (
        name text COLLATE "C" PRIMARY KEY,
        scope text NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
        digest bytea NOT NULL UNIQUE CHECK (length(digest) = 32),
        created_timestamp bigint NOT NULL
    )
    """,
)

# The change feed: `feed` holds the epoch and the last sequence number in
# one row, which every write transaction updates last (its row lock makes
# writers commit in sequence order); `changes` keeps the recent changes.
# Searches run on the search index now, so the trigram index goes. `meta`
# records which Unicode version computed tags.folded_name.
_VERSION_3 = (
    """
    CREATE TABLE feed (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        epoch text NOT NULL,
        seq bigint NOT NULL
    )
    """,
    "INSERT INTO feed (epoch, seq) VALUES (substr(md5(random()::text || clock_timestamp()::text), 1, 16), 0)",
    "CREATE TABLE changes (seq bigint PRIMARY KEY, change text NOT NULL)",
    "DROP INDEX tags_folded_trigrams",
    "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)",
)

# File facts: null until the file is stored (sha256 may be declared before);
# `dicom` holds the allowlisted DICOM attributes as a JSON object. The
# partial index finds a file's duplicates.
_VERSION_4 = (
    "ALTER TABLE images ADD COLUMN sha256 text, ADD COLUMN content_type text, ADD COLUMN dicom text",
    "CREATE INDEX images_by_sha256 ON images (sha256) WHERE sha256 IS NOT NULL",
)

# Aliases and history. A merged tag's row stays as an alias of the tag it
# was merged into (`alias_of`), so the one unique name column keeps tag and
# alias names apart, and a writer that locks a name's row meets a merge of
# it. `history` keeps every event (no foreign key: events outlive their
# image), newest first by (at, id), found by image and by principal.
_VERSION_5 = (
    "ALTER TABLE tags ADD COLUMN alias_of bigint REFERENCES tags (id) ON DELETE CASCADE",
    "CREATE INDEX tags_aliases ON tags (alias_of) WHERE alias_of IS NOT NULL",
    "DROP INDEX tags_alphabetical",
    "CREATE INDEX tags_alphabetical ON tags (folded_name, name) WHERE alias_of IS NULL",
    """
    CREATE TABLE history (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at bigint NOT NULL,
        actor text COLLATE "C" NOT NULL,
        action text NOT NULL,
        image_id bigint,
        added text NOT NULL,
        removed text NOT NULL,
        details text NOT NULL
    )
    """,
    "CREATE INDEX history_newest ON history (at, id)",
    "CREATE INDEX history_of_image ON history (image_id, at, id)",
    "CREATE INDEX history_by ON history (actor, at, id)",
)

# MIGRATIONS[n - 1] brings the schema from version n - 1 to version n.
# Append new versions; never edit one that has shipped.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_VERSION_1, _VERSION_2, _VERSION_3, _VERSION_4, _VERSION_5)
FOLDED_WITH = "folded_with_unicode"
LATEST_VERSION = len(MIGRATIONS)


def migrate(conn: psycopg.Connection) -> int:
    """Bring the database to LATEST_VERSION in one transaction; returns the
    version found before."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version integer PRIMARY KEY,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        found = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
        if found > LATEST_VERSION:
            raise StorageUnavailable(
                f"the PostgreSQL schema is at version {found}, newer than this tim knows"
                f" ({LATEST_VERSION}); upgrade tim"
            )
        for version in range(found + 1, LATEST_VERSION + 1):
            for statement in MIGRATIONS[version - 1]:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
        _refold_if_needed(conn)
    return found


def _refold_if_needed(conn: psycopg.Connection) -> None:
    """Recompute tags.folded_name when this Python's Unicode version is not
    the one that computed it: case folding changes between versions."""
    row = conn.execute("SELECT value FROM meta WHERE key = %s", (FOLDED_WITH,)).fetchone()
    if row is not None and row[0] == unicodedata.unidata_version:
        return
    with conn.cursor() as cursor:
        tags = cursor.execute("SELECT id, name FROM tags").fetchall()
        cursor.executemany("UPDATE tags SET folded_name = %s WHERE id = %s", [(name.casefold(), tag_id) for tag_id, name in tags])
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (FOLDED_WITH, unicodedata.unidata_version),
    )
