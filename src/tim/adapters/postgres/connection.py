"""Connecting to PostgreSQL, and turning connection trouble into a domain error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool

from tim.domain.model.errors import StorageUnavailable

# Used unless the URL says otherwise: fail a dead host in seconds rather than
# minutes, and name the client in pg_stat_activity.
_DEFAULTS = {"connect_timeout": 10, "application_name": "tim"}


@contextmanager
def unavailable_as_domain_error() -> Iterator[None]:
    """psycopg's OperationalError covers lost and refused connections, and the
    pool's timeouts and closed state derive from it: all mean "retry later"."""
    try:
        yield
    except psycopg.OperationalError as error:
        raise StorageUnavailable(f"the PostgreSQL database is unavailable: {_one_line(error)}") from error


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def conninfo(url: str, *, statement_timeout_seconds: float | None = None) -> str:
    """The URL with tim's defaults for what it leaves unset, and a
    statement_timeout: no statement of tim's can run (and hold memory and
    locks on a shared server) for longer."""
    given = conninfo_to_dict(url)
    settings: dict[str, object] = {key: value for key, value in _DEFAULTS.items() if key not in given}
    if statement_timeout_seconds is not None:
        milliseconds = max(1, round(statement_timeout_seconds * 1000))
        settings["options"] = f"{given.get('options', '')} -c statement_timeout={milliseconds}".strip()
    return make_conninfo(url, **settings)


# Migrations may rebuild indexes of large tables: bounded, but generously.
MIGRATION_STATEMENT_TIMEOUT_SECONDS = 600.0


def connect(url: str) -> psycopg.Connection:
    """One connection outside the pool, for migrations."""
    return psycopg.connect(conninfo(url, statement_timeout_seconds=MIGRATION_STATEMENT_TIMEOUT_SECONDS))


def open_pool(url: str, *, max_size: int, timeout: float, statement_timeout_seconds: float) -> ConnectionPool:
    """A pool that has one working connection, or StorageUnavailable."""
    pool = ConnectionPool(
        conninfo(url, statement_timeout_seconds=statement_timeout_seconds),
        min_size=1,
        max_size=max_size,
        timeout=timeout,
        # A connection the server dropped (restart, idle timeout) is replaced
        # on checkout instead of failing the request that drew it.
        check=ConnectionPool.check_connection,
        name="tim",
        open=False,
    )
    try:
        pool.open(wait=True, timeout=timeout)
    except BaseException:
        pool.close()
        raise
    return pool
