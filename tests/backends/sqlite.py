import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from tim.adapters.sqlite.repository import SqliteRepository


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
