"""The one boto3 S3 client a process uses (clients are thread-safe; building
one per request would redo credential and endpoint resolution each time)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# Explicit settings only for what must be bounded; everything else (region,
# credentials, endpoint, addressing style, checksum behaviour) stays with the
# standard AWS environment variables and config files.
CLIENT_CONFIG = Config(
    signature_version="s3v4",  # presigned URLs must be SigV4 to sign Content-Length
    connect_timeout=3,
    read_timeout=30,
    # "standard" retries throttling, 5xx and connection errors with jittered
    # backoff; three attempts keep an unreachable endpoint to seconds.
    retries={"mode": "standard", "max_attempts": 3},
    # Starlette runs sync endpoints on up to 40 threads; one connection each.
    max_pool_connections=40,
)


def new_client() -> Any:
    """An S3 client configured the boto3 way: AWS_ACCESS_KEY_ID / profiles /
    instance roles for credentials, AWS_REGION or AWS_DEFAULT_REGION, and
    AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (or `endpoint_url` in the config
    file) for an S3-compatible server."""
    return boto3.session.Session().client("s3", config=CLIENT_CONFIG)
