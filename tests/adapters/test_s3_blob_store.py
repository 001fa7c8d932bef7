"""The S3 blob store beyond the shared contract: uploads through presigned
URLs by a plain HTTP client, their verification and move to the permanent
key, the URLs themselves (moto checks neither signatures nor expiry), and
where objects land in the bucket."""

import time
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from boto3.s3.transfer import TransferConfig

from tim.adapters.memory.clock import ManualClock
from tim.adapters.s3.blob_store import MAX_URL_SECONDS, S3BlobStore
from tim.domain.model.downloads import ascii_fallback, attachment
from tim.domain.model.errors import NotFound, StorageUnavailable
from tim.domain.model.images import new_blob_key
from tim.ports.blob_store import UploadState

PREFIX = "some/prefix"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def client(s3_server):
    return s3_server.client()


@pytest.fixture
def bucket(s3_server, client):
    return s3_server.new_bucket(client)


@pytest.fixture
def clock():
    return ManualClock(int(time.time()))


@pytest.fixture
def store(client, bucket, clock):
    return S3BlobStore(client, bucket, PREFIX, clock=clock)


def bucket_keys(client, bucket) -> set[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"] for page in pages for item in page.get("Contents", ())}


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def upload(store, key, body: bytes, declared: int | None = None) -> httpx.Response:
    """PUT `body` to the upload URL of `key`, made for `declared` bytes, as any HTTP client would."""
    url = store.upload_url(key, len(body) if declared is None else declared, int(time.time()) + 600)
    response = httpx.put(url, content=body)
    response.raise_for_status()
    return response


def test_an_upload_through_the_presigned_url_is_stored_once_confirmed(store, client, bucket):
    key = new_blob_key()
    upload(store, key, b"dicom bytes")
    assert store.stat(key) is None  # not yet: only confirmed uploads are files
    assert store.confirm_upload(key, 11) is UploadState.STORED
    assert store.stat(key) == 11
    assert b"".join(store.get(key)) == b"dicom bytes"
    assert bucket_keys(client, bucket) == {f"{PREFIX}/images/{key}"}  # moved, not copied
    assert store.confirm_upload(key, 11) is UploadState.STORED


def test_an_upload_of_another_size_is_removed_and_nothing_is_stored(store, client, bucket):
    key = new_blob_key()
    upload(store, key, b"1234", declared=5)  # moto does not enforce the signed length; S3 would refuse it
    assert store.confirm_upload(key, 5) is UploadState.WRONG_SIZE
    assert store.stat(key) is None
    assert bucket_keys(client, bucket) == set()
    assert store.confirm_upload(key, 5) is UploadState.MISSING
    with pytest.raises(NotFound):
        store.get(key)


def test_nothing_uploaded_is_missing(store):
    assert store.confirm_upload(new_blob_key(), 5) is UploadState.MISSING


def test_a_replayed_put_after_confirmation_changes_nothing_anyone_reads(store):
    key = new_blob_key()
    url = store.upload_url(key, 5, int(time.time()) + 600)
    httpx.put(url, content=b"first").raise_for_status()
    assert store.confirm_upload(key, 5) is UploadState.STORED
    httpx.put(url, content=b"again").raise_for_status()  # the URL is still valid
    assert b"".join(store.get(key)) == b"first"
    assert store.confirm_upload(key, 5) is UploadState.STORED
    assert b"".join(store.get(key)) == b"first"
    listed = {(o.key, o.at_upload_url) for o in store.objects()}
    assert listed == {(key, False), (key, True)}  # the replay, for the sweep to find
    store.discard_upload(key)
    assert {(o.key, o.at_upload_url) for o in store.objects()} == {(key, False)}
    assert b"".join(store.get(key)) == b"first"


def test_objects_lists_both_folders_with_sizes_and_times(store):
    stored, pending = new_blob_key(), new_blob_key()
    before = int(time.time()) - 1
    store.put(stored, [b"abc"], 3)
    upload(store, pending, b"12345")
    objects = sorted(store.objects(), key=lambda o: o.at_upload_url)
    assert [(o.key, o.size, o.at_upload_url) for o in objects] == [(stored, 3, False), (pending, 5, True)]
    assert all(before <= o.modified_timestamp <= int(time.time()) + 1 for o in objects)


def test_objects_are_listed_in_batches(client, bucket):
    client.meta.events.register("before-parameter-build.s3.ListObjectsV2", small_pages)
    try:
        store = S3BlobStore(client, bucket, PREFIX)
        keys = {new_blob_key() for _ in range(5)}
        for key in keys:
            store.put(key, [b"x"], 1)
        assert {o.key for o in store.objects()} == keys
    finally:
        client.meta.events.unregister("before-parameter-build.s3.ListObjectsV2", small_pages)


def small_pages(params, **kwargs):
    params["MaxKeys"] = 2


def test_delete_removes_the_file_and_any_upload(store, client, bucket):
    key = new_blob_key()
    upload(store, key, b"12345")
    assert store.confirm_upload(key, 5) is UploadState.STORED
    upload(store, key, b"replay")
    store.delete(key)
    assert bucket_keys(client, bucket) == set()
    store.delete(key)


def test_a_large_upload_is_moved_in_parts(client, bucket):
    # One CopyObject stops at 5 GB, so large moves go part by part; a small
    # threshold takes that path here.
    parts = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    store = S3BlobStore(client, bucket, PREFIX, copy_config=parts)
    key, data = new_blob_key(), bytes(range(256)) * (11 * MIB // 256)
    upload(store, key, data)
    assert store.confirm_upload(key, len(data)) is UploadState.STORED
    assert b"".join(store.get(key)) == data
    assert bucket_keys(client, bucket) == {f"{PREFIX}/images/{key}"}


def test_an_upload_replaced_since_it_was_checked_is_not_moved(store):
    # The copy is conditional on the ETag that was checked, so a PUT landing
    # between the size check and the copy cannot slip in unverified.
    key = new_blob_key()
    upload(store, key, b"12345")
    assert store._move_upload(key, '"0123456789abcdef0123456789abcdef"') is False
    assert store.stat(key) is None
    assert store.confirm_upload(key, 5) is UploadState.STORED


def test_the_upload_url_signs_the_length_and_lasts_until_the_expiry(store, clock):
    key = new_blob_key()
    url = store.upload_url(key, 1234, clock.now() + 900)
    params = query(url)
    assert urlsplit(url).path.endswith(f"/{PREFIX}/uploads/{key}")
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert params["X-Amz-Expires"] == "900"
    assert "content-length" in params["X-Amz-SignedHeaders"].split(";")


@pytest.mark.parametrize(("offset", "seconds"), [(-30, 1), (0, 1), (MAX_URL_SECONDS + 99, MAX_URL_SECONDS)])
def test_url_lifetimes_stay_within_what_s3_accepts(store, clock, offset, seconds):
    assert query(store.upload_url(new_blob_key(), 5, clock.now() + offset))["X-Amz-Expires"] == str(seconds)


@pytest.mark.parametrize("filename", ["scan 1.dcm", "résumé «x».dcm", 'quote"back\\slash;.dcm', "画像.dcm"])
def test_the_download_url_serves_the_file_under_its_name(store, clock, filename):
    key = new_blob_key()
    store.put(key, [b"pixels"], 6)
    url = store.download_url(key, filename, clock.now() + 3600)
    params = query(url)
    assert urlsplit(url).path.endswith(f"/{PREFIX}/images/{key}")
    assert params["X-Amz-Expires"] == "3600"
    assert params["response-content-disposition"] == attachment(filename)
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == b"pixels"
    disposition = response.headers["content-disposition"]
    assert disposition == attachment(filename)
    assert disposition.isascii()
    assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == filename


def test_the_ascii_fallback_keeps_what_it_can():
    assert ascii_fallback("résumé.dcm") == "resume.dcm"
    assert ascii_fallback('a"b\\c.dcm') == "a_b_c.dcm"
    assert ascii_fallback("画像.dcm") == "__.dcm"
    assert attachment("a b.dcm") == "attachment; filename=\"a b.dcm\"; filename*=UTF-8''a%20b.dcm"


def test_signed_requests_are_for_s3_to_check(store):
    with pytest.raises(NotFound):
        store.check_signed_request("PUT", new_blob_key(), {}, int(time.time()))
    assert store.completes_on_put is False


def test_keys_stay_under_the_prefix(store, client, bucket):
    key = new_blob_key()
    store.put(key, [b"one"], 3)
    upload(store, new_blob_key(), b"two")
    assert all(name.startswith(f"{PREFIX}/") for name in bucket_keys(client, bucket))
    for bad in ("", ".", "..", "../escape", "a/b"):
        with pytest.raises(ValueError):
            store.stat(bad)
        with pytest.raises(ValueError):
            store.upload_url(bad, 1, int(time.time()) + 60)


def test_without_a_prefix_the_folders_sit_at_the_top(client, bucket):
    store = S3BlobStore.from_url(f"s3://{bucket}", client=client)
    key = new_blob_key()
    store.put(key, [b"top"], 3)
    assert bucket_keys(client, bucket) == {f"images/{key}"}


@pytest.mark.parametrize("url", ["s3://", "s3:///prefix", "http://bucket/prefix", "s3://bucket/p?x=1", "s3://user@bucket/p", "s3://bucket:9000"])
def test_a_malformed_url_is_refused(url, client):
    with pytest.raises(ValueError, match="s3://BUCKET"):
        S3BlobStore.from_url(url, client=client)


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])
def test_the_endpoint_comes_from_the_standard_environment(s3_server, bucket, monkeypatch, variable):
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    monkeypatch.setenv(variable, s3_server.endpoint)
    store = S3BlobStore.from_url(f"s3://{bucket}/from/env")
    key = new_blob_key()
    store.put(key, [b"via env"], 7)
    assert b"".join(store.get(key)) == b"via env"
    assert store.download_url(key, "a.dcm", int(time.time()) + 60).startswith(s3_server.endpoint + "/")


