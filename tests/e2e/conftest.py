"""Fixtures for end-to-end tests: `serve(data_dir, ...)` starts a real
`tim serve` and waits until it answers; every server a test started is
stopped (SIGTERM, then kill) when the fixture's scope ends."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from e2e.http_servers import Server, Servers


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
