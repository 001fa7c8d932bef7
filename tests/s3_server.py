"""moto's S3 server for tests, spoken to over real HTTP by boto3 and by
plain HTTP clients (moto does not check presigned signatures or expiry, so
tests assert on the generated URLs as well).

`threaded_moto()` runs ThreadedMotoServer inside the test process on a free
127.0.0.1 port; `moto_process()` runs it in a child process, for tests that
measure this process's memory (moto keeps objects in memory). Both yield a
MotoS3: its endpoint, the environment a client or a `tim serve` child needs,
a client, and fresh buckets.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from attrs import frozen

from tim.adapters.s3.client import CLIENT_CONFIG

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"


@frozen
class MotoS3:
    endpoint: str

    def environment(self) -> dict[str, str]:
        """What a process needs to reach this server the boto3 way, and
        nothing from the developer's own AWS configuration."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def client(self) -> Any:
        """A client with tim's own client settings, against this server."""
        session = boto3.session.Session(
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
        )
        return session.client("s3", endpoint_url=self.endpoint, config=CLIENT_CONFIG)

    def new_bucket(self, client: Any = None) -> str:
        name = f"tim-test-{uuid.uuid4().hex[:20]}"
        (client or self.client()).create_bucket(Bucket=name)
        return name


@contextmanager
def threaded_moto() -> Iterator[MotoS3]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield MotoS3(f"http://{host}:{port}")
    finally:
        server.stop()


@contextmanager
def moto_process(startup_seconds: float = 30) -> Iterator[MotoS3]:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, child, startup_seconds)
        yield MotoS3(f"http://127.0.0.1:{port}")
    finally:
        child.terminate()
        child.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, child: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the moto server exited with status {child.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the moto server did not listen on port {port} within {seconds} s")
