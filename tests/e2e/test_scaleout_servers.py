"""Several `tim serve` processes on one PostgreSQL database and one S3
bucket: they hold no state of their own, stay consistent under concurrent
writes, and answer 503 (not 500) when S3 cannot be reached."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from e2e.http_servers import assert_error, created, eventually, free_port, json_of, run_tim

PER_SERVER = 15
SHARED_TAGS = ["Shared", "shared", "Also shared"]


def everything(api: httpx.Client, path: str) -> list[dict]:
    """Every item of a paged list."""
    items, page = [], 0
    while True:
        body = json_of(api.get(path, params={"page": page, "limit": 100}), 200)
        items += body["results"]
        if not body["meta"]["has_more_pages"]:
            assert len(items) == body["meta"]["total_results"]
            return items
        page += 1


def without_urls(images: list[dict]) -> list[dict]:
    return [image | {"url": None} for image in images]


def test_two_servers_stay_consistent_under_concurrent_writes(serve, shared_stores, tmp_path):
    stores = shared_stores
    servers = [serve(tmp_path / f"app-{n}", env=stores.environment()) for n in range(2)]
    workers = 2 * PER_SERVER
    start = threading.Barrier(workers)

    def work(n: int) -> dict[str, httpx.Response]:
        """Create, upload and complete through one server, read back through
        the other, rename a tag (racing a worker of the other server for the
        same new name), and delete every third image."""
        mine, other = servers[n % 2], servers[(n + 1) % 2]
        data = f"image {n:04}".encode()
        seen: dict[str, httpx.Response] = {}
        with mine.client() as here, other.client() as there:
            start.wait()
            body = {"filename": f"{n}.bin", "size": len(data), "tags": [*SHARED_TAGS, f"own {n}"]}
            seen["create"] = here.post("/images", json=body)
            image = seen["create"].json()
            seen["upload"] = httpx.put(image["upload_url"], content=data)
            seen["complete"] = there.post(f"/images/{image['id']}/complete")
            own = next(tag for tag in seen["complete"].json()["tags"] if tag["name"] == f"own {n}")
            seen["rename"] = here.put(f"/tags/{own['id']}", json={"name": f"renamed {n // 2}"})
            if n % 3 == 0:
                seen["delete"] = there.delete(f"/images/{image['id']}")
            seen["read"] = here.get(f"/images/{image['id']}")
        return seen

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(work, range(workers)))

    responses = [response for seen in results for response in seen.values()]
    assert not [r for r in responses if r.status_code >= 500], [r.text for r in responses if r.status_code >= 500]
    assert all(seen["create"].status_code == 201 for seen in results)
    assert all(seen["upload"].status_code == 200 for seen in results)
    assert all(seen["complete"].status_code == 200 for seen in results)
    # Workers 2k and 2k+1 (on different servers) raced for the name "renamed k": one won.
    renames = [seen["rename"].status_code for seen in results]
    assert all(sorted(renames[k : k + 2]) == [200, 409] for k in range(0, workers, 2)), renames
    deleted = {n for n in range(workers) if n % 3 == 0}
    assert all(results[n]["read"].status_code == (404 if n in deleted else 200) for n in range(workers))

    with servers[0].client() as first, servers[1].client() as second:
        tags = everything(first, "/tags")
        assert everything(second, "/tags") == tags
        names = [tag["name"] for tag in tags]
        assert len(names) == len(set(names)), names
        renamed = {f"renamed {k}" for k in range(PER_SERVER)}
        kept_own = {name for name in names if name.startswith("own ")}
        assert set(names) == set(SHARED_TAGS) | renamed | kept_own and len(kept_own) == PER_SERVER

        images = everything(first, "/images")
        assert without_urls(everything(second, "/images")) == without_urls(images)
        kept = sorted(f"{n}.bin" for n in range(workers) if n not in deleted)
        assert sorted(image["filename"] for image in images) == kept
        for image in images:
            assert image["uploaded_timestamp"] is not None
            assert {tag["name"] for tag in image["tags"]} >= set(SHARED_TAGS)
            assert httpx.get(image["url"]).content == f"image {int(image['filename'][:-4]):04}".encode()
        assert len(stores.images()) == len(images) and stores.uploads() == []

    # Nothing lives on the app servers: no data directory is even created.
    assert not any(server.data_dir.exists() for server in servers)


def test_serve_with_two_workers(serve, shared_stores, tmp_path):
    server = serve(tmp_path / "data", env=shared_stores.environment(), args=("--workers", "2"))
    eventually(lambda: server.log().count("Application startup complete"), lambda n: n == 2, what="two workers")
    with server.client() as api:
        images = []
        for n in range(6):  # over fresh connections, so both workers likely see some
            image = created(api, "/images", {"filename": f"{n}.bin", "size": 3, "tags": ["Workers"]})
            assert httpx.put(image["upload_url"], content=b"abc").status_code == 200
            images.append(json_of(httpx.post(f"{server.api}/images/{image['id']}/complete"), 200))
        listed = json_of(api.get("/images"), 200)
        assert [image["id"] for image in listed["results"]] == [image["id"] for image in reversed(images)]
        assert all(httpx.get(image["url"]).content == b"abc" for image in listed["results"])


def test_an_unreachable_s3_is_a_503_and_a_one_line_reconcile_failure(serve, shared_stores, tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = shared_stores.environment(AWS_ENDPOINT_URL_S3=closed)
    server = serve(tmp_path / "data", env=env)
    with server.client() as api:
        body = assert_error(api.post("/upload", json={"filename": "a.bin", "image_data": "AAEC"}), 503)
        assert closed not in body["message"] and closed in server.log(), body  # details for the operator only

        image = created(api, "/images", {"filename": "b.bin", "size": 3})  # presigning needs no connection
        assert image["upload_url"].startswith(closed)
        body = assert_error(api.post(f"/images/{image['id']}/complete"), 503)
        assert "try again" in body["message"], body

        assert json_of(api.get("/tags"), 200)["meta"]["total_results"] == 0  # what needs no S3 still works

        swept = run_tim("reconcile", env=env, cwd=tmp_path)
        assert swept.returncode == 1 and swept.stdout == "", swept
        assert len(swept.stderr.splitlines()) == 1 and closed in swept.stderr, swept.stderr
        assert api.delete(f"/images/{image['id']}").status_code == 204  # the object is left for the sweep
    assert "Traceback" not in server.log()
