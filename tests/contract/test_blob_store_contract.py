"""One contract for every blob store."""

import os
import time
from urllib.parse import parse_qsl, urlsplit

import pytest

from tim.domain.model.errors import AccessDenied, NotFound, ObjectExists, SizeMismatch
from tim.domain.model.images import new_blob_key
from tim.ports.blob_store import UploadState

NOW = 1_800_000_000


def chunks(data: bytes, size: int = 7):
    return (data[i : i + size] for i in range(0, len(data), size))


def test_put_get_stat_delete(blob_store):
    key, data = new_blob_key(), bytes(range(256)) * 40
    assert blob_store.stat(key) is None
    blob_store.put(key, chunks(data), len(data))
    assert blob_store.stat(key) == len(data)
    assert b"".join(blob_store.get(key)) == data
    assert key in {o.key for o in blob_store.objects()}
    blob_store.delete(key)
    blob_store.delete(key)  # idempotent
    assert blob_store.stat(key) is None
    assert key not in {o.key for o in blob_store.objects()}
    with pytest.raises(NotFound):
        b"".join(blob_store.get(key))


def test_a_range_of_a_file(blob_store):
    key, data = new_blob_key(), bytes(range(256)) * 40
    blob_store.put(key, chunks(data), len(data))
    size = len(data)
    for start, end in [(0, None), (0, 1), (5, 17), (size - 1, None), (100, size), (0, size), (4000, None)]:
        assert b"".join(blob_store.get(key, start, end)) == data[start:end], (start, end)
        assert b"".join(blob_store.get(key, start=start)) == data[start:]
    with pytest.raises(NotFound):
        b"".join(blob_store.get(new_blob_key(), 1, 5))


@pytest.mark.parametrize("declared", [9, 11])
def test_a_body_of_another_length_stores_nothing(blob_store, declared):
    key = new_blob_key()
    with pytest.raises(SizeMismatch):
        blob_store.put(key, chunks(b"0123456789", 3), declared)
    assert blob_store.stat(key) is None
    assert key not in {o.key for o in blob_store.objects()}


def test_a_failing_source_stores_nothing(blob_store):
    key = new_blob_key()

    def broken():
        yield b"x" * 10
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        blob_store.put(key, broken(), 20)
    assert blob_store.stat(key) is None


def test_a_writer_stores_what_is_pushed_in_once_committed(blob_store):
    key, data = new_blob_key(), bytes(range(256)) * 40
    writer = blob_store.open_writer(key, len(data))
    for chunk in chunks(data, 1000):
        writer.write(chunk)
        assert blob_store.stat(key) is None  # nothing to see before the commit
    writer.commit()
    assert b"".join(blob_store.get(key)) == data


def test_a_writer_refuses_a_chunk_too_many_at_once(blob_store):
    key = new_blob_key()
    writer = blob_store.open_writer(key, 10)
    writer.write(b"0123456789")
    with pytest.raises(SizeMismatch):
        writer.write(b"x")
    writer.abort()
    assert blob_store.stat(key) is None


def test_a_writer_short_of_its_size_or_aborted_stores_nothing(blob_store):
    short, aborted = new_blob_key(), new_blob_key()
    writer = blob_store.open_writer(short, 10)
    writer.write(b"012345678")
    with pytest.raises(SizeMismatch):
        writer.commit()
    writer.abort()
    writer = blob_store.open_writer(aborted, 3)
    writer.write(b"abc")
    writer.abort()
    writer.abort()  # idempotent
    assert blob_store.stat(short) is None and blob_store.stat(aborted) is None
    assert not {short, aborted} & {o.key for o in blob_store.objects()}


def test_urls_are_absolute_and_name_the_key(blob_store):
    key = new_blob_key()
    for url in (blob_store.upload_url(key, 10, NOW + 60), blob_store.download_url(key, "a b.dcm", NOW + 60)):
        parts = urlsplit(url)
        assert parts.scheme in ("http", "https") and parts.netloc
        assert key in parts.path


def self_served(blob_store, url, method, now=NOW):
    parts = urlsplit(url)
    key = parts.path.rsplit("/", 1)[1]
    return blob_store.check_signed_request(method, key, dict(parse_qsl(parts.query)), now)


def test_signed_urls_open_only_their_own_object_method_and_time(tim_served_blob_stores):
    with tim_served_blob_stores() as blob_store:
        check_signed_urls(blob_store)


def check_signed_urls(blob_store):
    assert blob_store.completes_on_put
    key = new_blob_key()
    upload = blob_store.upload_url(key, 10, NOW + 60)
    assert self_served(blob_store, upload, "PUT") == 10
    download = blob_store.download_url(key, "a.dcm", NOW + 60)
    assert self_served(blob_store, download, "GET") is None
    assert self_served(blob_store, download, "GET", now=NOW + 60) is None
    with pytest.raises(AccessDenied):
        self_served(blob_store, download, "GET", now=NOW + 61)
    with pytest.raises(AccessDenied):
        self_served(blob_store, upload, "GET")
    with pytest.raises(AccessDenied):
        self_served(blob_store, download, "PUT")
    other = new_blob_key()
    with pytest.raises(AccessDenied):
        self_served(blob_store, upload.replace(key, other), "PUT")
    for tampered in (
        upload.replace("length=10", "length=11"),
        upload.replace(f"expires={NOW + 60}", f"expires={NOW + 6000}"),
        upload[:-1] + ("0" if upload[-1] != "0" else "1"),
        upload.split("&signature=")[0],
    ):
        with pytest.raises(AccessDenied):
            self_served(blob_store, tampered, "PUT")


def test_confirming_an_upload(blob_store):
    key = new_blob_key()
    assert blob_store.confirm_upload(key, 5) is UploadState.MISSING
    blob_store.put(key, [b"12345"], 5)
    assert blob_store.confirm_upload(key, 5) is UploadState.STORED
    assert blob_store.confirm_upload(key, 5) is UploadState.STORED
    assert b"".join(blob_store.get(key)) == b"12345"


def test_stores_that_receive_uploads_never_replace_a_file(tim_served_blob_stores):
    with tim_served_blob_stores() as blob_store:
        key = new_blob_key()
        blob_store.put(key, [b"first"], 5)
        with pytest.raises(ObjectExists):
            blob_store.put(key, [b"again"], 5)
        assert b"".join(blob_store.get(key)) == b"first"


def test_every_store_checks_its_signed_urls_or_leaves_them_to_its_server(blob_store):
    if blob_store.completes_on_put:
        check_signed_urls(blob_store)
    else:
        with pytest.raises(NotFound):
            self_served(blob_store, blob_store.upload_url(new_blob_key(), 10, NOW + 60), "PUT")


def test_a_sweep_of_temporaries_leaves_writes_in_progress_alone(blob_store):
    key, part = new_blob_key(), os.urandom(9 * 1024 * 1024)  # past S3's first part: a multipart upload is open
    writer = blob_store.open_writer(key, 2 * len(part))
    writer.write(part)
    assert blob_store.remove_stale_temporaries(older_than=int(time.time()) - 60) == 0
    writer.write(part)
    writer.commit()
    assert blob_store.stat(key) == 2 * len(part)
    # Stored files are no temporaries, however old.
    assert blob_store.remove_stale_temporaries(older_than=int(time.time()) + 3600) == 0
    assert blob_store.stat(key) == 2 * len(part)
