"""API tokens in the same SQLite file as the images (schema version 2).

A pool of its own on that file: token checks and image writes never hold
each other's connections.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tim.adapters.sqlite.connections import ConnectionPool
from tim.adapters.sqlite.schema import open_migrated
from tim.domain.model.access import ApiToken, Scope, StoredToken, TokenNameTaken

_COLUMNS = "name, scope, created_timestamp, digest"


class SqliteTokenRepository:
    """The TokenRepository port on a SQLite file."""

    def __init__(self, pool: ConnectionPool):
        self._pool = pool

    @classmethod
    def open(cls, path: Path) -> SqliteTokenRepository:
        """Open (creating it and its folder if needed) and migrate the file."""
        return cls(open_migrated(path))

    def add_token(self, token: StoredToken) -> None:
        with self._pool.transaction(write=True) as db:
            try:
                db.execute(
                    f"INSERT INTO api_tokens ({_COLUMNS}) VALUES (?, ?, ?, ?)",
                    (token.token.name, token.token.scope.label, token.token.created_timestamp, token.digest),
                )
            except sqlite3.IntegrityError:
                if db.execute("SELECT 1 FROM api_tokens WHERE name = ?", (token.token.name,)).fetchone():
                    raise TokenNameTaken(token.token.name) from None
                raise

    def find_token(self, digest: bytes) -> StoredToken | None:
        with self._pool.transaction(write=False) as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM api_tokens WHERE digest = ?", (digest,)).fetchone()
        return None if row is None else _stored(row)

    def list_tokens(self) -> list[StoredToken]:
        with self._pool.transaction(write=False) as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM api_tokens ORDER BY name").fetchall()
        return [_stored(row) for row in rows]

    def delete_token(self, name: str) -> bool:
        with self._pool.transaction(write=True) as db:
            return db.execute("DELETE FROM api_tokens WHERE name = ?", (name,)).rowcount > 0

    def close(self) -> None:
        self._pool.close()


def _stored(row: tuple) -> StoredToken:
    name, scope, created_timestamp, digest = row
    return StoredToken(ApiToken(name, Scope.parse(scope), created_timestamp), bytes(digest))
