"""Every route family's unhappy paths, over HTTP: each answer is a JSON error
with the right status, and nothing changes."""

import base64
import time
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from e2e.http_servers import assert_error, json_of
from inprocess.apps import ORIGIN, SECRET, local_config
from tim.adapters.signed_urls import UrlSigner

MAX_IMAGE_BYTES = 100_000
INLINE_LIMIT = 4_152_360  # the spec's default, left unconfigured here
JSON_TYPE = "application/json"
JSON = {"content-type": JSON_TYPE}


@pytest.fixture(scope="module")
def app_config(tmp_path_factory):
    return local_config(tmp_path_factory.mktemp("tim"), max_image_bytes=MAX_IMAGE_BYTES)


@pytest.fixture
def signer():
    return UrlSigner(SECRET.encode(), f"{ORIGIN}/v1/blobs")


def count_images(client):
    return json_of(client.get("/images"), 200)["meta"]["total_results"]


def count_tags(client):
    return json_of(client.get("/tags"), 200)["meta"]["total_results"]


def test_unknown_routes_and_wrong_methods(client):
    for path in ["/v1/nope", "/nope", "/", "/v1/images/", "/v1/images/1/complete/x", "/v1/blobs/"]:
        body = assert_error(client.get(ORIGIN + path), 404)
        assert path in body["message"]
    wrong_methods = {
        ("PATCH", "/images"): {"GET", "HEAD", "POST"},
        ("DELETE", "/images"): {"GET", "HEAD", "POST"},
        ("POST", "/images/1"): {"GET", "HEAD", "PUT", "DELETE"},
        ("GET", "/images/1/complete"): {"POST"},
        ("GET", "/upload"): {"POST"},
        ("DELETE", "/tags"): {"GET", "HEAD", "POST"},
        ("POST", "/tags/1"): {"GET", "HEAD", "PUT", "DELETE"},
        # literal paths beside a template are theirs, whatever the method: not image "tags", not tag "collisions"
        ("PUT", "/images/tags"): {"POST"},
        ("GET", "/images/tags"): {"POST"},
        ("DELETE", "/tags/collisions"): {"GET", "HEAD"},
        ("GET", "/images/1/tags"): {"PATCH"},
        ("GET", "/tags/1/merge"): {"POST"},
        ("GET", "/tags/1/aliases/a/b"): {"DELETE"},
        ("POST", "/history"): {"GET", "HEAD"},
        ("POST", "/export/images"): {"GET", "HEAD"},
        ("PUT", "/tags/1/images"): {"GET", "HEAD"},
        ("POST", "/search/images"): {"GET", "HEAD"},
        ("POST", "/blobs/abc"): {"GET", "HEAD", "PUT"},
        ("DELETE", "/openapi.json"): {"GET", "HEAD"},
    }
    for (method, path), allowed in wrong_methods.items():
        response = client.request(method, path)
        assert_error(response, 405)
        assert set(response.headers["allow"].split(", ")) == allowed, (method, path)


BAD_IDS = ["0", "-1", "abc", "1.5", "1e3", "99999999", "9" * 30, "%20"]


def test_images_unhappy_paths(client):
    images_before = count_images(client)
    pending = json_of(client.post("/images", json={"filename": "p.dcm", "size": 10}), 201)

    for bad_id in BAD_IDS:
        assert_error(client.get(f"/images/{bad_id}"), 404)
        assert_error(client.put(f"/images/{bad_id}", json={"tags": ["x"]}), 404)
        assert_error(client.delete(f"/images/{bad_id}"), 404)
        assert_error(client.post(f"/images/{bad_id}/complete"), 404)

    for params, field in [
        ({"page": "-1"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"page": ""}, "page"),
        ({"page": "9" * 19}, "page"),  # beyond what any store can page to
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"start_timestamp": "-5"}, "start_timestamp"),
        ({"start_timestamp": "9" * 19}, "start_timestamp"),
        ({"end_timestamp": "yesterday"}, "end_timestamp"),
        ({"start_timestamp": "20", "end_timestamp": "10"}, "start_timestamp"),
        ({"uploaded_only": "yes"}, "uploaded_only"),
    ]:
        assert_error(client.get("/images", params=params), 400, field)

    good = {"filename": "a.dcm", "size": 10, "tags": ["x"]}
    for body, field in [
        ({"size": 10}, "filename"),
        ({"filename": "a.dcm"}, "size"),
        (good | {"size": 0}, "size"),
        (good | {"size": -3}, "size"),
        (good | {"size": MAX_IMAGE_BYTES + 1}, "size"),
        (good | {"size": "10"}, "size"),
        (good | {"size": 1.5}, "size"),
        (good | {"size": True}, "size"),
        (good | {"size": None}, "size"),
        (good | {"filename": ""}, "filename"),
        (good | {"filename": "a/b.dcm"}, "filename"),
        (good | {"filename": "a\\b.dcm"}, "filename"),
        (good | {"filename": "a\x00.dcm"}, "filename"),
        (good | {"filename": "x" * 256}, "filename"),
        (good | {"filename": 7}, "filename"),
        (good | {"tags": "x"}, "tags"),
        (good | {"tags": None}, "tags"),
        (good | {"tags": [1]}, "tags[0]"),
        (good | {"tags": ["ok", "a|b"]}, "tags[1]"),
        (good | {"tags": [" "]}, "tags[0]"),
        (good | {"tags": ["x" * 161]}, "tags[0]"),
        (good | {"created_by": "mallory"}, "created_by"),
        (good | {"uploaded_timestamp": 1}, "uploaded_timestamp"),
    ]:
        assert_error(client.post("/images", json=body), 400, field)
    for body, field in [({}, "tags"), ({"tags": "x"}, "tags"), ({"tags": ["x"], "filename": "b"}, "filename")]:
        assert_error(client.put(f"/images/{pending['id']}", json=body), 400, field)

    for path in ["/images", f"/images/{pending['id']}"]:
        method = "POST" if path == "/images" else "PUT"
        for content in [b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"[" * 100_000, b""]:
            assert_error(client.request(method, path, content=content, headers=JSON), 400)
        assert_error(client.request(method, path, content=b'{"tags": []}', headers={"content-type": "text/plain"}), 400)
        assert_error(client.request(method, path, content=b'{"tags": []}'), 400)  # no content type
        huge = b'{"tags": ["' + b"x" * INLINE_LIMIT + b'"]}'
        assert_error(client.request(method, path, content=huge, headers=JSON), 413)

    # Completion of an image whose file never arrived.
    assert_error(client.post(f"/images/{pending['id']}/complete"), 409)

    assert count_images(client) == images_before + 1
    assert json_of(client.get(f"/images/{pending['id']}"), 200)["tags"] == []


