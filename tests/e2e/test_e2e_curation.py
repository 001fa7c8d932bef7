"""Curation over real HTTP (API-EXTENSIONS §1-§6): search operators, cursors,
export, tag records, autocomplete, collisions, merges and aliases, tag edits
and history; and the unhappy paths of each. Tests share one server: each
uses tag names of its own."""

import json
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import httpx
import pytest

from conftest import unavailable
from e2e.http_servers import assert_error, clean_environment, created, eventually, json_of, serving
from inprocess.test_openapi import check
from readme_sections import fenced_blocks
from domain.managers import in_memory_manager
from tim.domain.model.images import NewImage, new_blob_key
from tim.domain.use_cases import parts
from tim.entrypoints.http.app import create_app


def upload(client, *tags):
    return created(client, "/upload", {"filename": "a.png", "image_data": "AAAA", "tags": list(tags)})


def found(client, path="/search/images", **params):
    return [image["id"] for image in json_of(client.get(path, params=params), 200)["results"]]


def walk(client, path, limit, **params):
    """Every result, a page at a time by cursor, and the metas seen."""
    ids, metas, cursor = [], [], None
    while True:
        page = json_of(client.get(path, params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})}), 200)
        ids += [image["id"] for image in page["results"]]
        metas.append(page["meta"])
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            return ids, metas


def test_search_operators(client):
    ct, mr = upload(client, "op CT"), upload(client, "op MR")
    both, bare = upload(client, "op CT", "op MR", "op done"), upload(client)
    assert found(client, any_tags="op CT|op MR") == [both["id"], mr["id"], ct["id"]]
    assert found(client, any_tags=["op CT", "op MR"], exclude_tags="op done") == [mr["id"], ct["id"]]
    assert found(client, any_tags="op CT|op MR", exclude_match_tags="%done") == [mr["id"], ct["id"]]
    assert bare["id"] in found(client, untagged="true", limit=100)
    assert not {ct["id"], mr["id"]} & set(found(client, untagged="1", limit=100))
    assert set(found(client, exclude_tags="op CT", limit=100)) >= {mr["id"], bare["id"]}
    assert_error(client.get("/search/images", params={"untagged": "false"}), 400, "exact_tags")
    assert_error(client.get("/search/images", params={"untagged": "maybe"}), 400, "untagged")
    terms = {"any_tags": "|".join(f"a{n}" for n in range(33)), "exclude_tags": "|".join(f"b{n}" for n in range(32))}
    assert_error(client.get("/search/images", params=terms), 400, "exclude_tags")
    assert_error(client.get("/search/images", params={"exclude_tag": "x"}), 400, "exclude_tag")


def test_every_image_list_pages_by_cursor(client):
    made = [upload(client, "cursor walk")["id"] for _ in range(5)]
    tag_id = json_of(client.get(f"/images/{made[0]}"), 200)["tags"][0]["id"]
    for path, params in [("/search/images", {"exact_tags": "cursor walk"}), (f"/tags/{tag_id}/images", {})]:
        ids, metas = walk(client, path, 2, **params)
        assert ids == made[::-1] and [meta["current_page"] for meta in metas] == [0, 1, 2], path
        assert {meta["total_results"] for meta in metas} == {5}
    by_cursor, _ = walk(client, "/images", 3)
    assert by_cursor == found(client, "/images", limit=100)

    first = json_of(client.get("/search/images", params={"exact_tags": "cursor walk", "limit": 2}), 200)
    cursor = first["meta"]["next_cursor"]
    upload(client, "cursor walk")  # newer: shifts pages by number, not by cursor
    after = json_of(client.get("/search/images", params={"exact_tags": "cursor walk", "limit": 2, "cursor": cursor}), 200)
    assert [image["id"] for image in after["results"]] == made[2:0:-1]
    for params, message in [
        ({"exact_tags": "cursor walk", "cursor": cursor, "page": "1"}, "not both"),
        ({"exact_tags": "other", "cursor": cursor}, "other filters"),
        ({"exact_tags": "cursor walk", "uploaded_only": "true", "cursor": cursor}, "other filters"),
        ({"exact_tags": "cursor walk", "cursor": cursor[:-3] + "AAA"}, "not a cursor"),
        ({"exact_tags": "cursor walk", "cursor": "not a cursor"}, "not a cursor"),
        ({"exact_tags": "cursor walk", "cursor": ""}, "not a cursor"),
    ]:
        assert message in assert_error(client.get("/search/images", params=params), 400, "cursor")["message"]
    assert_error(client.get("/images", params={"cursor": cursor}), 400, "cursor")


