"""Image files in an S3 bucket, or in any S3-compatible store."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, closing
from typing import Any
from urllib.parse import urlsplit

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tim.adapters.blob_writes import write_and_commit
from tim.adapters.clock import SystemClock
from tim.adapters.s3.client import new_client
from tim.domain.model.downloads import attachment
from tim.domain.model.downloads import media_type as guessed_media_type
from tim.adapters.s3.errors import http_status, translated
from tim.adapters.s3.streamed_put import DEFAULT_PART_SIZE, MIB, StreamedPut
from tim.domain.model.errors import NotFound, StorageUnavailable
from tim.domain.model.images import is_object_key
from tim.ports.blob_store import BlobWriter, StoredObject, UploadState
from tim.ports.clock import Clock

IMAGES = "images"
UPLOADS = "uploads"
DOWNLOAD_CHUNK = MIB
MAX_URL_SECONDS = 7 * 24 * 3600  # the longest a SigV4 presigned URL may live
# Confirmed uploads move by server-side copy; above the threshold in parts,
# because one CopyObject stops at 5 GB.
COPY_CONFIG = TransferConfig(multipart_threshold=64 * MIB, multipart_chunksize=64 * MIB, max_concurrency=4)
CONFIRM_ATTEMPTS = 3
BUCKET_NAME = re.compile(r"[a-zA-Z0-9._-]{1,255}")  # what botocore accepts (S3 itself is stricter)


class S3BlobStore:
    """Files in one bucket, under an optional prefix, at keys tim chooses.

    Clients PUT straight to S3 through presigned URLs, at
    `<prefix>/uploads/<key>`. Only `<prefix>/images/<key>` is ever read:
    `confirm_upload` moves a verified upload there (server-side copy, then
    delete), so a replayed PUT to a still-valid upload URL changes nothing
    anyone sees. One-shot uploads (`put`) go straight to images/.
    """

    completes_on_put = False

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str = "",
        *,
        clock: Clock | None = None,
        part_size: int = DEFAULT_PART_SIZE,
        copy_config: TransferConfig = COPY_CONFIG,
    ):
        self._client = client
        self._bucket = bucket
        self._prefix = prefix.strip("/")
        # URLs expire at absolute times, but S3 wants a duration from the
        # moment of signing, which botocore takes from the system clock.
        self._clock = clock or SystemClock()
        self._part_size = part_size
        self._copy_config = copy_config
        self._bucket_seen = False

    @classmethod
    def from_url(cls, url: str, client: Any = None) -> S3BlobStore:
        """A store for `s3://BUCKET` or `s3://BUCKET/PREFIX`. Without `client`,
        one is built (once) from the standard AWS configuration, including
        AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL for S3-compatible servers."""
        parts = urlsplit(url)
        if parts.scheme.lower() != "s3" or not BUCKET_NAME.fullmatch(parts.netloc) or parts.query or parts.fragment:
            raise ValueError(f"an S3 blob store URL looks like s3://BUCKET or s3://BUCKET/PREFIX, not {url!r}")
        return cls(client if client is not None else new_client(), parts.netloc, parts.path)

    def put(self, key: str, chunks: Iterable[bytes], size: int) -> None:
        write_and_commit(self.open_writer(key, size), chunks)

    def open_writer(self, key: str, size: int) -> BlobWriter:
        image = self._object_key(IMAGES, key)
        writer = StreamedPut(self._client, self._bucket, image, size, self._part_size)
        return _Translated(writer, lambda: self._errors(image))

    def get(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        image = self._object_key(IMAGES, key)
        # HTTP's Range counts its last byte in: `end` is one past it.
        wanted = {} if start == 0 and end is None else {"Range": f"bytes={start}-{'' if end is None else end - 1}"}
        with self._errors(image):
            body = self._client.get_object(Bucket=self._bucket, Key=image, **wanted)["Body"]
        return self._chunks(body, image)

    def _chunks(self, body: Any, name: str) -> Iterator[bytes]:
        with closing(body), self._errors(name):
            yield from body.iter_chunks(DOWNLOAD_CHUNK)

    def stat(self, key: str) -> int | None:
        return self._size(self._object_key(IMAGES, key))

    def delete(self, key: str) -> None:
        for folder in (IMAGES, UPLOADS):
            self._delete(self._object_key(folder, key))
        derived = self._object_key(IMAGES, key) + "-"  # objects derived from the file sit beside it
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=derived)
        with self._errors(derived + "*"):
            names = [item["Key"] for page in pages for item in page.get("Contents", ())]
        for name in names:
            if is_object_key(name.rpartition("/")[2]):
                self._delete(name)

    def discard_upload(self, key: str) -> None:
        self._delete(self._object_key(UPLOADS, key))

    def objects(self) -> Iterator[StoredObject]:
        for folder in (IMAGES, UPLOADS):
            start = self._folder(folder)
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=start)
            with self._errors(start + "*"):
                for page in pages:
                    for item in page.get("Contents", ()):
                        key = item["Key"][len(start) :]
                        if not is_object_key(key):
                            continue  # not an object tim made ("folder" markers, others' files)
                        yield StoredObject(
                            key=key,
                            size=item["Size"],
                            modified_timestamp=int(item["LastModified"].timestamp()),
                            at_upload_url=folder == UPLOADS,
                        )

    def remove_stale_temporaries(self, older_than: int) -> int:
        """Abort the multipart uploads of puts that never finished (a
        process killed mid-way): S3 keeps their parts, and bills them,
        forever. An upload is judged by its last part, as S3 cannot tell
        whether its writer still lives."""
        aborted = 0
        start = self._prefix + "/" if self._prefix else ""
        pages = self._client.get_paginator("list_multipart_uploads").paginate(Bucket=self._bucket, Prefix=start)
        with self._errors(start + "*"):
            for page in pages:
                for upload in page.get("Uploads", ()):
                    if self._is_tims(upload["Key"]) and self._last_written(upload) < older_than:
                        self._client.abort_multipart_upload(
                            Bucket=self._bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                        aborted += 1
        return aborted

    def _is_tims(self, name: str) -> bool:
        """Whether tim made `name`: others' uploads under the prefix are left alone."""
        folder = next((self._folder(f) for f in (IMAGES, UPLOADS) if name.startswith(self._folder(f))), None)
        return folder is not None and is_object_key(name[len(folder) :])

    def _last_written(self, upload: dict[str, Any]) -> float:
        pages = self._client.get_paginator("list_parts").paginate(
            Bucket=self._bucket, Key=upload["Key"], UploadId=upload["UploadId"]
        )
        times = [upload["Initiated"]] + [part["LastModified"] for page in pages for part in page.get("Parts", ())]
        return max(times).timestamp()

    def confirm_upload(self, key: str, size: int) -> UploadState:
        upload = self._object_key(UPLOADS, key)
        # Each round looks afresh, so a concurrent confirmation (another
        # worker, the sweep) or a PUT landing mid-way is seen, not overwritten.
        for _ in range(CONFIRM_ATTEMPTS):
            if self.stat(key) == size:
                return UploadState.STORED
            found = self._head(upload)
            if found is None:
                # Moved to images/ by a concurrent confirmation a moment ago?
                return UploadState.STORED if self.stat(key) == size else UploadState.MISSING
            if found["ContentLength"] != size:
                self._delete(upload)
                return UploadState.WRONG_SIZE
            if self._move_upload(key, found["ETag"]):
                return UploadState.STORED
        raise StorageUnavailable(f"the upload of {upload} kept changing while it was being confirmed; try again")

    def _move_upload(self, key: str, etag: str) -> bool:
        """Copy exactly the upload that was checked (same ETag) to its
        permanent key, then remove it. False when it changed or went away."""
        upload, image = self._object_key(UPLOADS, key), self._object_key(IMAGES, key)
        try:
            with self._errors(upload):
                self._client.copy(
                    CopySource={"Bucket": self._bucket, "Key": upload},
                    Bucket=self._bucket,
                    Key=image,
                    ExtraArgs={"CopySourceIfMatch": etag},
                    Config=self._copy_config,
                )
        except NotFound:
            return False
        except ClientError as error:
            if http_status(error) != 412:  # Precondition Failed: replaced since the check
                raise
            return False
        self._delete(upload)
        return True

    def upload_url(self, key: str, size: int, expires_at: int, sha256: str | None = None) -> str:
        # ContentLength becomes a signed header: S3 refuses a body of any other
        # length; so does a declared checksum: S3 refuses other bytes.
        checksum = {} if sha256 is None else {"ChecksumSHA256": _base64(sha256)}
        return self._presign("put_object", self._object_key(UPLOADS, key), expires_at, ContentLength=size, **checksum)

    def upload_headers(self, sha256: str | None) -> dict[str, str]:
        return {} if sha256 is None else {"x-amz-checksum-sha256": _base64(sha256)}

    def stored_sha256(self, key: str) -> str | None:
        """The SHA-256 S3 checked when the file was PUT with one: kept by S3
        and carried over by the copy from uploads/ (a whole-object checksum
        only; a multipart upload's composite one says nothing of the bytes)."""
        name = self._object_key(IMAGES, key)
        try:
            with self._errors(name):
                found = self._client.head_object(Bucket=self._bucket, Key=name, ChecksumMode="ENABLED")
        except NotFound:
            return None
        checksum = found.get("ChecksumSHA256")
        if not checksum or found.get("ChecksumType", "FULL_OBJECT") != "FULL_OBJECT" or "-" in checksum:
            return None
        return base64.b64decode(checksum).hex()

    def download_url(self, key: str, filename: str, expires_at: int, media_type: str | None = None) -> str:
        image = self._object_key(IMAGES, key)
        return self._presign(
            "get_object",
            image,
            expires_at,
            ResponseContentDisposition=attachment(filename),
            ResponseContentType=media_type or guessed_media_type(filename),
        )

    def check_signed_request(self, method: str, key: str, params: Mapping[str, str], now: int) -> int | None:
        raise NotFound("files of this store are served by S3 itself, at the URLs it signs")

    def _presign(self, method: str, name: str, expires_at: int, **params: object) -> str:
        seconds = min(MAX_URL_SECONDS, max(1, expires_at - self._clock.now()))
        with self._errors(name):
            return self._client.generate_presigned_url(
                method, Params={"Bucket": self._bucket, "Key": name, **params}, ExpiresIn=seconds
            )

    def _head(self, name: str) -> dict[str, Any] | None:
        try:
            with self._errors(name):
                return self._client.head_object(Bucket=self._bucket, Key=name)
        except NotFound:
            self._check_bucket()
            return None

    def _check_bucket(self) -> None:
        """A HEAD answer has no body, so a missing bucket looks just like a
        missing object: make sure of the bucket, once per store."""
        if self._bucket_seen:
            return
        try:
            with self._errors(self._bucket):
                self._client.head_bucket(Bucket=self._bucket)
        except NotFound as error:
            raise StorageUnavailable(
                f"the S3 bucket {self._bucket!r} does not exist at {self._endpoint}: check the blob store URL"
            ) from error
        self._bucket_seen = True

    def _size(self, name: str) -> int | None:
        found = self._head(name)
        return None if found is None else found["ContentLength"]

    def _delete(self, name: str) -> None:
        with self._errors(name):
            self._client.delete_object(Bucket=self._bucket, Key=name)

    def _folder(self, folder: str) -> str:
        return f"{self._prefix}/{folder}/" if self._prefix else f"{folder}/"

    def _object_key(self, folder: str, key: str) -> str:
        # Keys come from tim (see new_blob_key); refusing others keeps every
        # object under the prefix.
        if not is_object_key(key):
            raise ValueError(f"not a blob key: {key!r}")
        return self._folder(folder) + key

    @property
    def _endpoint(self) -> str:
        return self._client.meta.endpoint_url

    def _errors(self, name: str) -> AbstractContextManager[None]:
        return translated(self._bucket, self._endpoint, name)


class _Translated:
    """A writer whose S3 errors come out in the domain's words."""

    def __init__(self, writer: BlobWriter, errors: Callable[[], AbstractContextManager[None]]):
        self._writer = writer
        self._errors = errors

    def write(self, chunk: bytes) -> None:
        with self._errors():
            self._writer.write(chunk)

    def commit(self) -> None:
        with self._errors():
            self._writer.commit()

    def abort(self) -> None:
        self._writer.abort()


def _base64(sha256: str) -> str:
    """A hex digest as S3 spells checksums."""
    return base64.b64encode(bytes.fromhex(sha256)).decode()