def test_tags_unhappy_paths(client):
    tag = json_of(client.post("/tags", json={"name": "Existing"}), 201)
    tags_before = count_tags(client)

    for bad_id in BAD_IDS:
        assert_error(client.get(f"/tags/{bad_id}"), 404)
        assert_error(client.put(f"/tags/{bad_id}", json={"name": "x"}), 404)
        assert_error(client.delete(f"/tags/{bad_id}"), 404)
        assert_error(client.get(f"/tags/{bad_id}/images"), 404)

    for params, field in [({"limit": "0"}, "limit"), ({"page": "x"}, "page"), ({"limit": "1000"}, "limit")]:
        assert_error(client.get("/tags", params=params), 400, field)
        assert_error(client.get(f"/tags/{tag['id']}/images", params=params), 400, field)
    assert_error(client.get(f"/tags/{tag['id']}/images", params={"uploaded_only": "maybe"}), 400, "uploaded_only")
    assert_error(client.get(f"/tags/{tag['id']}/images", params={"start_timestamp": "x"}), 400, "start_timestamp")

    for body, field in [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "a|b"}, "name"),
        ({"name": "a\nb"}, "name"),
        ({"name": "x" * 161}, "name"),
        ({"name": 5}, "name"),
        ({"name": ["x"]}, "name"),
        ({"name": "ok", "id": 3}, "id"),
    ]:
        assert_error(client.post("/tags", json=body), 400, field)
        assert_error(client.put(f"/tags/{tag['id']}", json=body), 400, field)
    for content, content_type in [(b"nope", JSON_TYPE), (b"[]", JSON_TYPE), (b'{"name":"a"}', "text/plain")]:
        assert_error(client.post("/tags", content=content, headers={"content-type": content_type}), 400)
        assert_error(client.put(f"/tags/{tag['id']}", content=content, headers={"content-type": content_type}), 400)

    assert count_tags(client) == tags_before
    assert json_of(client.get(f"/tags/{tag['id']}"), 200) == tag


def test_search_unhappy_paths(client):
    for params, field in [
        ({}, "exact_tags"),
        ({"exact_tags": ""}, "exact_tags"),
        ({"exact_tags": "|| |"}, "exact_tags"),
        ({"match_tags": ""}, "exact_tags"),
        ({"exact_tags": "a\x01"}, "exact_tags"),
        ({"match_tags": "x" * 161}, "match_tags"),
        ({"exact_tags": "a", "limit": "0"}, "limit"),
        ({"exact_tags": "a", "page": "-2"}, "page"),
        ({"exact_tags": "a", "start_timestamp": "soon"}, "start_timestamp"),
        ({"exact_tags": "a", "start_timestamp": "9", "end_timestamp": "8"}, "start_timestamp"),
        ({"match_tags": "a", "uploaded_only": "2"}, "uploaded_only"),
    ]:
        assert_error(client.get("/search/images", params=params), 400, field)