def test_tag_records_autocomplete_and_collisions(client):
    for tags in (["ac Lung"], ["ac Lung", "ac lunge"], ["ac lunge"], ["ac lunge", "ac liver"]):
        upload(client, *tags)
    created(client, "/tags", {"name": "ac LUNG"})
    listed = json_of(client.get("/tags", params={"prefix": "AC LU"}), 200)
    assert [(t["name"], t["image_count"]) for t in listed["results"]] == [("ac lunge", 3), ("ac Lung", 2), ("ac LUNG", 0)]
    assert listed["meta"]["total_results"] == 3
    paged = json_of(client.get("/tags", params={"prefix": "ac lu", "limit": 1, "page": 1}), 200)
    assert [t["name"] for t in paged["results"]] == ["ac Lung"] and paged["meta"]["has_more_pages"]
    groups = json_of(client.get("/tags/collisions"), 200)["results"]
    by_name = {t["name"]: t for t in listed["results"]}
    assert {"folded": "ac lung", "tags": [by_name["ac LUNG"], by_name["ac Lung"]]} in groups  # in the tag list's order
    assert_error(client.get("/tags", params={"prefix": "a\u202e"}), 400, "prefix")
    assert_error(client.get("/tags/collisions", params={"page": "1"}), 400, "page")


def test_merges_and_aliases(client):
    survivor = json_of(client.get(f"/tags/{upload(client, 'al Chest')['tags'][0]['id']}"), 200)
    merged = upload(client, "al chest", "al other")["tags"][0]
    kept = json_of(client.post(f"/tags/{merged['id']}/merge", json={"into": survivor["id"]}), 200)
    assert kept == {"id": survivor["id"], "name": "al Chest", "image_count": 2, "aliases": ["al chest"]}
    assert_error(client.get(f"/tags/{merged['id']}"), 404)
    taken = assert_error(client.post("/tags", json={"name": "al chest"}), 409)
    assert taken["tag"] == {"id": survivor["id"], "name": "al Chest"}
    assert_error(client.put(f"/tags/{survivor['id']}", json={"name": "al chest"}), 409)
    aliased = upload(client, "al chest")
    assert aliased["tags"] == [{"id": survivor["id"], "name": "al Chest"}]
    assert aliased["id"] in found(client, exact_tags="al chest")
    assert found(client, exact_tags="al other", exclude_tags="al chest") == []

    slashed = upload(client, "al a/b")["tags"][0]
    json_of(client.post(f"/tags/{slashed['id']}/merge", json={"into": survivor["id"]}), 200)
    assert client.delete(f"/tags/{survivor['id']}/aliases/{quote('al a/b', safe='')}").status_code == 204
    assert client.delete(f"/tags/{survivor['id']}/aliases/al%20chest").status_code == 204
    assert_error(client.delete(f"/tags/{survivor['id']}/aliases/al%20chest"), 404)
    assert created(client, "/tags", {"name": "al chest"})["name"] == "al chest"  # the name is free again

    assert_error(client.post(f"/tags/{survivor['id']}/merge", json={"into": survivor["id"]}), 400, "into")
    assert_error(client.post(f"/tags/{survivor['id']}/merge", json={"into": 10**9}), 404)
    assert_error(client.post("/tags/0/merge", json={"into": survivor["id"]}), 404)
    assert_error(client.post(f"/tags/{survivor['id']}/merge", json={"into": "1"}), 400, "into")
    assert_error(client.post(f"/tags/{survivor['id']}/merge", json={}), 400, "into")


