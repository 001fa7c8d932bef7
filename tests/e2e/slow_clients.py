"""Raw HTTP/1.1 clients that are slow on purpose: they send the first
bytes of a request, then what and when the test says (or trickle)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit


def connect(url: str, first_bytes: bytes = b"") -> socket.socket:
    """A connection to the host of `url`, `first_bytes` sent on it."""
    parts = urlsplit(url)
    connection = socket.create_connection((parts.hostname, parts.port), timeout=10)
    connection.sendall(first_bytes)
    return connection


def put_head(upload_url: str, length: int) -> bytes:
    parts = urlsplit(upload_url)
    head = f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: {length}\r\n\r\n"
    return head.encode()


@contextmanager
def trickling(connections: list[socket.socket], every: float) -> Iterator[None]:
    """Send one byte on each connection every `every` seconds while inside."""
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(every):
            for connection in connections:
                try:
                    connection.sendall(b"a")
                except OSError:
                    pass  # given up by the server: that is allowed

    dripping = threading.Thread(target=drip, daemon=True)
    dripping.start()
    try:
        yield
    finally:
        stop.set()
        dripping.join()
