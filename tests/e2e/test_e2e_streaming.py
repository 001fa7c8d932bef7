"""Signed PUTs and GETs stream: the server's peak memory hardly moves while
a file many times larger than that passes through it."""

import collections
import hashlib
import os
from pathlib import Path

import httpx
import pytest

from e2e.http_servers import json_of

SIZE = 256 * 1024 * 1024
CHUNK = 1024 * 1024
ALLOWED_GROWTH = 64 * 1024 * 1024


def peak_rss(pid: int) -> int:
    """The process's peak resident set size so far, in bytes (Linux)."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        pytest.skip("needs /proc to read the server's peak memory")
    line = next(line for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def test_a_large_file_streams_both_ways(client, module_server):
    pid = module_server.process.pid
    created = json_of(client.post("/images", json={"filename": "large.raw", "size": SIZE}), 201)
    sent, tail = hashlib.sha256(), collections.deque(maxlen=3)

    def body():
        for _ in range(SIZE // CHUNK):
            chunk = os.urandom(CHUNK)
            sent.update(chunk)
            tail.append(chunk)
            yield chunk

    before = peak_rss(pid)
    stored = httpx.put(created["upload_url"], content=body(), headers={"Content-Length": str(SIZE)}, timeout=300)
    assert json_of(stored, 200)["size"] == SIZE
    assert peak_rss(pid) - before < ALLOWED_GROWTH

    url = json_of(client.get(f"/images/{created['id']}"), 200)["url"]
    received, length = hashlib.sha256(), 0
    with httpx.stream("GET", url, timeout=300) as download:
        assert download.status_code == 200 and download.headers["content-length"] == str(SIZE)
        for chunk in download.iter_bytes():
            received.update(chunk)
            length += len(chunk)
    assert length == SIZE and received.digest() == sent.digest()
    assert peak_rss(pid) - before < ALLOWED_GROWTH

    # A range far into the file: only its bytes, streamed too.
    start = SIZE - 3 * CHUNK + 7
    with httpx.stream("GET", url, headers={"Range": f"bytes={start}-"}, timeout=300) as part:
        assert part.status_code == 206 and part.headers["content-range"] == f"bytes {start}-{SIZE - 1}/{SIZE}"
        assert b"".join(part.iter_bytes()) == b"".join(tail)[7:]
    with httpx.stream("GET", url, headers={"Range": f"bytes={CHUNK}-{SIZE - CHUNK - 1}"}, timeout=300) as part:
        assert part.status_code == 206 and sum(map(len, part.iter_bytes())) == SIZE - 2 * CHUNK
    assert peak_rss(pid) - before < ALLOWED_GROWTH
