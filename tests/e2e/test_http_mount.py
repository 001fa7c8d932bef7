"""tim's app mounted inside another ASGI app, served over real HTTP: the host
enters tim's lifespan, and every route, signed URL and error works under the
mount path."""

from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from e2e.http_servers import assert_error, created, free_port, json_of, serving
from tim.entrypoints.bootstrap import Config, build_manager
from tim.entrypoints.http.app import create_app


@pytest.fixture
def hosted(tmp_path):
    """(server, closed): the host app served on a free port; `closed` records
    each close of tim's ImageManager."""
    port = free_port()
    config = Config(
        database_url=f"sqlite:///{tmp_path / 'tim.db'}",
        blobstore_url=f"file://{tmp_path / 'files'}",
        public_url=f"http://127.0.0.1:{port}/imaging",
        data_dir=str(tmp_path),
    )
    closed = []

    def open_manager():
        manager = build_manager(config)
        close = manager.close
        manager.close = lambda: (closed.append(True), close())
        return manager

    tim_app = create_app(open_manager, default_user="host-app")

    @asynccontextmanager
    async def lifespan(app):
        async with tim_app.router.lifespan_context(tim_app):
            yield

    host = Starlette(
        routes=[Route("/", lambda request: PlainTextResponse("host")), Mount("/imaging", tim_app)],
        lifespan=lifespan,
    )
    with serving(host, port) as server:
        yield server, closed


def test_tim_works_mounted_in_another_app(hosted):
    server, closed = hosted
    assert httpx.get(f"{server.origin}/").text == "host"
    with httpx.Client(base_url=f"{server.origin}/imaging/v1") as client:
        image = created(client, "/images", {"filename": "m.dcm", "size": 4, "tags": ["Mounted"]})
        assert image["upload_url"].startswith(f"{server.origin}/imaging/v1/blobs/")
        json_of(httpx.put(image["upload_url"], content=b"abcd"), 200)
        stored = json_of(client.get(f"/images/{image['id']}"), 200)
        assert stored["created_by"] == "host-app"
        assert httpx.get(stored["url"]).content == b"abcd"
        assert json_of(client.get("/openapi.json"), 200)["servers"] == [{"url": "/imaging/v1"}]
        assert_error(client.get("/nothing"), 404)
        assert_error(client.patch("/tags"), 405)
    assert closed == []


def test_the_manager_is_closed_when_the_host_stops(hosted):
    server, closed = hosted
    assert httpx.get(f"{server.origin}/imaging/v1/tags").status_code == 200
    server.stop()
    assert closed == [True]