def test_upload_unhappy_paths(client):
    images_before = count_images(client)
    good = {"filename": "a.png", "image_data": "AAAA", "tags": []}
    for body, field in [
        (good | {"image_data": ""}, "image_data"),
        (good | {"image_data": "abc"}, "image_data"),  # no padding
        (good | {"image_data": "!!!!"}, "image_data"),
        (good | {"image_data": "AAAA\nAAAA"}, "image_data"),
        (good | {"image_data": "AAAA===="}, "image_data"),
        (good | {"image_data": "ÄÄÄÄ"}, "image_data"),
        (good | {"image_data": 1234}, "image_data"),
        ({"filename": "a.png"}, "image_data"),
        ({"image_data": "AAAA"}, "filename"),
        (good | {"filename": "../a.png"}, "filename"),
        (good | {"tags": ["|"]}, "tags[0]"),
        (good | {"created_by": "mallory"}, "created_by"),
        (good | {"size": 3}, "size"),
    ]:
        assert_error(client.post("/upload", json=body), 400, field)
    assert_error(client.post("/upload", content=b"{", headers=JSON), 400)
    assert_error(client.post("/upload", content=b"AAAA", headers={"content-type": "application/octet-stream"}), 400)

    # The whole body is limited, whatever its content.
    too_big = ('{"filename": "a.png", "image_data": "' + "A" * INLINE_LIMIT + '"}').encode()
    assert_error(client.post("/upload", content=too_big, headers=JSON), 413)

    def chunked():  # no Content-Length: counted as it arrives
        yield too_big[:1000]
        yield too_big[1000:]

    assert_error(client.post("/upload", content=chunked(), headers=JSON), 413)

    # A decoded file over the configured image size limit.
    over = base64.b64encode(b"\0" * (MAX_IMAGE_BYTES + 1)).decode()
    assert_error(client.post("/upload", json=good | {"image_data": over}), 413)

    assert count_images(client) == images_before

    # The limit is on the body: padded with JSON white space, exactly the limit
    # is accepted and one byte more is not.
    def padded(size):
        start, end = b'{"filename": "a.png", "image_data": "AAAA"', b"}"
        return start + b" " * (size - len(start) - len(end)) + end

    assert_error(client.post("/upload", content=padded(INLINE_LIMIT + 1), headers=JSON), 413)
    json_of(client.post("/upload", content=padded(INLINE_LIMIT), headers=JSON), 201)


def parts(url):
    split = urlsplit(url)
    return split.path.rsplit("/", 1)[1], dict(parse_qsl(split.query))


def with_params(url, **changes):
    split = urlsplit(url)
    params = dict(parse_qsl(split.query)) | changes
    params = {key: value for key, value in params.items() if value is not None}
    return split._replace(query=httpx.QueryParams(params).__str__()).geturl()


def test_signed_url_unhappy_paths(client, signer):
    data = b"0123456789"
    image = json_of(client.post("/images", json={"filename": "s.bin", "size": len(data)}), 201)
    other = json_of(client.post("/images", json={"filename": "t.bin", "size": len(data)}), 201)
    upload_url = image["upload_url"]
    key, params = parts(upload_url)
    other_key, _ = parts(other["upload_url"])
    expires = int(params["expires"])

    def still_pending():
        assert json_of(client.get(f"/images/{image['id']}"), 200)["uploaded_timestamp"] is None

    # Tampered, expired, wrong-method and other-object URLs: 403.
    for url in [
        with_params(upload_url, signature="0" * 64),
        with_params(upload_url, signature=None),
        with_params(upload_url, expires=str(expires + 1)),
        with_params(upload_url, length=str(len(data) + 1)),
        with_params(upload_url, length=None),
        upload_url.replace(key, other_key),
        signer.url("PUT", key, int(time.time()) - 1, len(data)),  # correctly signed, expired
        signer.url("GET", key, expires),  # a download URL
    ]:
        assert_error(client.put(url, content=data), 403)
    still_pending()

    # A URL signed for another length than the image's.
    assert_error(client.put(signer.url("PUT", key, expires, len(data) - 1), content=data[:-1]), 403)
    # A correctly signed URL for an object no image has.
    assert_error(client.put(signer.url("PUT", "f" * 32, expires, 3), content=b"abc"), 404)

    # A body of another length is refused and nothing is stored.
    assert_error(client.put(upload_url, content=data[:-1]), 400)
    assert_error(client.put(upload_url, content=data + b"!"), 400)
    assert_error(client.put(upload_url, content=iter([data, b"!"])), 400)  # chunked, no Content-Length
    assert_error(client.put(upload_url, content=b""), 400)
    still_pending()

    # The right body stores it; a replay is refused.
    assert json_of(client.put(upload_url, content=data), 200)["uploaded_timestamp"] is not None
    assert_error(client.put(upload_url, content=data), 409)
    assert_error(client.put(upload_url, content=b"x" * len(data)), 409)
    download_url = json_of(client.get(f"/images/{image['id']}"), 200)["url"]
    assert client.get(download_url).content == data

    # Downloads: tampered, wrong-method, expired and other-object URLs.
    for url in [
        with_params(download_url, signature="f" * 64),
        with_params(download_url, expires="9999999999"),
        with_params(download_url, length="10"),
        upload_url,  # a PUT URL
        download_url.replace(key, other_key),
        signer.url("GET", key, int(time.time()) - 1),
    ]:
        assert_error(client.get(url), 403)
    # Correctly signed, but the file is not there (yet).
    assert_error(client.get(signer.url("GET", other_key, expires)), 404)
