"""Stop the server, start it again on the same data directory: records, tags,
files and the URL-signing secret are all still there."""

import base64

import httpx

from e2e.http_servers import created, json_of


def without_urls(images):
    return [image | {"url": None} for image in images]


def test_everything_survives_a_restart(serve, tmp_path, sample_dicom):
    data = sample_dicom.read_bytes()
    data_dir = tmp_path / "data"
    first = serve(data_dir)
    with first.client() as client:
        image = created(client, "/images", {"filename": "scan.dcm", "size": len(data), "tags": ["Chest"]})
        json_of(httpx.put(image["upload_url"], content=data), 200)
        pending = created(client, "/images", {"filename": "later.dcm", "size": len(data), "tags": ["CT"]})
        one_shot = created(client, "/upload", {"filename": "small.bin", "image_data": "AAEC", "tags": ["CT"]})
        deleted = created(client, "/upload", {"filename": "deleted.bin", "image_data": "AAEC"})
        assert client.delete(f"/images/{deleted['id']}").status_code == 204
        chest = next(tag for tag in json_of(client.get("/tags"), 200)["results"] if tag["name"] == "Chest")
        json_of(client.put(f"/tags/{chest['id']}", json={"name": "Thorax"}), 200)
        images_before = json_of(client.get("/images"), 200)
        tags_before = json_of(client.get("/tags"), 200)
        old_download_url = json_of(client.get(f"/images/{image['id']}"), 200)["url"]
    first.stop()
    assert "Application shutdown complete" in first.log()  # the stores were closed

    second = serve(data_dir, port=first.port)  # same port: the signed URLs name it
    with second.client() as client:
        assert json_of(client.get("/tags"), 200) == tags_before
        images_after = json_of(client.get("/images"), 200)
        assert images_after["meta"] == images_before["meta"]
        assert without_urls(images_after["results"]) == without_urls(images_before["results"])

        # Files, and URLs signed before the restart (the secret was kept).
        assert httpx.get(old_download_url).content == data
        assert httpx.get(json_of(client.get(f"/images/{image['id']}"), 200)["url"]).content == data
        assert httpx.get(json_of(client.get(f"/images/{one_shot['id']}"), 200)["url"]).content == b"\0\1\2"
        json_of(httpx.put(pending["upload_url"], content=data), 200)
        assert httpx.put(pending["upload_url"], content=data).status_code == 409

        # Ids are never reused, not even the deleted newest one.
        newest = created(client, "/upload", {"filename": "new.bin", "image_data": base64.b64encode(b"new").decode()})
        assert newest["id"] > deleted["id"]
