"""Where image files are kept.

Keys are made by tim (see `new_blob_key`), never taken from user input. An
image's file may have derived objects (previews) beside it, under
`derived_key(blob_key, name)`: they are stored and read like files, listed
by `objects`, and removed with the file they derive from.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from enum import Enum
from typing import Protocol

from attrs import frozen


class UploadState(Enum):
    STORED = "stored"
    MISSING = "missing"
    WRONG_SIZE = "wrong_size"
    # Never from a store: tim's verdict on stored bytes whose SHA-256 is not
    # the one declared (they are removed, as a wrong size is).
    WRONG_CONTENT = "wrong_content"


@frozen
class StoredObject:
    key: str
    size: int
    modified_timestamp: int
    # True for what sits at an upload URL, not yet confirmed as the image's
    # file (only stores that clients upload to directly have such objects).
    at_upload_url: bool = False


class BlobWriter(Protocol):
    """An object being stored, its bytes pushed in as they arrive: `put`
    for callers that must not hold a thread while waiting for the bytes."""

    def write(self, chunk: bytes) -> None:
        """Append `chunk`. Raises SizeMismatch as soon as the chunks run over the size."""

    def commit(self) -> None:
        """Store the object, as `put` would once its chunks ran out: raises
        SizeMismatch when fewer bytes came, ObjectExists as `put` does."""

    def abort(self) -> None:
        """Drop what was written, after a failure or instead of commit.
        Idempotent; nothing is stored then."""


class BlobStore(Protocol):
    def put(self, key: str, chunks: Iterable[bytes], size: int) -> None:
        """Store exactly `size` bytes read from `chunks`, never holding the
        whole file in memory. Raises SizeMismatch (and stores nothing) when
        the chunks add up to another length; readers never see a partial file.
        Stores that receive signed PUTs through tim never replace an object:
        they raise ObjectExists, so of two racing uploads only one is kept."""

    def open_writer(self, key: str, size: int) -> BlobWriter:
        """`put`, with the chunks written one call at a time, then committed
        (or aborted: a caller that stops must abort)."""

    def get(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The stored bytes from `start` up to, not including, `end` (None:
        the end of the file), in chunks; only those bytes are read. Callers
        ask for bytes the file has: 0 <= start < end <= size. Raises NotFound."""

    def stat(self, key: str) -> int | None:
        """The size of the (permanent) file, or None when there is none."""

    def delete(self, key: str) -> None:
        """Remove the object and every object derived from it; no error if
        they are gone already."""

    def objects(self) -> Iterator[StoredObject]:
        """Every stored object (uploaded or still at its upload URL), for
        sweeps that look for unreferenced ones. Fetched in batches."""

    def remove_stale_temporaries(self, older_than: int) -> int:
        """Remove what interrupted writes left behind (half-written files,
        incomplete multipart uploads) last written to before `older_than`
        (a Unix time), never one still being written; return how many."""

    def discard_upload(self, key: str) -> None:
        """Remove what sits at the upload URL of `key` (a replayed PUT after
        confirmation), leaving the confirmed file alone."""

    def confirm_upload(self, key: str, size: int) -> UploadState:
        """For stores that clients upload to directly: look at what arrived
        at the upload URL. Exactly `size` bytes: make it the permanent file
        (so a replayed PUT to the upload URL changes nothing anyone reads)
        and return STORED. Nothing there: MISSING. Another size: remove it
        and return WRONG_SIZE. Idempotent: STORED again once done."""

    def upload_url(self, key: str, size: int, expires_at: int, sha256: str | None = None) -> str:
        """An absolute URL that accepts one PUT of exactly `size` bytes until
        `expires_at`; with `sha256`, stores whose clients upload directly
        refuse other bytes (a signed checksum). Stores that receive the PUT
        through tim leave the check to tim."""

    def upload_headers(self, sha256: str | None) -> dict[str, str]:
        """Headers the PUT to an upload URL made with `sha256` must carry."""

    def stored_sha256(self, key: str) -> str | None:
        """The SHA-256 of the file as the store itself verified it on upload
        (a checksum the client sent and the store checked), or None when the
        store keeps none: then only reading the bytes tells."""

    def download_url(self, key: str, filename: str, expires_at: int, media_type: str | None = None) -> str:
        """An absolute URL that serves the file (as `filename`, of
        `media_type` when known) until `expires_at`."""

    @property
    def completes_on_put(self) -> bool:
        """True when tim itself receives signed PUTs (and so knows at once
        that an upload completed); False when clients upload elsewhere."""

    def check_signed_request(self, method: str, key: str, params: Mapping[str, str], now: int) -> int | None:
        """For stores whose signed URLs tim serves itself: raise AccessDenied
        unless `params` carry a valid, unexpired signature for this method
        and key; return the body length a PUT URL pins. Stores whose URLs
        are served elsewhere raise NotFound."""


class UploadChecks(Protocol):
    """Looks in the store for uploads that tim did not receive itself, when
    a pending record is read: at most so often per record, and not at all
    for a while after the store failed, so that reading records never
    waits on a store that is slow or down."""

    def look(self, key: str, size: int) -> UploadState | None:
        """What `BlobStore.confirm_upload` says, or None when it was not
        asked this time (too soon, the store recently down, or another look
        under way). Never raises StorageUnavailable."""
