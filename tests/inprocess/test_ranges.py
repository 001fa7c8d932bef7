"""Downloads from the local file store honour a single Range header and
are never cached (API-DECISIONS, 2026-11-30)."""

import pytest

from e2e.http_servers import assert_error, created, json_of

DATA = b"0123456789"


@pytest.fixture(scope="module")
def url(client):
    return created(client, "/upload", {"filename": "ten.bin", "image_data": "MDEyMzQ1Njc4OQ=="})["url"]


@pytest.fixture
def get(client):
    return lambda url, **headers: client.get(url, headers=headers)


def test_a_full_download_offers_ranges_and_is_not_cached(url, get):
    response = get(url)
    assert response.status_code == 200 and response.content == DATA
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["content-length"] == "10" and "content-range" not in response.headers


@pytest.mark.parametrize(
    "asked, content_range, body",
    [
        ("bytes=2-4", "bytes 2-4/10", b"234"),
        ("bytes=7-", "bytes 7-9/10", b"789"),
        ("bytes=-3", "bytes 7-9/10", b"789"),
        ("bytes=0-0", "bytes 0-0/10", b"0"),
        ("bytes=5-99", "bytes 5-9/10", b"56789"),
        ("bytes=-30", "bytes 0-9/10", DATA),
    ],
)
def test_one_range_is_a_206_with_just_those_bytes(url, get, asked, content_range, body):
    response = get(url, Range=asked)
    assert response.status_code == 206 and response.content == body
    assert response.headers["content-range"] == content_range
    assert response.headers["content-length"] == str(len(body))
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["content-disposition"].startswith("attachment;")


@pytest.mark.parametrize("asked", ["bytes=10-", "bytes=-0", "bytes=5-2", "bytes=x-"])
def test_a_range_the_file_does_not_have_is_a_416_saying_its_size(url, get, asked):
    response = get(url, Range=asked)
    assert_error(response, 416)
    assert response.headers["content-range"] == "bytes */10"


@pytest.mark.parametrize("asked", ["bytes=0-1,4-5", "items=0-1"])
def test_several_ranges_or_another_unit_get_the_whole_file(url, get, asked):
    response = get(url, Range=asked)
    assert response.status_code == 200 and response.content == DATA


def test_if_range_sends_the_range_only_for_the_same_file(url, get):
    etag = get(url).headers["etag"]
    assert get(url, Range="bytes=1-2", **{"If-Range": etag}).content == b"12"
    for other in ('"another"', f"W/{etag}", "Sat, 29 Nov 2026 08:00:00 GMT"):
        response = get(url, Range="bytes=1-2", **{"If-Range": other})
        assert response.status_code == 200 and response.content == DATA


def test_the_signature_is_checked_before_the_range(url, get, client):
    assert_error(get(url.replace("signature=", "signature=0"), Range="bytes=99-"), 403)
    assert json_of(client.get("/images"), 200)["meta"]["total_results"] == 1
