"""Files kept in a dict: for tests and for embedders who need no persistence."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping

from tim.adapters.clock import SystemClock
from tim.adapters.signed_urls import UrlSigner, confirm_in_place
from tim.domain.model.errors import NotFound, ObjectExists, SizeMismatch
from tim.ports.blob_store import StoredObject, UploadState
from tim.ports.clock import Clock

CHUNK_SIZE = 1024 * 1024


class MemoryBlobStore:
    completes_on_put = True

    def __init__(self, signer: UrlSigner, clock: Clock | None = None):
        self._signer = signer
        self._clock = clock or SystemClock()
        self._objects: dict[str, bytes] = {}
        self._modified: dict[str, int] = {}
        self._lock = threading.Lock()

    def put(self, key: str, chunks: Iterable[bytes], size: int) -> None:
        data = bytearray()
        for chunk in chunks:
            data += chunk
            if len(data) > size:
                raise SizeMismatch(size)
        if len(data) != size:
            raise SizeMismatch(size, len(data))
        with self._lock:
            if key in self._objects:
                raise ObjectExists(f"object {key} is stored already")
            self._objects[key] = bytes(data)
            self._modified[key] = self._clock.now()

    def get(self, key: str) -> Iterator[bytes]:
        with self._lock:
            data = self._objects.get(key)
        if data is None:
            raise NotFound(f"object {key} does not exist")
        return (data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE))

    def stat(self, key: str) -> int | None:
        with self._lock:
            data = self._objects.get(key)
        return None if data is None else len(data)

    def delete(self, key: str) -> None:
        with self._lock:
            self._objects.pop(key, None)
            self._modified.pop(key, None)

    def objects(self) -> Iterator[StoredObject]:
        with self._lock:
            listing = [StoredObject(key, len(data), self._modified[key]) for key, data in sorted(self._objects.items())]
        return iter(listing)

    def discard_upload(self, key: str) -> None:
        pass  # uploads land in place: there is no separate upload object

    def confirm_upload(self, key: str, size: int) -> UploadState:
        return confirm_in_place(self, key, size)

    def upload_url(self, key: str, size: int, expires_at: int) -> str:
        return self._signer.url("PUT", key, expires_at, size)

    def download_url(self, key: str, filename: str, expires_at: int) -> str:
        return self._signer.url("GET", key, expires_at)

    def check_signed_request(self, method: str, key: str, params: Mapping[str, str], now: int) -> int | None:
        return self._signer.check(method, key, params, now)
