"""A request body slower than the floor is given up with 408 (a JSON
error) and stores nothing; one that keeps above the floor is received
however long it takes. The floor here is 1000 bytes/s over 1 s windows."""

import json
import socket
import time
from contextlib import nullcontext
from pathlib import Path

import httpx
import pytest

from e2e.http_servers import created, free_port, json_of, serving
from e2e.slow_clients import connect, put_head, trickling
from tim.entrypoints.bootstrap import Config
from tim.entrypoints.http.app import create_app
from tim.entrypoints.http.pacing import BodyFloor

FLOOR = BodyFloor(bytes_per_second=1000, window_seconds=1)


class Tim:
    def __init__(self, origin: str, files: str):
        self.origin = origin
        self.api = f"{origin}/v1"
        self.temporaries = f"{files}/tmp"


@pytest.fixture
def tim(tmp_path):
    port = free_port()
    config = Config(
        database_url=f"sqlite:///{tmp_path}/tim.db",
        blobstore_url=f"file://{tmp_path}/files",
        public_url=f"http://127.0.0.1:{port}",
    )
    with serving(create_app(config, body_floor=FLOOR), port) as server:
        yield Tim(server.origin, f"{tmp_path}/files")


def response_of(connection: socket.socket) -> tuple[int, dict]:
    """Status and JSON body of the answer, read by its Content-Length: a
    client still sending when the server closes may then get a reset."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    while len(body) < int(headers["content-length"]):
        body += connection.recv(65536)
    assert headers.get("connection") == "close", headers
    return int(lines[0].split()[1]), json.loads(body)


JSON_HEAD = "POST /v1/tags HTTP/1.1\r\nHost: tim\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"


def slow_answer(url: str, first_bytes: bytes, trickle: bool) -> tuple[int, dict]:
    """The answer to a request that stalls after `first_bytes`, or trickles."""
    with connect(url, first_bytes) as connection:
        with trickling([connection], 0.1) if trickle else nullcontext():  # 10 bytes/s
            return response_of(connection)


@pytest.mark.parametrize("trickle", [False, True], ids=["stalled", "trickling"])
def test_a_slow_upload_gets_408_and_stores_nothing(tim, trickle):
    with httpx.Client(base_url=tim.api, timeout=10) as client:
        image = created(client, "/images", {"filename": "slow.dcm", "size": 5000})
        status, body = slow_answer(image["upload_url"], put_head(image["upload_url"], 5000) + b"xx", trickle)
        assert (status, body["code"]) == (408, 408) and "nothing was stored" in body["message"], body
        assert json_of(client.get(f"/images/{image['id']}"), 200)["uploaded_timestamp"] is None
        assert list(Path(tim.temporaries).iterdir()) == []
        # The upload URL still works for a client that keeps up.
        stored = json_of(httpx.put(image["upload_url"], content=b"y" * 5000), 200)
        assert stored["uploaded_timestamp"] is not None


@pytest.mark.parametrize("trickle", [False, True], ids=["stalled", "trickling"])
def test_a_slow_json_body_gets_408_and_changes_nothing(tim, trickle):
    status, body = slow_answer(tim.origin, JSON_HEAD.encode() + b'{"name": "', trickle)
    assert (status, body["code"]) == (408, 408), body
    assert json_of(httpx.get(f"{tim.api}/tags"), 200)["meta"]["total_results"] == 0


def test_a_body_above_the_floor_may_take_longer_than_a_window(tim):
    piece, pieces = 400, 10  # 2000 bytes/s for 2 s

    def steady():
        for _ in range(pieces):
            time.sleep(0.2)
            yield b"z" * piece

    with httpx.Client(base_url=tim.api, timeout=10) as client:
        image = created(client, "/images", {"filename": "steady.dcm", "size": piece * pieces})
        started = time.monotonic()
        length = {"Content-Length": str(piece * pieces)}
        stored = json_of(httpx.put(image["upload_url"], content=steady(), headers=length), 200)
        assert time.monotonic() - started > 2 * FLOOR.window_seconds
        assert stored["uploaded_timestamp"] is not None
        tag = json_of(
            httpx.post(f"{tim.api}/tags", content=steady_json(), headers={"Content-Type": "application/json"}), 201
        )
        assert tag["name"] == "steady"


def steady_json():
    body = b'{"name": "steady"' + b" " * 3000 + b"}"  # 2000 bytes/s for 1.6 s
    for start in range(0, len(body), 400):
        time.sleep(0.2)
        yield body[start : start + 400]
