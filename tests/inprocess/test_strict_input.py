"""Input that is ambiguous or spelled oddly is refused with 400 JSON and
changes nothing: one spelling per value, one value per parameter."""

import base64
import gzip

import pytest

from e2e.http_servers import assert_error, created, json_of

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "body",
    [
        b'{"\\ud800": 1}',  # an unknown key that cannot be encoded as it is
        b'{"name": "a", "name": "b"}',  # which one?
        b'{"name": NaN}',
        b'{"filename": "a", "size": Infinity}',
    ],
)
def test_ambiguous_json_bodies(client, body):
    before = [json_of(client.get(path), 200)["meta"] for path in ("/tags", "/images")]
    for path in ("/tags", "/images", "/upload"):
        assert_error(client.post(path, content=body, headers=JSON), 400)
    assert [json_of(client.get(path), 200)["meta"] for path in ("/tags", "/images")] == before


def test_thousands_of_unknown_keys_get_a_short_answer(client):
    body = {f"k{n}": n for n in range(5000)}
    error = assert_error(client.post("/tags", json=body), 400)
    assert len(error["details"]) <= 21 and "more problems" in error["details"][-1]["message"]


@pytest.mark.parametrize(
    "query, field",
    [
        ("limit=abc&limit=2", "limit"),
        ("page=-1&page=0", "page"),
        ("uploaded_only=maybe&uploaded_only=true", "uploaded_only"),
        ("page=%201", "page"),
        ("page=%E3%80%801", "page"),
        ("page=+1", "page"),
        ("page=01", "page"),
        ("uploaded_only=%20true", "uploaded_only"),
    ],
)
def test_one_spelling_and_one_value_per_parameter(client, query, field):
    for path in ("/images", "/search/images?match_tags=x&", "/tags"):
        separator = "" if path.endswith("&") else "?"
        if path == "/tags" and field == "uploaded_only":
            continue
        assert_error(client.get(f"{path}{separator}{query}"), 400, field)


def test_ids_have_one_spelling(client):
    image = created(client, "/upload", {"filename": "a.png", "image_data": "AAEC"})
    assert json_of(client.get(f"/images/{image['id']}"), 200)["id"] == image["id"]
    for spelling in (f"%20{image['id']}", f"+{image['id']}", f"0{image['id']}"):
        assert_error(client.get(f"/images/{spelling}"), 404)


def test_control_characters_around_tag_names_are_refused_not_trimmed(client):
    assert_error(client.post("/tags", json={"name": "\u001cSep\u001d"}), 400, "name")
    assert json_of(client.post("/tags", json={"name": "\u3000Sep\t"}), 201)["name"] == "Sep"


def test_compressed_files_are_served_as_what_they_are(client):
    # What the bytes are decides, not the name (see API-EXTENSIONS §7, content_type).
    packed = gzip.compress(b"not a png")
    image = created(client, "/upload", {"filename": "scan.png.gz", "image_data": base64.b64encode(packed).decode()})
    download = client.get(image["url"])
    assert download.status_code == 200 and download.headers["content-type"] == "application/gzip"
    image = created(client, "/upload", {"filename": "scan.png", "image_data": base64.b64encode(b"x").decode()})
    assert client.get(image["url"]).headers["content-type"] == "application/octet-stream"


def snapshot(client):
    """Every record and tag (download URLs left out: each read signs a fresh one)."""
    images = json_of(client.get("/images"), 200)
    records = [image | {"url": image["url"] is not None} for image in images["results"]]
    return images["meta"], records, json_of(client.get("/tags"), 200)


