"""Uploads through `tim serve` on PostgreSQL and S3 (moto): clients PUT
straight to S3 at the presigned `upload_url`, and the upload counts once
tim has seen an object of exactly the declared size there, whether told by
`complete` or finding it lazily when the record is read."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import pytest

from e2e.http_servers import (
    Servers,
    assert_error,
    created,
    eventually,
    json_of,
    next_second,
    run_tim,
    seconds_during,
)
from s3_server import SECRET_KEY
from tim.domain.model.downloads import attachment

EXPIRY_SECONDS = 900


@pytest.fixture(scope="module")
def stores(new_shared_stores):
    return new_shared_stores()


@pytest.fixture(scope="module")
def server(stores, tmp_path_factory):
    servers = Servers()
    env = stores.environment(TIM_URL_EXPIRY_SECONDS=str(EXPIRY_SECONDS))
    yield servers(tmp_path_factory.mktemp("scaleout") / "data", env=env)
    servers.stop_all()


@pytest.fixture
def api(server):
    with server.client() as client:
        yield client


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def sigv4_signature(method: str, url: str, headers: dict[str, object]) -> str:
    """The signature S3 computes for a presigned request with these signed
    header values (AWS's documented SigV4 algorithm, for query-string auth).
    moto does not check signatures, so this is how a test sees what a URL pins."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "X-Amz-Signature"]
    params = dict(query)
    signed = params["X-Amz-SignedHeaders"].split(";")
    values = {"host": parts.netloc} | {name.lower(): str(value) for name, value in headers.items()}
    request = "\n".join(
        [
            method,
            parts.path,
            "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query)),
            "".join(f"{name}:{values[name]}\n" for name in signed),
            ";".join(signed),
            "UNSIGNED-PAYLOAD",
        ]
    )
    scope = params["X-Amz-Credential"].split("/", 1)[1]  # date/region/s3/aws4_request
    to_sign = "\n".join(["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope, hashlib.sha256(request.encode()).hexdigest()])
    key = f"AWS4{SECRET_KEY}".encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def assert_expires_as_configured(url: str, during: range) -> None:
    # The adapter signs for the time left until the expiry it was given
    # (EXPIRY_SECONDS after a moment of the request): less by as many
    # seconds as ticked in between, which under load may be more than one.
    assert EXPIRY_SECONDS - (len(during) - 1) <= int(query_of(url)["X-Amz-Expires"]) <= EXPIRY_SECONDS, url


def pending(api, image_id: int) -> bool:
    image = json_of(api.get(f"/images/{image_id}"), 200)
    return image["uploaded_timestamp"] is None and image["url"] is None


def test_two_step_upload_with_complete(api, stores, sample_dicom):
    data = sample_dicom.read_bytes()
    image, during = seconds_during(
        lambda: created(api, "/images", {"filename": sample_dicom.name, "size": len(data), "tags": ["CT"]})
    )

    upload_url = image["upload_url"]
    assert upload_url.startswith(f"{stores.endpoint}/{stores.bucket}/{stores.prefix}/uploads/"), upload_url
    assert_expires_as_configured(upload_url, during)
    assert "content-length" in query_of(upload_url)["X-Amz-SignedHeaders"].split(";")
    signature = query_of(upload_url)["X-Amz-Signature"]
    assert sigv4_signature("PUT", upload_url, {"content-length": len(data)}) == signature
    assert sigv4_signature("PUT", upload_url, {"content-length": len(data) + 1}) != signature

    assert pending(api, image["id"])
    assert httpx.put(upload_url, content=data).status_code == 200  # a plain HTTP client, straight to S3
    completed, during = seconds_during(lambda: json_of(api.post(f"/images/{image['id']}/complete"), 200))
    assert completed["id"] == image["id"] and completed["size"] == len(data)
    assert completed["uploaded_timestamp"] >= completed["created_timestamp"]
    upload_key = stores.object_key(upload_url)
    image_key = upload_key.replace("/uploads/", "/images/")
    assert upload_key not in stores.uploads() and image_key in stores.images()  # moved to its permanent key
    assert stores.read(image_key) == data

    url = completed["url"]
    assert stores.object_key(url) == image_key and url.startswith(f"{stores.endpoint}/"), url
    assert_expires_as_configured(url, during)
    download = httpx.get(url)
    assert download.status_code == 200 and download.content == data
    assert download.headers["content-disposition"] == attachment(sample_dicom.name)
    assert sample_dicom.name in download.headers["content-disposition"]
    assert download.headers["content-type"] == "application/dicom"

    # complete is idempotent, and GET shows the same record.
    again = json_of(api.post(f"/images/{image['id']}/complete"), 200)
    assert again | {"url": None} == completed | {"url": None}
    assert json_of(api.get(f"/images/{image['id']}"), 200) | {"url": None} == completed | {"url": None}


def test_an_upload_without_complete_is_found_when_read(api):
    """Every read path finds the upload by itself, each on its own record."""
    tag = "Lazy check"
    images = [created(api, "/images", {"filename": f"{n}.bin", "size": 5, "tags": [tag]}) for n in range(3)]
    for image in images:
        assert pending(api, image["id"])  # looked for, not there yet: the next look is a few seconds away
        assert httpx.put(image["upload_url"], content=b"12345").status_code == 200
    by_get, by_list, by_search = (image["id"] for image in images)

    def listed(image_id, path, **params):
        def read():
            results = json_of(api.get(path, params=params), 200)["results"]
            return next(image for image in results if image["id"] == image_id)

        return read

    uploaded = lambda image: image["uploaded_timestamp"] is not None and image["url"] is not None  # noqa: E731
    eventually(lambda: json_of(api.get(f"/images/{by_get}"), 200), uploaded, what="GET /images/{id}")
    eventually(listed(by_list, "/images"), uploaded, what="GET /images")
    eventually(listed(by_search, "/search/images", exact_tags=tag), uploaded, what="GET /search/images")
    for image_id in (by_get, by_list, by_search):
        assert httpx.get(json_of(api.get(f"/images/{image_id}"), 200)["url"]).content == b"12345"


def test_a_wrong_size_upload_is_refused_removed_and_can_be_redone(api, stores):
    image = created(api, "/images", {"filename": "wrong.bin", "size": 10})
    # S3 would refuse this body (the URL signs the length); moto does not, as
    # an S3-compatible store might not.
    assert httpx.put(image["upload_url"], content=b"too short").status_code == 200
    upload_key = stores.object_key(image["upload_url"])
    assert stores.uploads() == [upload_key]

    body = assert_error(api.post(f"/images/{image['id']}/complete"), 409)
    assert "10 bytes" in body["message"], body
    assert upload_key not in stores.uploads()
    assert pending(api, image["id"])

    assert httpx.put(image["upload_url"], content=b"0123456789").status_code == 200
    completed = json_of(api.post(f"/images/{image['id']}/complete"), 200)
    assert completed["uploaded_timestamp"] is not None
    assert httpx.get(completed["url"]).content == b"0123456789"


def test_complete_before_any_upload_is_a_409_and_unknown_images_a_404(api):
    image = created(api, "/images", {"filename": "later.bin", "size": 3})
    assert "3 bytes" in assert_error(api.post(f"/images/{image['id']}/complete"), 409)["message"]
    assert pending(api, image["id"])
    assert_error(api.post("/images/999999/complete"), 404)


def test_a_one_shot_upload_and_deletes_remove_the_objects(api, stores, sample_dicom):
    data = sample_dicom.read_bytes()
    two_step = created(api, "/images", {"filename": "scan.dcm", "size": len(data)})
    assert httpx.put(two_step["upload_url"], content=data).status_code == 200
    two_step = json_of(api.post(f"/images/{two_step['id']}/complete"), 200)
    one_shot = created(api, "/upload", {"filename": "small.bin", "image_data": "AAEC"})
    key_of = {image["id"]: stores.object_key(image["url"]) for image in (two_step, one_shot)}
    assert stores.read(key_of[one_shot["id"]]) == b"\0\1\2"
    assert stores.read(key_of[two_step["id"]]) == data

    for image in (two_step, one_shot):
        response = api.delete(f"/images/{image['id']}")
        assert response.status_code == 204, response.text
        assert key_of[image["id"]] not in stores.keys()
        # S3 answers 403 or 404 for a missing object, depending on the caller's rights.
        assert httpx.get(image["url"]).status_code in (403, 404)
        assert_error(api.get(f"/images/{image['id']}"), 404)


def test_a_replayed_put_changes_nothing_and_reconcile_removes_it(serve, shared_stores, tmp_path):
    stores = shared_stores
    server = serve(tmp_path / "data", env=stores.environment())
    with server.client() as api:
        image = created(api, "/images", {"filename": "kept.bin", "size": 8})
        assert httpx.put(image["upload_url"], content=b"original").status_code == 200
        completed = json_of(api.post(f"/images/{image['id']}/complete"), 200)

        # The presigned PUT is still valid: a replay lands at the upload key...
        assert httpx.put(image["upload_url"], content=b"replayed").status_code == 200
        assert stores.uploads() == [stores.object_key(image["upload_url"])]
        # ...but nothing anyone reads changes.
        assert httpx.get(completed["url"]).content == b"original"
        assert json_of(api.post(f"/images/{image['id']}/complete"), 200) | {"url": None} == completed | {"url": None}
        again = json_of(api.get(f"/images/{image['id']}"), 200)
        assert again | {"url": None} == completed | {"url": None}
        assert httpx.get(again["url"]).content == b"original"

        reconcile = ["reconcile", "--remove-orphans"]
        env = stores.environment()
        young = run_tim(*reconcile, env=env, cwd=tmp_path)  # within the grace period: left alone
        assert young.returncode == 0, young.stderr
        assert json.loads(young.stdout)["replays"] == 0 and stores.uploads() != []

        next_second(int(time.time()))  # the replay is older than a grace of 0 s from now on
        swept = run_tim(*reconcile, "--orphan-grace", "0", env=env, cwd=tmp_path)
        assert swept.returncode == 0, swept.stderr
        assert json.loads(swept.stdout) == {"completed": 0, "rejected": 0, "expired": 0, "orphans": 0, "replays": 1, "temporaries": 0}
        assert stores.uploads() == []
        assert httpx.get(json_of(api.get(f"/images/{image['id']}"), 200)["url"]).content == b"original"
