"""When the stores fail, clients still get JSON: 503 for a store that cannot
be reached, 500 without internals for anything unexpected."""

import httpx
import pytest

from e2e.http_servers import assert_error, created, free_port, serving
from tim.adapters.memory.blob_store import MemoryBlobStore
from tim.adapters.memory.repository import MemoryRepository
from tim.adapters.signed_urls import UrlSigner
from tim.domain.model.errors import StorageUnavailable
from tim.entrypoints.bootstrap import assemble
from tim.entrypoints.http.app import create_app

SECRET = b"failure-tests-secret-0123456789"


class UnreachableStore(MemoryBlobStore):
    def put(self, key, chunks, size):
        raise StorageUnavailable("the file store cannot be reached; try again later")

    def open_writer(self, key, size):
        raise StorageUnavailable("the file store cannot be reached; try again later")


class BuggyRepository(MemoryRepository):
    def history(self, query, *, after=None, limit=None):
        raise RuntimeError("internal detail that must not leak")


@pytest.fixture
def api():
    port = free_port()

    def open_manager():
        store = UnreachableStore(UrlSigner(SECRET, f"http://127.0.0.1:{port}/v1/blobs"))
        return assemble(BuggyRepository(), store)

    with serving(create_app(open_manager), port) as server:
        yield f"{server.origin}/v1"


def test_an_unreachable_store_is_a_503(api):
    with httpx.Client(base_url=api) as client:
        assert_error(client.post("/upload", json={"filename": "a.bin", "image_data": "AAAA"}), 503)
        image = created(client, "/images", {"filename": "b.bin", "size": 3})
        body = assert_error(httpx.put(image["upload_url"], content=b"abc"), 503)
        assert "try again" in body["message"]
        assert client.get(f"/images/{image['id']}").json()["uploaded_timestamp"] is None


def test_an_unexpected_error_is_a_500_without_internals(api):
    response = httpx.get(f"{api}/history")
    body = assert_error(response, 500)
    assert "internal detail" not in response.text and "Traceback" not in response.text
    assert body["message"].startswith("internal error")
