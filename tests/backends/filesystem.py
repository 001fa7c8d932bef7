import shutil
from contextlib import contextmanager

import pytest

from tim.adapters.filesystem.blob_store import FileBlobStore
from tim.adapters.signed_urls import UrlSigner

TEST_SECRET = b"test-secret-of-at-least-16-bytes"
SERVED_BY_TIM = True


@pytest.fixture(scope="session")
def filesystem_blob_stores(tmp_path_factory):
    @contextmanager
    def fresh():
        root = tmp_path_factory.mktemp("blobs")
        try:
            yield FileBlobStore(root, UrlSigner(TEST_SECRET, "http://tim.test/v1/blobs"))
        finally:
            shutil.rmtree(root, ignore_errors=True)

    return fresh
