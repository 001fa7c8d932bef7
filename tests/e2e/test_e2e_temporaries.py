"""Half-written files of uploads a crash interrupted: `tim reconcile`
removes them, and so does a running server by itself, without a restart;
a file still being written is never removed, however old it looks."""

import json
import os
import time
from pathlib import Path

import httpx

from e2e.http_servers import created, eventually, free_port, json_of, run_tim, serving
from e2e.slow_clients import connect, put_head
from tim.entrypoints.bootstrap import Config
from tim.entrypoints.http.app import create_app

HOURS_AGO = 2 * 3600  # older than the default grace period (an hour)


def age(path: Path, seconds: int) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_reconcile_removes_what_a_killed_server_was_writing(serve, tmp_path):
    data = tmp_path / "data"
    server = serve(data)
    with server.client() as client:
        image = created(client, "/images", {"filename": "big.dcm", "size": 10_000_000})
    temporaries = data / "files" / "tmp"
    with connect(image["upload_url"], put_head(image["upload_url"], 10_000_000) + b"x" * 1_000_000):
        [half_written] = eventually(
            lambda: [p for p in temporaries.iterdir() if p.stat().st_size > 0], bool, seconds=10, what="a written temporary"
        )
        server.process.kill()  # SIGKILL: no clean-up of any kind
        server.process.wait()
    age(half_written, HOURS_AGO)

    result = run_tim("reconcile", "--data-dir", str(data), env={}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["temporaries"] == 1
    assert list(temporaries.iterdir()) == []


def test_a_running_server_sweeps_temporaries_by_itself(tmp_path):
    port = free_port()
    files = tmp_path / "files"
    config = Config(database_url="memory:", blobstore_url=f"file://{files}", public_url=f"http://127.0.0.1:{port}")
    with serving(create_app(config, sweep_interval_seconds=0.2), port) as server:
        temporaries = files / "tmp"
        leftover = temporaries / "0123456789abcdef0123456789abcdef.dead.part"  # as a killed server leaves it
        leftover.write_bytes(b"half")
        age(leftover, HOURS_AGO)
        with httpx.Client(base_url=f"{server.origin}/v1") as client:
            image = created(client, "/images", {"filename": "a.dcm", "size": 1000})
        # Stalled, but within the floor's window: a live upload.
        with connect(image["upload_url"], put_head(image["upload_url"], 1000) + b"x" * 10):
            [writing] = eventually(
                lambda: [p for p in temporaries.iterdir() if p != leftover], bool, seconds=10, what="the upload's file"
            )
            age(writing, HOURS_AGO)
            eventually(lambda: leftover.exists(), lambda exists: not exists, seconds=10, what="the sweep")
            time.sleep(0.5)  # a few more sweeps
            assert list(temporaries.iterdir()) == [writing]
        eventually(lambda: list(temporaries.iterdir()), lambda left: left == [], seconds=10, what="the abandoned upload's clean-up")
        assert json_of(httpx.get(f"{server.origin}/v1/images/{image['id']}"), 200)["uploaded_timestamp"] is None