def test_a_missing_bucket_is_a_clear_storage_error(client):
    store = S3BlobStore.from_url("s3://no-such-bucket-for-tim/prefix", client=client)
    key = new_blob_key()
    for operation in (
        lambda: store.stat(key),
        lambda: store.get(key),
        lambda: store.put(key, [b"x"], 1),
        lambda: store.delete(key),
        lambda: list(store.objects()),
        lambda: store.confirm_upload(key, 1),
    ):
        with pytest.raises(StorageUnavailable, match="'no-such-bucket-for-tim' does not exist"):
            operation()


def test_the_listing_skips_objects_tim_did_not_make(store, client, bucket):
    # A sweep must never be handed a key it cannot (and may not) delete.
    for name in (f"{PREFIX}/images/", f"{PREFIX}/images/other/thing.txt", f"{PREFIX}/uploads/README"):
        client.put_object(Bucket=bucket, Key=name, Body=b"")
    key = new_blob_key()
    store.put(key, [b"mine"], 4)
    assert [stored.key for stored in store.objects()] == [key]


def test_the_sweep_aborts_old_multipart_uploads_of_tims_only(store, client, bucket):
    tims = client.create_multipart_upload(Bucket=bucket, Key=f"{PREFIX}/images/{new_blob_key()}")
    client.upload_part(Bucket=bucket, Key=tims["Key"], UploadId=tims["UploadId"], PartNumber=1, Body=b"p" * MIB)
    foreign = client.create_multipart_upload(Bucket=bucket, Key=f"{PREFIX}/images/someone-elses.bin")
    now = int(time.time())
    assert store.remove_stale_temporaries(older_than=now - 3600) == 0  # written a moment ago
    assert store.remove_stale_temporaries(older_than=now + 3600) == 1
    left = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [upload["UploadId"] for upload in left] == [foreign["UploadId"]]
