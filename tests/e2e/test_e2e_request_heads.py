"""Request heads (request line and headers) have a deadline and a size
limit, whichever HTTP parser uvicorn runs: a head that stalls, trickles or
grows too large is answered with a JSON error and its connection closed,
while requests whose heads arrived (slow bodies included) are untouched.
Here a head gets 1 s and 4 KiB."""

import json
import socket
import time

import httpx
import pytest

from e2e.http_servers import serving
from e2e.slow_clients import connect, trickling
from tim.entrypoints import serving as tim_serving
from tim.entrypoints.bootstrap import Config
from tim.entrypoints.http.app import create_app

PROTOCOLS = [tim_serving.GuardedH11]
if hasattr(tim_serving, "GuardedHttpTools"):
    PROTOCOLS.append(tim_serving.GuardedHttpTools)


@pytest.fixture(params=PROTOCOLS, ids=lambda protocol: protocol.__name__)
def origin(request):
    protocol = type("Quick" + request.param.__name__, (request.param,), {"head_timeout": 1.0, "max_head_bytes": 4096})
    with serving(create_app(Config()), http=protocol, h11_max_incomplete_event_size=4096) as server:
        yield server.origin


def answer(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass  # closed with bytes of ours unread: what it sent before still counts
    return received


def json_error(received: bytes, status: int) -> dict:
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), received
    assert b"content-type: application/json" in head.lower(), head
    error = json.loads(body)
    assert error["code"] == status and error["message"], error
    return error


def test_a_stalled_head_gets_408_and_is_closed(origin):
    with connect(origin, b"GET /v1/tags HTTP/1.1\r\nHost: tim\r\n") as connection:
        started = time.monotonic()
        json_error(answer(connection), 408)
        assert time.monotonic() - started < 5


def test_a_trickling_head_gets_408_and_is_closed(origin):
    with connect(origin, b"GET /v1/tags HTTP/1.1\r\nX-Slow: ") as connection:
        with trickling([connection], 0.1):
            received = answer(connection)
    assert received == b"" or json_error(received, 408)  # a reset may beat the answer to a client still sending


def test_a_head_too_large_is_refused_without_waiting_for_its_end(origin):
    with connect(origin, b"GET /v1/tags HTTP/1.1\r\nHost: tim\r\n") as connection:
        try:
            for _ in range(100):
                connection.sendall(b"X-Big: " + b"b" * 1000 + b"\r\n")
        except OSError:
            pass  # refused, and closed while we were still sending
        received = answer(connection)
    assert received == b"" or received.split(b" ")[1] in (b"400", b"431"), received


def test_an_idle_connection_is_closed_without_an_answer(origin):
    with connect(origin) as connection:
        assert answer(connection) == b""


def test_kept_alive_connections_and_slow_bodies_are_not_cut(origin):
    with httpx.Client(base_url=f"{origin}/v1", timeout=10) as client:
        assert client.get("/tags").status_code == 200
        time.sleep(0.5)
        assert client.get("/tags").status_code == 200  # the same connection, within keep-alive

        def slow_body():
            for piece in (b'{"name": ', b'"slow"}'):
                time.sleep(0.8)  # 1.6 s in all, past the head's deadline
                yield piece

        created = client.post("/tags", content=slow_body(), headers={"Content-Type": "application/json"})
        assert created.status_code == 201, created.text
