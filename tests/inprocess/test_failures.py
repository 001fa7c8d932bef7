"""When the stores fail, clients still get JSON: 503 for a store that cannot
be reached, 500 without internals for anything unexpected."""

import pytest

from e2e.http_servers import assert_error, created
from inprocess.apps import ORIGIN, in_process, quiet
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
def client():
    def open_manager():
        store = UnreachableStore(UrlSigner(SECRET, f"{ORIGIN}/v1/blobs"))
        return assemble(BuggyRepository(), store)

    # The app's 500 is what is tested: the client must not raise the error instead.
    with in_process(create_app(open_manager, access_log=quiet()), raise_server_exceptions=False) as client:
        yield client


def test_an_unreachable_store_is_a_503(client):
    assert_error(client.post("/upload", json={"filename": "a.bin", "image_data": "AAAA"}), 503)
    image = created(client, "/images", {"filename": "b.bin", "size": 3})
    body = assert_error(client.put(image["upload_url"], content=b"abc"), 503)
    assert "try again" in body["message"]
    assert client.get(f"/images/{image['id']}").json()["uploaded_timestamp"] is None


def test_an_unexpected_error_is_a_500_without_internals(client):
    response = client.get("/history")
    body = assert_error(response, 500)
    assert "internal detail" not in response.text and "Traceback" not in response.text
    assert body["message"].startswith("internal error")
