"""Writing an object of a known size chunk by chunk, holding one part in
memory at a time.

The object only appears once every byte has arrived and the count is
exactly right: a small file is one PutObject made at commit, a large one a
multipart upload completed at commit (and aborted on any failure, so no
parts linger).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
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


class Parts:
    """Chunks regrouped into parts of `part_size` bytes, the last one
    shorter, checked against the declared `size`."""

    def __init__(self, size: int, part_size: int):
        self._size = size
        self._part_size = part_size
        self._part = bytearray()
        self.received = 0

    def add(self, chunk: bytes) -> Iterator[bytearray]:
        """The parts `chunk` completes, but never the object's last part.
        Raises SizeMismatch as soon as more than `size` bytes arrive."""
        self.received += len(chunk)
        if self.received > self._size:
            raise SizeMismatch(self._size)
        rest = memoryview(chunk)  # slices of a view copy nothing, however large the chunk
        while rest:
            room = self._part_size - len(self._part)
            self._part += rest[:room]
            rest = rest[room:]
            if len(self._part) == self._part_size and (rest or self.received < self._size):
                part, self._part = self._part, bytearray()
                yield part  # the part is freed once sent, before the next fills

    def last(self) -> bytearray:
        """The last part (the whole object when it fits in one). Raises
        SizeMismatch when fewer than `size` bytes arrived."""
        if self.received != self._size:
            raise SizeMismatch(self._size, self.received)
        part, self._part = self._part, bytearray()
        return part


class StreamedPut:
    """A BlobWriter for one object: the exact size or nothing."""

    def __init__(self, client: Any, bucket: str, key: str, size: int, part_size: int = DEFAULT_PART_SIZE):
        self._client = client
        self._bucket = bucket
        self._key = key
        part_size = part_size_for(size, part_size)
        self._single = size <= part_size
        self._parts = Parts(size, part_size)
        self._upload_id: str | None = None
        self._done: list[dict[str, Any]] = []
        # Checksum parts as s3transfer does when botocore computes checksums by
        # default (AWS_REQUEST_CHECKSUM_CALCULATION=when_supported, its default).
        checksums = getattr(client.meta.config, "request_checksum_calculation", None) == "when_supported"
        self._extra = {"ChecksumAlgorithm": CHECKSUM_ALGORITHM} if checksums else {}

    def write(self, chunk: bytes) -> None:
        for part in self._parts.add(chunk):
            self._send(part)
            del part  # sent: let it go before the next part is read

    def commit(self) -> None:
        last = self._parts.last()
        if self._single:
            self._client.put_object(Bucket=self._bucket, Key=self._key, Body=last)
            return
        self._send(last)
        del last
        upload_id, self._upload_id = self._upload_id, None
        self._client.complete_multipart_upload(
            Bucket=self._bucket, Key=self._key, UploadId=upload_id, MultipartUpload={"Parts": self._done}
        )

    def abort(self) -> None:
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is None:
            return
        try:
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=upload_id)
        except (BotoCoreError, ClientError):
            # The original failure matters more; a bucket lifecycle rule for
            # incomplete multipart uploads, or the sweep, removes what is left.
            log.warning("could not abort the multipart upload %s of %s", upload_id, self._key, exc_info=True)

    def _send(self, body: bytearray) -> None:
        if self._upload_id is None:
            response = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key, **self._extra)
            self._upload_id = response["UploadId"]
        # Parts are numbered by hand: nothing keeps an earlier part alive.
        number = len(self._done) + 1
        response = self._client.upload_part(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=body, **self._extra
        )
        part = {"PartNumber": number, "ETag": response["ETag"]}
        if self._extra:
            part[f"Checksum{CHECKSUM_ALGORITHM}"] = response[f"Checksum{CHECKSUM_ALGORITHM}"]
        self._done.append(part)
