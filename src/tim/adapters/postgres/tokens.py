"""API tokens in the same PostgreSQL database as the images (schema version 2),
through a small pool of their own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool

from tim.adapters.postgres.connection import connect, open_pool, unavailable_as_domain_error
from tim.adapters.postgres.schema import migrate
from tim.domain.model.access import ApiToken, Scope, StoredToken, TokenNameTaken

_COLUMNS = "name, scope, created_timestamp, digest"


class PostgresTokenRepository:
    """The TokenRepository port on PostgreSQL."""

    def __init__(self, pool: ConnectionPool):
        self._pool = pool

    @classmethod
    def open(
        cls, url: str, *, max_connections: int = 4, timeout: float = 10.0, statement_timeout_seconds: float = 5.0
    ) -> PostgresTokenRepository:
        """Migrate the database to the current schema and open the pool."""
        with unavailable_as_domain_error():
            with connect(url) as conn:
                migrate(conn)
            return cls(
                open_pool(url, max_size=max_connections, timeout=timeout, statement_timeout_seconds=statement_timeout_seconds)
            )

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection]:
        with unavailable_as_domain_error(), self._pool.connection() as conn, conn.transaction():
            yield conn

    def add_token(self, token: StoredToken) -> None:
        with self._transaction() as conn:
            # The primary key, not a prior check, decides between racing creators.
            added = conn.execute(
                f"INSERT INTO api_tokens ({_COLUMNS}) VALUES (%s, %s, %s, %s) ON CONFLICT (name) DO NOTHING"
                " RETURNING name",
                (token.token.name, token.token.scope.label, token.token.created_timestamp, token.digest),
            ).fetchone()
            if added is None:
                raise TokenNameTaken(token.token.name)

    def find_token(self, digest: bytes) -> StoredToken | None:
        with self._transaction() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM api_tokens WHERE digest = %s", (digest,)).fetchone()
        return None if row is None else _stored(row)

    def list_tokens(self) -> list[StoredToken]:
        with self._transaction() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM api_tokens ORDER BY name").fetchall()
        return [_stored(row) for row in rows]

    def delete_token(self, name: str) -> bool:
        with self._transaction() as conn:
            return conn.execute("DELETE FROM api_tokens WHERE name = %s", (name,)).rowcount > 0

    def close(self) -> None:
        self._pool.close()


def _stored(row: tuple) -> StoredToken:
    name, scope, created_timestamp, digest = row
    return StoredToken(ApiToken(name, Scope.parse(scope), created_timestamp), bytes(digest))
