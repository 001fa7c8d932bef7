"""Uploads that stall cannot take the threads every other request needs."""

import socket
from urllib.parse import urlsplit

from e2e.http_servers import created, json_of

STALLED = 45  # more than Starlette's whole threadpool (40)


def start_stalled_put(url: str) -> socket.socket:
    """A PUT that sends its headers and a first chunk, then nothing more."""
    parts = urlsplit(url)
    connection = socket.create_connection((parts.hostname, parts.port), timeout=10)
    connection.sendall(
        f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Length: 1000000\r\n\r\n".encode() + b"x" * 1000
    )
    return connection


def test_other_requests_are_answered_while_uploads_stall(client):
    upload_url = created(client, "/images", {"filename": "slow.dcm", "size": 1_000_000})["upload_url"]
    stalled = [start_stalled_put(upload_url) for _ in range(STALLED)]
    try:
        for _ in range(3):
            assert json_of(client.get("/tags", timeout=10), 200)["meta"]["total_results"] == 0
    finally:
        for connection in stalled:
            connection.close()
