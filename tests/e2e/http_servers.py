"""Real `tim serve` processes on free ports, spoken to over real HTTP, and
helpers for checking their answers.

The stores are the defaults (SQLite and files in the data directory),
unless a test passes others in the environment: `SharedStores` gives the
environment of a PostgreSQL database and an S3 bucket on moto.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit

import httpx
import pytest

from s3_server import MotoS3

TIM = Path(sys.executable).with_name("tim")
STARTUP_DEADLINE_SECONDS = 60
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any TIM_* setting, plus `extra`."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TIM_")} | dict(extra or {})


class Server:
    """A running `tim serve` process."""

    def __init__(self, data_dir: Path, port: int, env: Mapping[str, str], args: tuple[str, ...]):
        self.data_dir = data_dir
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self.api = f"{self.origin}/v1"
        self.log_path = data_dir.parent / f"{data_dir.name}-server-{port}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [str(TIM), "serve", "--port", str(port), "--data-dir", str(data_dir), *args]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=clean_environment(env))
        self._wait_until_ready()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api, timeout=60)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"tim serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.api}/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        pytest.fail(f"tim serve did not answer within {STARTUP_DEADLINE_SECONDS} s:\n{self.log()}")


class Servers:
    """Starts servers and stops them all at the end."""

    def __init__(self) -> None:
        self.started: list[Server] = []

    def __call__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> Server:
        server = Server(data_dir, port or free_port(), env or {}, args)
        self.started.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


class InProcessServer:
    """uvicorn serving an ASGI app from a thread of this process, for tests
    that build the app themselves (mounted, or on purpose-made parts)."""

    def __init__(self, app, port: int | None = None, **options) -> None:
        import uvicorn

        self.port = port or free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="critical", lifespan="on", **options)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the in-process server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the in-process server did not stop"


@contextmanager
def serving(app, port: int | None = None, **options) -> Iterator[InProcessServer]:
    """An in-process server of `app`; `options` go to uvicorn.Config."""
    server = InProcessServer(app, port, **options)
    try:
        yield server
    finally:
        server.stop()


def json_of(response: httpx.Response, status: int):
    """The JSON body of a response that must have `status`."""
    assert response.status_code == status, f"{response.status_code} {response.text}"
    return response.json()


def created(client: httpx.Client, path: str, body: dict) -> dict:
    """POST a JSON body that must create something (201); its JSON answer."""
    return json_of(client.post(path, json=body), 201)


def assert_error(response: httpx.Response, status: int, field: str | None = None) -> dict:
    """A JSON error of the documented shape; with `field`, naming that field."""
    assert response.status_code == status, f"{response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert body["code"] == status and isinstance(body["message"], str) and body["message"], body
    if field is not None:
        assert field in [detail["field"] for detail in body["details"]], body
    return body


def next_second(after: int) -> None:
    """Wait until the clock shows a later whole second than `after`, so that
    records made next have a later created_timestamp."""
    while int(time.time()) <= after:
        time.sleep(0.05)


def seconds_during(call: Callable[[], T]) -> tuple[T, range]:
    """`call()`'s result and the whole seconds the wall clock showed while it
    ran: what a server on this machine read from its clock meanwhile lies in
    that range, however long the call took under load."""
    start = int(time.time())
    result = call()
    return result, range(start, int(time.time()) + 1)


def eventually(read: Callable[[], T], done: Callable[[T], bool], *, seconds: float = 30, what: str = "") -> T:
    """Call `read` until `done` holds for its value (which is returned), for
    things that settle by themselves; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"{what or 'the condition'} did not hold within {seconds} s: {value!r}"
        time.sleep(0.2)


def run_tim(*args: str, env: Mapping[str, str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """`tim ARGS...` as a child process with `env` (and no other TIM_* setting)."""
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [str(TIM), *args], env=clean_environment(env), cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


class SharedStores:
    """One PostgreSQL database and one S3 bucket (on moto), shared by every
    tim process of a test, as in a scaled-out deployment."""

    def __init__(self, database_url: str, s3: MotoS3, prefix: str = "tim/records") -> None:
        self.database_url = database_url
        self.s3 = s3.client()  # boto3, for looking behind tim's back
        self.bucket = s3.new_bucket(self.s3)
        self.prefix = prefix
        self.endpoint = s3.endpoint
        self._s3_environment = s3.environment()

    def environment(self, **extra: str) -> dict[str, str]:
        """What a `tim serve` or `tim reconcile` process needs to use these stores."""
        return self._s3_environment | {
            "TIM_DATABASE_URL": self.database_url,
            "TIM_BLOBSTORE_URL": f"s3://{self.bucket}/{self.prefix}",
            **extra,
        }

    def keys(self, under: str = "") -> list[str]:
        """The keys of the bucket's objects under `under` (relative to the bucket)."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=under)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", ()))

    def uploads(self) -> list[str]:
        return self.keys(f"{self.prefix}/uploads/")

    def images(self) -> list[str]:
        return self.keys(f"{self.prefix}/images/")

    def object_key(self, presigned_url: str) -> str:
        """The object key a presigned (path-style) URL of this bucket names."""
        path = unquote(urlsplit(presigned_url).path)
        assert path.startswith(f"/{self.bucket}/"), presigned_url
        return path[len(self.bucket) + 2 :]

    def read(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