def test_edits_of_one_image_and_of_many(client):
    image = upload(client, "ed a", "ed b")
    path = f"/images/{image['id']}/tags"
    edited = json_of(client.patch(path, json={"add": ["ed c"], "remove": ["ed a", "ed none"]}), 200)
    assert [t["name"] for t in edited["tags"]] == ["ed b", "ed c"] and edited["url"]
    assert [t["name"] for t in json_of(client.patch(path, json={"remove": ["ed b"]}), 200)["tags"]] == ["ed c"]
    for body, field in [
        ({}, "add"),
        ({"add": [], "remove": []}, "add"),
        ({"add": ["x"], "remove": ["x"]}, "remove"),
        ({"add": "x"}, "add"),
        ({"tags": ["x"]}, "tags"),
    ]:
        assert_error(client.patch(path, json=body), 400, field)
    assert_error(client.patch("/images/0/tags", json={"add": ["x"]}), 404)

    others = [upload(client, "ed bulk")["id"] for _ in range(3)]
    missing = assert_error(client.post("/images/tags", json={"ids": [*others, 10**9, 0], "add": ["ed done"]}), 404)
    assert [d["message"] for d in missing["details"]] == [f"image {10**9} does not exist", "image 0 does not exist"]
    assert found(client, exact_tags="ed done") == []
    assert json_of(client.get("/tags", params={"prefix": "ed done"}), 200)["results"] == []  # not even made
    bulk = {"ids": [*others, image["id"]], "add": ["ed done"], "remove": ["ed bulk"]}
    assert json_of(client.post("/images/tags", json=bulk), 200) == {"updated": 4}
    assert found(client, exact_tags="ed done") == [*others[::-1], image["id"]]
    assert json_of(client.post("/images/tags", json={"ids": others, "add": ["ed done"]}), 200) == {"updated": 0}
    for body, field in [
        ({"ids": [], "add": ["x"]}, "ids"),
        ({"ids": list(range(1, 1002)), "add": ["x"]}, "ids"),
        ({"ids": ["1"], "add": ["x"]}, "ids[0]"),
        ({"ids": [1]}, "add"),
    ]:
        assert_error(client.post("/images/tags", json=body), 400, field)
    assert_error(client.get("/images/tags"), 405)


def test_twenty_clients_adding_tags_to_one_image_at_once_keep_all_of_them(client, module_server):
    image = upload(client, "many")

    def add(n):
        with module_server.client() as own:
            return own.patch(f"/images/{image['id']}/tags", json={"add": [f"many {n}"]}).status_code

    with ThreadPoolExecutor(20) as pool:
        assert list(pool.map(add, range(20))) == [200] * 20
    tags = {t["name"] for t in json_of(client.get(f"/images/{image['id']}"), 200)["tags"]}
    assert tags == {"many"} | {f"many {n}" for n in range(20)}


