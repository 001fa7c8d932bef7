"""One-shot puts to S3 stream: one part in memory at a time, the exact size
or nothing, and no multipart upload left behind by a failure."""

import hashlib
import os
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3_server import moto_process
from tim.adapters.s3.blob_store import S3BlobStore
from tim.adapters.s3.streamed_put import DEFAULT_PART_SIZE, MIB, MIN_PART_SIZE, Parts, part_size_for
from tim.domain.model.errors import SizeMismatch
from tim.domain.model.images import new_blob_key

LARGE = 64 * MIB


@pytest.fixture(scope="module")
def client(s3_server):
    return s3_server.client()


@pytest.fixture
def bucket(s3_server, client):
    return s3_server.new_bucket(client)


@pytest.fixture
def store(client, bucket):
    # The smallest part S3 allows, so that a few MiB take the multipart path.
    return S3BlobStore(client, bucket, "p", part_size=MIN_PART_SIZE)


def pieces(data: bytes, size: int):
    return (data[i : i + size] for i in range(0, len(data), size))


def exact_parts(chunks, size: int, part_size: int):
    parts = Parts(size, part_size)
    for chunk in chunks:
        yield from parts.add(chunk)
    yield parts.last()


def pending_multipart_uploads(client, bucket) -> list:
    return client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])


@given(
    data=st.binary(max_size=300),
    piece=st.integers(1, 70),
    part_size=st.integers(1, 50),
)
def test_parts_regroup_the_chunks_exactly(data, piece, part_size):
    parts = list(exact_parts(pieces(data, piece), len(data), part_size))
    assert b"".join(parts) == data
    assert all(len(p) == part_size for p in parts[:-1])
    assert 0 < len(parts[-1]) <= part_size or data == b""


@given(data=st.binary(max_size=100), piece=st.integers(1, 30), error=st.integers(-10, 10).filter(bool))
def test_parts_stop_at_a_wrong_total(data, piece, error):
    declared = len(data) + error
    with pytest.raises(SizeMismatch):
        list(exact_parts(pieces(data, piece), declared, 8))


def test_more_bytes_than_declared_stop_the_read_at_once():
    read = []

    def endless():
        while True:
            read.append(1)
            yield b"x" * 10

    with pytest.raises(SizeMismatch):
        list(exact_parts(endless(), 25, 8))
    assert len(read) == 3


def test_part_sizes_fit_s3_limits():
    assert part_size_for(1) == DEFAULT_PART_SIZE
    assert part_size_for(5 * 1024**3) == DEFAULT_PART_SIZE
    assert part_size_for(1, preferred=MIB) == MIN_PART_SIZE
    large = 200 * 1024**3
    assert part_size_for(large) * 10_000 >= large
    assert part_size_for(large) % MIB == 0


def test_a_multipart_put_stores_exactly_the_bytes(store):
    key, data = new_blob_key(), os.urandom(MIN_PART_SIZE * 2 + 12345)
    store.put(key, pieces(data, 100_000), len(data))
    assert store.stat(key) == len(data)
    assert b"".join(store.get(key)) == data


@pytest.mark.parametrize("error", [-1, +1])
def test_a_multipart_put_of_another_length_leaves_nothing(store, client, bucket, error):
    key, data = new_blob_key(), os.urandom(MIN_PART_SIZE * 2 + 1)
    with pytest.raises(SizeMismatch):
        store.put(key, pieces(data, MIB), len(data) + error)
    assert store.stat(key) is None
    assert list(store.objects()) == []
    assert pending_multipart_uploads(client, bucket) == []


def test_a_source_failing_mid_way_leaves_no_parts(store, client, bucket):
    def broken():
        yield os.urandom(MIN_PART_SIZE + 1)  # one part goes out
        raise ConnectionResetError("client went away")

    key = new_blob_key()
    with pytest.raises(ConnectionResetError):
        store.put(key, broken(), 3 * MIN_PART_SIZE)
    assert store.stat(key) is None
    assert pending_multipart_uploads(client, bucket) == []


def test_a_64_mib_put_holds_about_one_part_in_memory_not_the_file():
    # moto keeps objects in memory, so it runs in its own process here:
    # tracemalloc then sees only the client side.
    block = os.urandom(MIB)
    with moto_process() as server:
        client = server.client()
        store = S3BlobStore(client, server.new_bucket(client), "p")
        key = new_blob_key()
        tracemalloc.start()
        try:
            store.put(key, (block for _ in range(LARGE // MIB)), LARGE)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert store.stat(key) == LARGE
        digest = hashlib.sha256()
        for chunk in store.get(key):
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(block * (LARGE // MIB)).hexdigest()
    assert peak < 2 * DEFAULT_PART_SIZE, f"peak {peak / MIB:.1f} MiB while putting {LARGE // MIB} MiB"
