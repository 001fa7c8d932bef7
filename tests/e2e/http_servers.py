"""Real `tim serve` processes on free ports, spoken to over real HTTP, and
helpers for checking their answers.

The stores are the defaults: SQLite and files in the data directory.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

TIM = Path(sys.executable).with_name("tim")
STARTUP_DEADLINE_SECONDS = 60


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

    def __init__(self, app, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="critical", lifespan="on")
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
def serving(app, port: int | None = None) -> Iterator[InProcessServer]:
    server = InProcessServer(app, port)
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
