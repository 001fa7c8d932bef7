import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from tim.adapters.sqlite.repository import SqliteRepository
from tim.adapters.sqlite.tokens import SqliteTokenRepository


def fresh_files(open_store):
    """A factory of stores opened on a new file each time (hypothesis calls
    it many times per test, which a function-scoped tmp_path could not serve)."""

    @contextmanager
    def fresh():
        with tempfile.TemporaryDirectory(prefix="tim-sqlite-") as folder:
            store = open_store(Path(folder) / "tim.db")
            try:
                yield store
            finally:
                store.close()

    return fresh


@pytest.fixture(scope="session")
def sqlite_repositories():
    return fresh_files(SqliteRepository.open)


@pytest.fixture(scope="session")
def sqlite_token_stores():
    return fresh_files(SqliteTokenRepository.open)
