"""botocore's errors in the domain's words.

A missing object is the caller's business (NotFound, or None where the port
says so); everything that means "S3 cannot serve us right now", including a
configuration that can never work (no bucket, no credentials), becomes
StorageUnavailable with a message an operator can act on. Other client
errors are bugs in tim and propagate unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from tim.domain.model.errors import NotFound, StorageUnavailable

NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
REFUSED_CODES = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "AllAccessDisabled"}
)
BUSY_CODES = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "RequestTimeTooSkewed"})


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def http_status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


@contextmanager
def translated(bucket: str, endpoint: str, what: str) -> Iterator[None]:
    """Run an S3 call on `what` (an object key, for messages) with its errors translated."""
    try:
        yield
    except ClientError as error:
        code, status = error_code(error), http_status(error)
        if code == "NoSuchBucket":
            raise StorageUnavailable(
                f"the S3 bucket {bucket!r} does not exist at {endpoint}: check the blob store URL"
            ) from error
        if code in NOT_FOUND_CODES or status == 404:
            raise NotFound(f"object {what} does not exist") from error
        if code in REFUSED_CODES or status == 403:
            raise StorageUnavailable(
                f"S3 at {endpoint} refused access to bucket {bucket!r} ({code or status}): check the credentials"
            ) from error
        if code in BUSY_CODES or status >= 500:
            raise StorageUnavailable(f"S3 at {endpoint} cannot serve requests right now ({code or status})") from error
        raise
    except (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError) as error:
        raise StorageUnavailable(f"no usable AWS credentials for S3 bucket {bucket!r}: {error}") from error
    except (ConnectionError, HTTPClientError) as error:
        # Refused or timed-out connections, resets and broken response streams.
        raise StorageUnavailable(f"cannot reach S3 at {endpoint}: {error}") from error
