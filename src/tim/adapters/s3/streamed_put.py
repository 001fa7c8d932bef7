"""Writing an object of a known size from a stream of chunks, holding one
part in memory at a time.

The object only appears once every byte has arrived and the count is
exactly right: a small file is one PutObject made after the last chunk, a
large one a multipart upload completed after the last part (and aborted on
any failure, so no parts linger).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tim.domain.model.errors import SizeMismatch

log = logging.getLogger(__name__)

MIB = 1024 * 1024
DEFAULT_PART_SIZE = 8 * MIB
MIN_PART_SIZE = 5 * MIB  # S3's floor for every part but the last
MAX_PARTS = 10_000
CHECKSUM_ALGORITHM = "CRC32"


def part_size_for(size: int, preferred: int = DEFAULT_PART_SIZE) -> int:
    """`preferred`, or larger (whole MiB) when the file needs more than S3's 10,000 parts."""
    needed = -(-size // MAX_PARTS)
    return max(preferred, MIN_PART_SIZE, -(-needed // MIB) * MIB)


def exact_parts(chunks: Iterable[bytes], size: int, part_size: int) -> Iterator[bytearray]:
    """`chunks` regrouped into parts of `part_size` bytes (the last one
    shorter). Raises SizeMismatch as soon as more than `size` bytes arrive,
    or at the end when fewer did, before the last part is handed out."""
    part = bytearray()
    received = 0
    for chunk in chunks:
        received += len(chunk)
        if received > size:
            raise SizeMismatch(size)
        rest = memoryview(chunk)  # slices of a view copy nothing, however large the chunk
        while rest:
            room = part_size - len(part)
            part += rest[:room]
            rest = rest[room:]
            if len(part) == part_size and (rest or received < size):
                yield part
                part = bytearray()  # the part just sent is freed here, before the next fills
    if received != size:
        raise SizeMismatch(size, received)
    yield part


def put_streamed(client: Any, bucket: str, key: str, chunks: Iterable[bytes], size: int, part_size: int) -> None:
    """Store exactly `size` bytes from `chunks` at `key`, or nothing."""
    part_size = part_size_for(size, part_size)
    parts = exact_parts(chunks, size, part_size)
    if size <= part_size:
        (body,) = parts
        client.put_object(Bucket=bucket, Key=key, Body=body)
        return
    # Checksum parts as s3transfer does when botocore computes checksums by
    # default (AWS_REQUEST_CHECKSUM_CALCULATION=when_supported, its default).
    checksums = getattr(client.meta.config, "request_checksum_calculation", None) == "when_supported"
    extra = {"ChecksumAlgorithm": CHECKSUM_ALGORITHM} if checksums else {}
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]
    try:
        done: list[dict[str, Any]] = []
        # Parts are numbered by hand: enumerate() would keep the previous
        # part alive while the next one is read.
        for body in parts:
            number = len(done) + 1
            response = client.upload_part(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body, **extra
            )
            del body  # sent: let it go before the next part is read
            part = {"PartNumber": number, "ETag": response["ETag"]}
            if checksums:
                part[f"Checksum{CHECKSUM_ALGORITHM}"] = response[f"Checksum{CHECKSUM_ALGORITHM}"]
            done.append(part)
        client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done})
    except BaseException:
        _abort(client, bucket, key, upload_id)
        raise


def _abort(client: Any, bucket: str, key: str, upload_id: str) -> None:
    try:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except (BotoCoreError, ClientError):
        # The original failure matters more; a bucket lifecycle rule for
        # incomplete multipart uploads removes what is left.
        log.warning("could not abort the multipart upload %s of %s", upload_id, key, exc_info=True)
