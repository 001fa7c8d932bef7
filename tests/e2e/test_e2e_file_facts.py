"""File facts, duplicates and previews through real `tim serve` processes,
on the four storage combinations: SQLite or PostgreSQL, files or S3."""

from __future__ import annotations

import base64
import hashlib
import io
import sqlite3
from urllib.parse import parse_qsl, urlsplit

import httpx
import psycopg
import pytest
from PIL import Image

import imaging_samples as samples
from e2e.http_servers import Servers, assert_error, created, json_of
from e2e.test_scaleout_uploads import sigv4_signature

COMBINATIONS = ["sqlite-files", "sqlite-s3", "postgres-files", "postgres-s3"]


@pytest.fixture(scope="module", params=COMBINATIONS)
def deployment(request, new_shared_stores, tmp_path_factory):
    database, files = request.param.split("-")
    stores = new_shared_stores()
    env = stores.environment()
    if database == "sqlite":
        del env["TIM_DATABASE_URL"]  # the data directory's SQLite file
    if files == "files":
        del env["TIM_BLOBSTORE_URL"]  # the data directory's files
    servers = Servers()
    server = servers(tmp_path_factory.mktemp(request.param) / "data", env=env)
    yield server, stores, database, files
    servers.stop_all()


@pytest.fixture
def api(deployment):
    with deployment[0].client() as client:
        yield client


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(created_image: dict, data: bytes) -> httpx.Response:
    return httpx.put(created_image["upload_url"], content=data, headers=created_image.get("upload_headers", {}))


def upload(api, data: bytes, filename: str = "scan.dcm", **extra) -> dict:
    image = created(api, "/images", {"filename": filename, "size": len(data), **extra})
    assert put(image, data).status_code == 200
    return json_of(api.post(f"/images/{image['id']}/complete"), 200)


def test_a_declared_sha256_refuses_other_bytes_and_the_record_stays_pending(api, deployment):
    _, stores, _, files = deployment
    data = samples.identified_ct()
    image = created(api, "/images", {"filename": "ct.dcm", "size": len(data), "sha256": sha(data)})
    wrong = data[:-1] + bytes([data[-1] ^ 1])
    if files == "files":
        assert image.get("upload_headers") is None
        assert_error(put(image, wrong), 400)
    else:
        # S3 checks a signed checksum: the header is pinned by the signature.
        header = image["upload_headers"]["x-amz-checksum-sha256"]
        query = dict(parse_qsl(urlsplit(image["upload_url"]).query))
        assert "x-amz-checksum-sha256" in query["X-Amz-SignedHeaders"].split(";")
        signed = {"content-length": len(data), "x-amz-checksum-sha256": header}
        assert sigv4_signature("PUT", image["upload_url"], signed) == query["X-Amz-Signature"]
        other = signed | {"x-amz-checksum-sha256": "A" * 43 + "="}
        assert sigv4_signature("PUT", image["upload_url"], other) != query["X-Amz-Signature"]
        # moto stores a body that does not match (real S3 refuses it): tim's
        # own check on confirming removes it and the record stays pending.
        assert put(image, wrong).status_code == 200
        assert "SHA-256" in assert_error(api.post(f"/images/{image['id']}/complete"), 409)["message"]
        assert not any(key.endswith(urlsplit(image["upload_url"]).path.rsplit("/", 1)[1]) for key in stores.keys())
    pending = json_of(api.get(f"/images/{image['id']}"), 200)
    assert pending["uploaded_timestamp"] is None and pending["sha256"] is None
    assert put(image, data).status_code == 200
    stored = json_of(api.post(f"/images/{image['id']}/complete"), 200)
    assert (stored["sha256"], stored["content_type"]) == (sha(data), "application/dicom")
    assert stored["dicom"]["Modality"] == "CT" and stored["dicom"]["BodyPartExamined"] == "CHEST"


