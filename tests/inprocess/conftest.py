"""Fixtures for in-process HTTP tests: `client` speaks to the app of a
module through Starlette's TestClient. No process, port or socket: what
needs those (signals, restarts, uvicorn's parsers, slow clients, several
workers) is tested in tests/e2e."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from inprocess.apps import in_process, local_config, quiet
from tim.entrypoints.bootstrap import Config
from tim.entrypoints.http.app import create_app


@pytest.fixture(scope="module")
def app_config(tmp_path_factory) -> Config:
    """The configuration of the module's app; a module may override it."""
    return local_config(tmp_path_factory.mktemp("tim"))


@pytest.fixture(scope="module")
def client(app_config) -> Iterator[TestClient]:
    """One app shared by the tests of a module, on a fresh data directory."""
    with in_process(create_app(app_config, access_log=quiet())) as client:
        yield client
