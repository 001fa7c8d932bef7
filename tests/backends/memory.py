from contextlib import contextmanager

import pytest

from tim.adapters.memory.blob_store import MemoryBlobStore
from tim.adapters.memory.repository import MemoryRepository
from tim.adapters.memory.tokens import MemoryTokenRepository
from tim.adapters.signed_urls import UrlSigner

TEST_SECRET = b"test-secret-of-at-least-16-bytes"
SERVED_BY_TIM = True


@pytest.fixture(scope="session")
def memory_repositories():
    @contextmanager
    def fresh():
        yield MemoryRepository()

    return fresh


@pytest.fixture(scope="session")
def memory_token_stores():
    @contextmanager
    def fresh():
        yield MemoryTokenRepository()

    return fresh


@pytest.fixture(scope="session")
def memory_blob_stores():
    @contextmanager
    def fresh():
        yield MemoryBlobStore(UrlSigner(TEST_SECRET, "http://tim.test/v1/blobs"))

    return fresh