def test_unknown_query_parameters_are_refused_on_every_route_and_change_nothing(client):
    tag = created(client, "/tags", {"name": "Typos"})
    image = created(client, "/upload", {"filename": "t.png", "image_data": "AAAA", "tags": ["Typos"]})
    pending = created(client, "/images", {"filename": "p.png", "size": 3})
    before = snapshot(client)
    routes = [
        ("GET", "/images", None),
        ("POST", "/images", {"filename": "x.png", "size": 1}),
        ("GET", f"/images/{image['id']}", None),
        ("PUT", f"/images/{image['id']}", {"tags": []}),
        ("DELETE", f"/images/{image['id']}", None),
        ("POST", f"/images/{pending['id']}/complete", None),
        ("POST", "/upload", {"filename": "x.png", "image_data": "AAAA"}),
        ("GET", "/tags", None),
        ("POST", "/tags", {"name": "new"}),
        ("GET", f"/tags/{tag['id']}", None),
        ("PUT", f"/tags/{tag['id']}", {"name": "renamed"}),
        ("DELETE", f"/tags/{tag['id']}", None),
        ("GET", f"/tags/{tag['id']}/images", None),
        ("GET", "/search/images?exact_tags=Typos", None),
        ("GET", "/openapi.json", None),
    ]
    for method, path, body in routes:
        separator = "&" if "?" in path else "?"
        for typo in ("exact_tag", "Page", "uploaded"):
            response = client.request(method, f"{path}{separator}{typo}=1", json=body)
            assert_error(response, 400, typo)
    # Parameters of other routes are as unknown: a list is never silently unfiltered.
    assert_error(client.get("/images", params={"exact_tags": "Typos"}), 400, "exact_tags")
    many = assert_error(client.get("/tags", params={f"p{n}": n for n in range(500)}), 400)
    assert len(many["details"]) <= 21

    # Signed URLs take exactly what tim signs; curl and browsers add nothing.
    for method, url, content in [("GET", image["url"], None), ("PUT", pending["upload_url"], b"abc")]:
        assert_error(client.request(method, f"{url}&x-id=1", content=content), 400, "x-id")
        assert_error(client.request(method, url.replace("?", "?expires=1&"), content=content), 400, "expires")
    assert snapshot(client) == before
    assert client.get(image["url"]).content == b"\0\0\0"
    assert json_of(client.put(pending["upload_url"], content=b"abc"), 200)["id"] == pending["id"]


def test_names_are_nfc_and_invisible_characters_are_refused(client):
    composed, decomposed = "Sch\u00e4del", "Scha\u0308del"
    record = created(client, "/tags", {"name": decomposed})
    tag = {"id": record["id"], "name": record["name"]}  # as image records carry it
    assert tag["name"] == composed
    assert assert_error(client.post("/tags", json={"name": composed}), 409)["tag"] == tag
    image = created(
        client, "/upload", {"filename": "Re\u0301sume\u0301.png", "image_data": "AAAA", "tags": [composed, decomposed]}
    )
    assert image["filename"] == "R\u00e9sum\u00e9.png" and image["tags"] == [tag]
    assert "filename*=UTF-8''R%C3%A9sum%C3%A9.png" in client.get(image["url"]).headers["content-disposition"]
    found = json_of(client.get("/search/images", params={"exact_tags": decomposed, "match_tags": "sch\u00e4%"}), 200)
    assert [record["id"] for record in found["results"]] == [image["id"]]

    before = snapshot(client)
    for method, path, body, field in [
        ("POST", "/tags", {"name": "\u202eevil"}, "name"),
        ("PUT", f"/tags/{tag['id']}", {"name": "a\u2066b"}, "name"),
        ("POST", "/images", {"filename": "zero\u200bwidth.png", "size": 1}, "filename"),
        ("POST", "/images", {"filename": "\u3000 ", "size": 1}, "filename"),
        ("POST", "/upload", {"filename": "a.png", "image_data": "AAAA", "tags": ["ok", "\ufeffbom"]}, "tags[1]"),
        ("PUT", f"/images/{image['id']}", {"tags": ["soft\u00adhyphen"]}, "tags[0]"),
    ]:
        assert_error(client.request(method, path, json=body), 400, field)
    assert_error(client.get("/search/images", params={"exact_tags": "ok|\u202e"}), 400, "exact_tags")
    assert snapshot(client) == before


def test_a_whole_number_written_with_a_fraction_is_that_integer(client):
    # JSON has numbers, not integers: 3.0 is 3, as JSON Schema (and so the
    # document, which schemathesis reads) says; 3.5 and true are not.
    pending = created(client, "/images", {"filename": "whole.bin", "size": 3.0})
    assert json_of(client.get(f"/images/{pending['id']}"), 200)["size"] == 3
    for size in ("3.5", "true", "1e400"):  # 1e400 is read as infinity
        assert_error(client.post("/images", content=f'{{"filename": "a", "size": {size}}}', headers=JSON), 400, "size")
