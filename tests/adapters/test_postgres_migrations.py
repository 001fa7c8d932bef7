"""Migrations on PostgreSQL: versioned, and safe when processes start together."""

import subprocess
import sys
import time
import unicodedata

import psycopg
import pytest

from tim.adapters.postgres.repository import PostgresRepository
from tim.adapters.postgres.schema import LATEST_VERSION, MIGRATION_LOCK, migrate
from tim.domain.model.errors import StorageUnavailable

# Each child reports in, then opens (and so migrates) the repository.
OPEN_REPOSITORY = """
import sys
from tim.adapters.postgres.repository import PostgresRepository
print("ready", flush=True)
PostgresRepository.open(sys.argv[1]).close()
"""


def versions(url):
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()


def waiting_for_the_migration_lock(conn) -> int:
    return conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ).fetchone()[0]


def test_two_processes_migrating_a_new_database_at_once(postgres_databases):
    url = postgres_databases()
    with psycopg.connect(url, autocommit=True) as holder, psycopg.connect(url, autocommit=True) as observer:
        # Hold the migration lock so that both processes queue on it and then
        # race for the new schema the moment it is released.
        holder.execute("BEGIN")
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        children = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_REPOSITORY, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        try:
            for child in children:
                assert child.stdout.readline().strip() == "ready"
            deadline = time.monotonic() + 60
            while waiting_for_the_migration_lock(observer) < 2:
                assert time.monotonic() < deadline, "the processes never reached the migration lock"
                time.sleep(0.05)
            holder.execute("ROLLBACK")
            outcomes = [child.communicate(timeout=60) for child in children]
        finally:
            for child in children:
                child.kill()
                child.wait()
    assert [child.returncode for child in children] == [0, 0], outcomes
    assert versions(url) == [(version,) for version in range(1, LATEST_VERSION + 1)]


def test_opening_again_finds_the_schema_current(postgres_repository_url):
    PostgresRepository.open(postgres_repository_url).close()
    with psycopg.connect(postgres_repository_url) as conn:
        assert migrate(conn) == LATEST_VERSION
    assert versions(postgres_repository_url) == [(version,) for version in range(1, LATEST_VERSION + 1)]


def test_a_schema_newer_than_the_code_is_refused(postgres_repository_url):
    with psycopg.connect(postgres_repository_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (LATEST_VERSION + 1,))
        try:
            with pytest.raises(StorageUnavailable, match="newer than this tim"):
                PostgresRepository.open(postgres_repository_url)
        finally:
            conn.execute("DELETE FROM schema_version WHERE version > %s", (LATEST_VERSION,))


def test_tag_names_are_folded_again_when_pythons_unicode_changes(postgres_databases):
    url = postgres_databases()
    repository = PostgresRepository.open(url)
    repository.add_tag("Straße")
    repository.close()
    with psycopg.connect(url) as conn:  # as a Python with another Unicode version left them
        conn.execute("UPDATE tags SET folded_name = 'folded by another unicode'")
        conn.execute("UPDATE meta SET value = '1.0.0' WHERE key = 'folded_with_unicode'")
    PostgresRepository.open(url).close()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT folded_name FROM tags").fetchall() == [("strasse",)]
        (version,) = conn.execute("SELECT value FROM meta WHERE key = 'folded_with_unicode'").fetchone()
    assert version == unicodedata.unidata_version


def test_every_connection_has_a_statement_timeout(postgres_databases):
    url = postgres_databases()
    repository = PostgresRepository.open(url, statement_timeout_seconds=1)
    try:
        with repository.read() as view:
            assert view._conn.execute("SHOW statement_timeout").fetchone() == ("1s",)
        began = time.monotonic()
        with pytest.raises(StorageUnavailable, match="statement timeout"), repository.read() as view:
            view._conn.execute("SELECT pg_sleep(5)")
        assert time.monotonic() - began < 3
    finally:
        repository.close()
    default = PostgresRepository.open(url)
    try:
        with default.read() as view:
            assert view._conn.execute("SHOW statement_timeout").fetchone() == ("5s",)
    finally:
        default.close()
