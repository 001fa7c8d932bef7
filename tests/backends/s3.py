"""S3 blob stores on moto's server, over HTTP (see s3_server.py)."""

from contextlib import contextmanager

import pytest

from s3_server import threaded_moto
from tim.adapters.s3.blob_store import S3BlobStore

# Settings of the developer's own that would steer boto3 away from moto.
FOREIGN_AWS_SETTINGS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_SESSION_TOKEN")


@pytest.fixture(scope="session")
def s3_server():
    """One moto server for the session; the process environment points
    boto3 at it (so S3BlobStore.from_url without a client reaches it too)."""
    from conftest import unavailable

    try:
        import moto.server  # noqa: F401
    except ImportError:
        unavailable("moto[server] is not installed")
    with pytest.MonkeyPatch.context() as env, threaded_moto() as server:
        for name in FOREIGN_AWS_SETTINGS:
            env.delenv(name, raising=False)
        for name, value in server.environment().items():
            env.setenv(name, value)
        yield server


@pytest.fixture(scope="session")
def s3_blob_stores(s3_server):
    client = s3_server.client()

    @contextmanager
    def fresh():
        bucket = s3_server.new_bucket(client)
        yield S3BlobStore.from_url(f"s3://{bucket}/some/prefix", client=client)

    return fresh
