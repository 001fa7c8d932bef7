import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from tim.adapters.sqlite.repository import SqliteRepository
from tim.adapters.sqlite.tokens import SqliteTokenRepository


@pytest.fixture(scope="session")
def sqlite_repositories():
    @contextmanager
    def fresh():
        # A new file each time (hypothesis calls this many times per test,
        # which a function-scoped tmp_path could not serve).
        with tempfile.TemporaryDirectory(prefix="tim-sqlite-") as folder:
            repository = SqliteRepository.open(Path(folder) / "tim.db")
            try:
                yield repository
            finally:
                repository.close()

    return fresh


@pytest.fixture(scope="session")
def sqlite_token_stores():
    @contextmanager
    def fresh():
        with tempfile.TemporaryDirectory(prefix="tim-sqlite-") as folder:
            tokens = SqliteTokenRepository.open(Path(folder) / "tim.db")
            try:
                yield tokens
            finally:
                tokens.close()

    return fresh