def test_history(client):
    image = upload(client, "hi a")
    before = int(time.time())
    client.put(f"/images/{image['id']}", json={"tags": ["hi b"]})
    client.patch(f"/images/{image['id']}/tags", json={"add": ["hi c"]})
    assert client.delete(f"/images/{image['id']}").status_code == 204
    events = json_of(client.get(f"/images/{image['id']}/history"), 200)["results"]
    assert [(e["action"], e["added"], e["removed"], e["details"]) for e in events] == [
        ("deleted", [], ["hi b", "hi c"], {}),
        ("tagged", ["hi c"], [], {"via": "edit"}),
        ("tagged", ["hi b"], ["hi a"], {"via": "replace"}),
        ("uploaded", [], [], {}),
        ("created", ["hi a"], [], {}),
    ]
    assert {e["by"] for e in events} == {"anonymous"} and all(e["image_id"] == image["id"] for e in events)
    assert_error(client.get("/images/999999999/history"), 404)
    assert_error(client.get("/images/x/history"), 404)

    walked, cursor = [], None
    while True:
        params = {"image_id": image["id"], "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = json_of(client.get("/history", params=params), 200)
        walked += page["results"]
        cursor = page["meta"]["next_cursor"]
        assert page["meta"]["has_more_pages"] == (cursor is not None)
        if cursor is None:
            break
    assert walked == events
    recent = json_of(client.get("/history", params={"since": before, "by": "anonymous", "image_id": image["id"]}), 200)
    assert recent["results"] == [e for e in events if e["at"] >= before]
    assert json_of(client.get("/history", params={"by": "nobody"}), 200)["results"] == []
    wrong = [({"since": "-1"}, "since"), ({"image_id": "0"}, "image_id"), ({"limit": "101"}, "limit"), ({"page": "1"}, "page")]
    for params, field in wrong:
        assert_error(client.get("/history", params=params), 400, field)
    first = json_of(client.get("/history", params={"limit": 1}), 200)["meta"]["next_cursor"]
    assert_error(client.get("/history", params={"by": "x", "cursor": first}), 400, "cursor")


def test_export_streams_every_match_as_ndjson(serve, tmp_path):
    server = serve(tmp_path / "data")
    with server.client() as client:
        made = [upload(client, "ex", "a" if n % 2 else "b")["id"] for n in range(5)]
        pending = created(client, "/images", {"filename": "p.dcm", "size": 3, "tags": ["ex"]})
        with client.stream("GET", "/export/images") as response:
            assert response.status_code == 200 and response.headers["content-type"] == "application/x-ndjson"
            lines = [json.loads(line) for line in response.iter_lines() if line]
        assert [record["id"] for record in lines] == [pending["id"], *made[::-1]]
        assert lines[0]["url"] is None and all(httpx.get(record["url"]).content == b"\x00\x00\x00" for record in lines[1:])
        assert set(lines[1]) == set(json_of(client.get(f"/images/{made[-1]}"), 200))
        tagged_a = client.get("/export/images", params={"exact_tags": "a"}).text.splitlines()
        assert [json.loads(line)["id"] for line in tagged_a] == [made[3], made[1]]
        assert client.get("/export/images", params={"exact_tags": "none"}).text == ""
        assert_error(client.get("/export/images", params={"untagged": "maybe"}), 400, "untagged")
        assert_error(client.get("/export/images", params={"page": "1"}), 400, "page")


def test_an_export_stops_reading_when_the_client_goes_away(monkeypatch):
    monkeypatch.setattr(parts, "EXPORT_BATCH", 10)
    manager = in_memory_manager()
    for n in range(5_000):
        manager.repository.add_image(NewImage("a.dcm", 1, "ana", 1_000 + n, new_blob_key(), ("x",)))
    drawn = []
    export = manager.export_batches

    def counted(**terms):
        for batch in export(**terms):
            drawn.append(len(batch))
            yield batch

    manager.export_batches = counted
    with serving(create_app(lambda: manager)) as server:
        with httpx.stream("GET", f"{server.origin}/v1/export/images") as response:
            next(response.iter_raw())
        # Gone: at most what fitted in the sockets' buffers was read (500 batches in all).
        settled = eventually(lambda: (len(drawn), time.sleep(0.5))[0], lambda n: n == len(drawn), what="the export to stop")
        assert settled < 100, settled


def test_curation_responses_fit_the_documented_schemas(client):
    document = json_of(client.get("/openapi.json"), 200)
    image = upload(client, "doc a")
    tag = image["tags"][0]
    check(document, "TagRecord", json_of(client.get(f"/tags/{tag['id']}"), 200))
    check(document, "TagBrowsePage", json_of(client.get("/tags", params={"prefix": "doc"}), 200))
    check(document, "TagCollisions", json_of(client.get("/tags/collisions"), 200))
    check(document, "ImageBrowsePage", json_of(client.get("/search/images", params={"any_tags": "doc a", "limit": 1}), 200))
    check(document, "ImageRecord", json_of(client.patch(f"/images/{image['id']}/tags", json={"add": ["doc b"]}), 200))
    bulk = {"ids": [image["id"]], "add": ["doc c"]}
    check(document, "BulkTagEditResult", json_of(client.post("/images/tags", json=bulk), 200))
    into = upload(client, "doc z")["tags"][0]["id"]
    check(document, "TagRecord", json_of(client.post(f"/tags/{tag['id']}/merge", json={"into": into}), 200))
    check(document, "ImageHistory", json_of(client.get(f"/images/{image['id']}/history"), 200))
    check(document, "HistoryPage", json_of(client.get("/history", params={"limit": 2}), 200))
    check(document, "Error", client.post("/images/tags", json={"ids": [10**9], "add": ["x"]}).json())
    for line in client.get("/export/images", params={"exact_tags": "doc z"}).text.splitlines():
        check(document, "ImageRecord", json.loads(line))
    check(document, "MergeInput", {"into": 1})
    check(document, "TagEditInput", {"add": ["a"]})
    check(document, "BulkTagEditInput", {"ids": [1], "remove": ["a"]})
    with pytest.raises(AssertionError):
        check(document, "BulkTagEditInput", {"ids": [1], "by": "me"})


def test_the_readme_curating_section_runs_as_written_and_prints_what_it_shows(serve, tmp_path):
    for tool in ["bash", "curl", "jq"]:
        if not shutil.which(tool):
            unavailable(f"the README's curating section needs {tool}")
    example = "\n".join(fenced_blocks("## Curating", "sh"))
    server = serve(tmp_path / "data")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", example],
        cwd=tmp_path,
        env=clean_environment({"TIM": server.api}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    shown = [line.removeprefix("# ") for line in example.splitlines() if line.startswith("# ")]
    assert result.stdout.splitlines() == shown
