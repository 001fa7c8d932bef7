"""A PostgreSQL that cannot be reached is StorageUnavailable, never a raw
psycopg error (which the HTTP layer would turn into a 500)."""

import socket

import psycopg
import pytest
from psycopg import sql

from tim.adapters.postgres.repository import PostgresRepository
from tim.domain.model.errors import StorageUnavailable


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_opening_a_closed_port_is_storage_unavailable():
    port = closed_port()
    with pytest.raises(StorageUnavailable, match="PostgreSQL database is unavailable") as failure:
        PostgresRepository.open(f"postgresql://postgres@127.0.0.1:{port}/tim")
    assert str(port) in failure.value.message
    assert isinstance(failure.value.__cause__, psycopg.OperationalError)


def test_a_database_closed_to_connections_after_opening_is_storage_unavailable(
    postgres_databases, postgres_server_url
):
    url = postgres_databases()
    name = url.rsplit("/", 1)[1]
    repository = PostgresRepository.open(url, timeout=1)
    try:
        tag = repository.add_tag("before")
        with psycopg.connect(postgres_server_url, autocommit=True) as admin:
            admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(name)))
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        with pytest.raises(StorageUnavailable):
            repository.get_tag(tag.id)
        with pytest.raises(StorageUnavailable):
            list(repository.pending_images(created_before=10**10))
    finally:
        repository.close()


def test_a_closed_repository_is_storage_unavailable(postgres_repository_url):
    repository = PostgresRepository.open(postgres_repository_url)
    repository.close()
    with pytest.raises(StorageUnavailable):
        repository.add_tag("after")