def test_every_upload_path_records_the_facts_and_duplicates_are_found(api):
    data = samples.png()
    two_step = upload(api, data, "a.dcm")  # the name says DICOM, the bytes say PNG
    one_shot = json_of(api.post("/upload", json={"filename": "b", "image_data": base64.b64encode(data).decode()}), 201)
    for image in (two_step, one_shot):
        assert (image["sha256"], image["content_type"], image["dicom"]) == (sha(data), "image/png", None)
    found = json_of(api.get("/images", params={"sha256": sha(data).upper(), "uploaded_only": "true"}), 200)
    assert [image["id"] for image in found["results"]] == [one_shot["id"], two_step["id"]]
    assert found["meta"]["total_results"] == 2
    assert_error(api.get("/images", params={"sha256": "xyz"}), 400, "sha256")
    assert_error(api.get("/search/images", params={"sha256": sha(data), "exact_tags": "a"}), 400, "sha256")


def test_downloads_carry_the_sniffed_type(api, deployment):
    image = upload(api, samples.jpeg(), "photo.dcm")
    if deployment[3] == "files":
        assert httpx.get(image["url"]).headers["content-type"] == "image/jpeg"
    else:  # S3 serves it, with the type tim signed into the URL
        assert dict(parse_qsl(urlsplit(image["url"]).query))["response-content-type"] == "image/jpeg"


def test_previews(api, deployment):
    _, stores, _, files = deployment
    for make in (samples.ct, samples.multi_frame, samples.jpeg2000_dicom, samples.png, samples.jpeg):
        image = upload(api, make())
        answer = api.get(f"/images/{image['id']}/preview", params={"size": "64"})
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
        picture = Image.open(io.BytesIO(answer.content))
        assert picture.format == "PNG" and max(picture.size) <= 64
        assert max(picture.convert("L").tobytes()) > min(picture.convert("L").tobytes())  # not blank
    assert api.get(f"/images/{image['id']}/preview").status_code == 200  # 256 by default
    pending = created(api, "/images", {"filename": "x.dcm", "size": 10})
    assert_error(api.get(f"/images/{pending['id']}/preview"), 409)
    text = upload(api, samples.text_named_dcm())
    assert_error(api.get(f"/images/{text['id']}/preview"), 415)
    mpeg = upload(api, samples.undecodable())
    assert "1.2.840.10008.1.2.4.100" in assert_error(api.get(f"/images/{mpeg['id']}/preview"), 415)["message"]
    for size in ("63", "2000", "abc"):
        assert_error(api.get(f"/images/{image['id']}/preview", params={"size": size}), 400, "size")
    assert_error(api.get(f"/images/{image['id']}/preview", params={"width": "64"}), 400, "width")
    assert_error(api.get("/images/999999/preview"), 404)
    # Kept beside the file, and gone with it.
    count = len(previews(deployment))
    assert count >= 6
    assert api.delete(f"/images/{image['id']}").status_code == 204
    assert len(previews(deployment)) == count - 2  # its 64 and 256 previews


def previews(deployment) -> list[str]:
    server, stores, _, files = deployment
    if files == "files":
        return [path.name for path in (server.data_dir / "files" / "objects").rglob("*-preview*")]
    return [key for key in stores.keys() if "-preview" in key]


def test_no_patient_identifier_is_kept_or_logged(api, deployment):
    server, stores, database, _ = deployment
    data = samples.identified_ct()
    image = upload(api, data, "identified.dcm")
    shown = json_of(api.get(f"/images/{image['id']}"), 200)
    assert shown["dicom"]["Modality"] == "CT"
    api.get(f"/images/{image['id']}/preview")
    text = str(shown) + server.log()
    if database == "sqlite":
        for path in server.data_dir.glob("tim.db*"):  # the file and its write-ahead log
            text += path.read_bytes().decode("latin-1")
        with sqlite3.connect(server.data_dir / "tim.db") as db:
            text += str(db.execute("SELECT * FROM images").fetchall() + db.execute("SELECT * FROM changes").fetchall())
    else:
        with psycopg.connect(stores.database_url) as db:
            text += str(db.execute("SELECT i::text FROM images i").fetchall())
            text += str(db.execute("SELECT c::text FROM changes c").fetchall())
    for secret in samples.SECRETS:
        assert secret not in text
