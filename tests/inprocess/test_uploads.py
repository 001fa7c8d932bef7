"""Uploads and downloads through a running server: the two-step upload with
the returned upload_url, the one-shot upload, and downloads through `url`."""

import base64
from urllib.parse import quote


from e2e.http_servers import json_of


def test_two_step_upload_of_the_dicom_sample_then_download(client, sample_dicom):
    data = sample_dicom.read_bytes()
    created = json_of(
        client.post("/images", json={"filename": "image-00000.dcm", "size": len(data), "tags": ["CT", "Chest", "CT"]}),
        201,
    )
    assert set(created) == {"id", "upload_url"}
    assert created["upload_url"].startswith(client.base_url.scheme + "://")

    pending = json_of(client.get(f"/images/{created['id']}"), 200)
    assert pending["uploaded_timestamp"] is None and pending["url"] is None
    assert [tag["name"] for tag in pending["tags"]] == ["Chest", "CT"]

    stored = json_of(client.put(created["upload_url"], content=data), 200)
    assert stored["id"] == created["id"] and stored["uploaded_timestamp"] is not None

    image = json_of(client.get(f"/images/{created['id']}"), 200)
    assert set(image) == {
        "id", "created_by", "created_timestamp", "filename", "size", "tags", "uploaded_timestamp", "url",
        "sha256", "content_type", "dicom",  # file facts (API-EXTENSIONS §7)
    }  # fmt: skip
    assert image["created_by"] == "anonymous"
    assert image["filename"] == "image-00000.dcm" and image["size"] == len(data)
    assert image["uploaded_timestamp"] >= image["created_timestamp"]

    download = client.get(image["url"])
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-type"] == "application/dicom"
    assert download.headers["content-length"] == str(len(data))
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"image-00000.dcm\"; filename*=UTF-8''image-00000.dcm"
    )

    # Verified completion is idempotent once the file is stored.
    assert json_of(client.post(f"/images/{created['id']}/complete"), 200)["uploaded_timestamp"] is not None


def test_one_shot_upload_then_download(client, sample_dicom):
    data = sample_dicom.read_bytes()
    body = {"filename": "scan.dcm", "image_data": base64.b64encode(data).decode(), "tags": ["Head"]}
    image = json_of(client.post("/upload", json=body), 201)
    assert image["id"] > 0 and image["size"] == len(data) and image["created_by"] == "anonymous"
    assert [tag["name"] for tag in image["tags"]] == ["Head"]
    assert image["uploaded_timestamp"] is not None
    assert json_of(client.get(f"/images/{image['id']}"), 200) | {"url": None} == image | {"url": None}

    download = client.get(image["url"])
    assert download.status_code == 200 and download.content == data


def test_a_download_names_the_original_file_safely(client):
    filename = 'Röntgen "links"; 100%.png'
    image = json_of(client.post("/upload", json={"filename": filename, "image_data": "iVBORw0KGgo="}), 201)
    download = client.get(image["url"])
    assert download.status_code == 200 and download.content == base64.b64decode("iVBORw0KGgo=")
    assert download.headers["content-type"] == "image/png"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"] == (
        f"attachment; filename=\"Rontgen _links_; 100%.png\"; filename*=UTF-8''{quote(filename, safe='')}"
    )


def test_deleting_an_image_removes_its_file(client):
    image = json_of(client.post("/upload", json={"filename": "gone.bin", "image_data": "AAEC"}), 201)
    assert client.get(image["url"]).status_code == 200
    response = client.delete(f"/images/{image['id']}")
    assert response.status_code == 204 and response.content == b""
    assert client.get(f"/images/{image['id']}").status_code == 404
    assert client.get(image["url"]).status_code == 404
