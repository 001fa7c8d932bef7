"""Slow clients cost their own requests, never anyone else's: with a
hundred uploads, JSON bodies or request heads stalled or trickling, a
normal upload and a normal list are answered at once."""

import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import httpx
import pytest

from e2e.http_servers import created, json_of
from e2e.slow_clients import connect, put_head, trickling

CROWD = 100  # far more than every thread tim has for uploads (16) and for the rest (40)
PROMPT_SECONDS = 1
TRICKLE_SECONDS = 0.5


def json_head(length: int) -> bytes:
    return (
        f"POST /v1/tags HTTP/1.1\r\nHost: tim\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


# What each slow client sends at once; the trickling ones then send a byte
# every TRICKLE_SECONDS, and the stalled ones nothing more.
SLOW_CLIENTS = {
    "stalled upload": (lambda url: put_head(url, 1_000_000) + b"xx", False),
    "trickling upload": (lambda url: put_head(url, 1_000_000) + b"x", True),
    "stalled JSON body": (lambda url: json_head(100) + b'{"na', False),
    "trickling JSON body": (lambda url: json_head(100_000) + b'{"name": "', True),
    "stalled request head": (lambda url: b"GET /v1/tags HTTP/1.1\r\nHost: tim\r\n", False),
    "trickling request head": (lambda url: b"GET /v1/tags HTTP/1.1\r\nX-Slow: ", True),
}


@contextmanager
def slow_clients(origin: str, first_bytes: bytes, trickle: bool) -> Iterator[None]:
    connections = [connect(origin, first_bytes) for _ in range(CROWD)]
    try:
        with trickling(connections, TRICKLE_SECONDS) if trickle else nullcontext():
            yield
    finally:
        for connection in connections:
            connection.close()


def promptly(call):
    started = time.monotonic()
    result = call()
    assert time.monotonic() - started < PROMPT_SECONDS
    return result


@pytest.mark.parametrize("first_bytes, trickle", SLOW_CLIENTS.values(), ids=SLOW_CLIENTS.keys())
def test_a_crowd_of_slow_clients_delays_no_one_else(module_server, first_bytes, trickle):
    with httpx.Client(base_url=module_server.api, timeout=PROMPT_SECONDS) as client:
        slow_url = created(client, "/images", {"filename": "slow.dcm", "size": 1_000_000})["upload_url"]
        with slow_clients(module_server.origin, first_bytes(slow_url), trickle):
            time.sleep(TRICKLE_SECONDS * 2)  # the crowd is in, the tricklers going
            image = promptly(lambda: created(client, "/images", {"filename": "normal.dcm", "size": 3}))
            stored = promptly(lambda: json_of(httpx.put(image["upload_url"], content=b"abc", timeout=PROMPT_SECONDS), 200))
            assert stored["uploaded_timestamp"] is not None
            listed = promptly(lambda: json_of(client.get("/images", params={"limit": 100}), 200))
            assert image["id"] in [found["id"] for found in listed["results"]]
