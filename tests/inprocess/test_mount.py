"""tim's app mounted inside another ASGI app: the host enters tim's
lifespan, and every route, signed URL and error works under the mount
path."""

from contextlib import asynccontextmanager

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from e2e.http_servers import assert_error, created, json_of
from inprocess.apps import ORIGIN, local_config, quiet
from tim.entrypoints.bootstrap import build_manager
from tim.entrypoints.http.app import create_app


@pytest.fixture
def hosted(tmp_path):
    """(client, closed): a client of the host app, whose lifespan is
    running; `closed` records each close of tim's ImageManager."""
    config = local_config(tmp_path, public_url=f"{ORIGIN}/imaging")
    closed = []

    def open_manager():
        manager = build_manager(config)
        close = manager.close
        manager.close = lambda: (closed.append(True), close())
        return manager

    tim_app = create_app(open_manager, default_user="host-app", access_log=quiet())

    @asynccontextmanager
    async def lifespan(app):
        async with tim_app.router.lifespan_context(tim_app):
            yield

    host = Starlette(
        routes=[Route("/", lambda request: PlainTextResponse("host")), Mount("/imaging", tim_app)],
        lifespan=lifespan,
    )
    with TestClient(host, base_url=ORIGIN) as client:
        yield client, closed


def test_tim_works_mounted_in_another_app(hosted):
    client, closed = hosted
    assert client.get("/").text == "host"
    image = created(client, "/imaging/v1/images", {"filename": "m.dcm", "size": 4, "tags": ["Mounted"]})
    assert image["upload_url"].startswith(f"{ORIGIN}/imaging/v1/blobs/")
    json_of(client.put(image["upload_url"], content=b"abcd"), 200)
    stored = json_of(client.get(f"/imaging/v1/images/{image['id']}"), 200)
    assert stored["created_by"] == "host-app"
    assert client.get(stored["url"]).content == b"abcd"
    assert json_of(client.get("/imaging/v1/openapi.json"), 200)["servers"] == [{"url": "/imaging/v1"}]
    assert_error(client.get("/imaging/v1/nothing"), 404)
    assert_error(client.patch("/imaging/v1/tags"), 405)
    assert closed == []


def test_the_manager_is_closed_when_the_host_stops(hosted):
    client, closed = hosted
    assert client.get("/imaging/v1/tags").status_code == 200
    client.__exit__(None, None, None)  # the host's lifespan ends
    assert closed == [True]
