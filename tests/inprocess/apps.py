"""The app that `tim serve` runs, in this process: on real stores (SQLite
and files in a folder), spoken to through Starlette's TestClient."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.testclient import TestClient

from tim.entrypoints.bootstrap import Config
from tim.entrypoints.http.access_log import AccessLogSink

ORIGIN = "http://testserver"
SECRET = "a-test-secret-that-is-long-enough"


def local_config(folder: Path, **settings) -> Config:
    """What `tim serve` uses by default (SQLite and files in one folder),
    with signed URLs that lead back to the test client."""
    defaults = {
        "database_url": f"sqlite:///{folder / 'tim.db'}",
        "blobstore_url": f"file://{folder / 'files'}",
        "public_url": ORIGIN,
        "secret": SECRET,
        "data_dir": str(folder),
    }
    return Config(**(defaults | settings))


def quiet() -> AccessLogSink:
    return AccessLogSink(os.devnull)


def in_process(app, **options) -> TestClient:
    """A client of `app` at /v1; entering it runs the app's lifespan."""
    return TestClient(app, base_url=f"{ORIGIN}/v1", **options)


