"""Fixtures for end-to-end tests: `serve(data_dir, ...)` starts a real
`tim serve` and waits until it answers; every server a test started is
stopped (SIGTERM, then kill) when the fixture's scope ends.
`shared_stores` is a fresh PostgreSQL database and S3 bucket for servers
that scale out."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from e2e.http_servers import Server, Servers, SharedStores


@pytest.fixture
def serve() -> Iterator[Servers]:
    """Start servers for one test."""
    servers = Servers()
    yield servers
    servers.stop_all()


@pytest.fixture(scope="module")
def module_server(tmp_path_factory) -> Iterator[Server]:
    """One server shared by the tests of a module, on a fresh data directory."""
    servers = Servers()
    yield servers(tmp_path_factory.mktemp("tim") / "data")
    servers.stop_all()


@pytest.fixture
def client(module_server) -> Iterator[httpx.Client]:
    with module_server.client() as client:
        yield client


@pytest.fixture(scope="session")
def new_shared_stores(postgres_databases, s3_server) -> Iterator[Callable[[], SharedStores]]:
    """Makes a fresh PostgreSQL database and S3 bucket (on moto) per call."""
    made: list[SharedStores] = []

    def new() -> SharedStores:
        made.append(SharedStores(postgres_databases(), s3_server))
        return made[-1]

    yield new
    for stores in made:
        stores.s3.close()


@pytest.fixture
def shared_stores(new_shared_stores) -> SharedStores:
    return new_shared_stores()
