"""Files kept in a dict: for tests and for embedders who need no persistence."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from tim.adapters.blob_writes import write_and_commit
from tim.adapters.clock import SystemClock
from tim.adapters.signed_urls import ServedByTim, UrlSigner
from tim.domain.model.errors import NotFound, ObjectExists, SizeMismatch
from tim.ports.blob_store import BlobWriter, StoredObject
from tim.ports.clock import Clock

CHUNK_SIZE = 1024 * 1024


class MemoryBlobStore(ServedByTim):

    def __init__(self, signer: UrlSigner, clock: Clock | None = None):
        self._signer = signer
        self._clock = clock or SystemClock()
        self._objects: dict[str, bytes] = {}
        self._modified: dict[str, int] = {}
        self._lock = threading.Lock()

    def put(self, key: str, chunks: Iterable[bytes], size: int) -> None:
        write_and_commit(self.open_writer(key, size), chunks)

    def open_writer(self, key: str, size: int) -> BlobWriter:
        return _MemoryWriter(self, key, size)

    def _add(self, key: str, data: bytes) -> None:
        with self._lock:
            if key in self._objects:
                raise ObjectExists(f"object {key} is stored already")
            self._objects[key] = data
            self._modified[key] = self._clock.now()

    def get(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        with self._lock:
            data = self._objects.get(key)
        if data is None:
            raise NotFound(f"object {key} does not exist")
        end = len(data) if end is None else min(end, len(data))
        return (data[i : min(i + CHUNK_SIZE, end)] for i in range(start, end, CHUNK_SIZE))

    def stat(self, key: str) -> int | None:
        with self._lock:
            data = self._objects.get(key)
        return None if data is None else len(data)

    def delete(self, key: str) -> None:
        with self._lock:
            derived = [name for name in self._objects if name.startswith(f"{key}-")]
            for name in [key, *derived]:
                self._objects.pop(name, None)
                self._modified.pop(name, None)

    def remove_stale_temporaries(self, older_than: int) -> int:
        return 0  # a write in progress keeps its bytes in its writer, and they go with it

    def objects(self) -> Iterator[StoredObject]:
        with self._lock:
            listing = [StoredObject(key, len(data), self._modified[key]) for key, data in sorted(self._objects.items())]
        return iter(listing)



class _MemoryWriter:
    def __init__(self, store: MemoryBlobStore, key: str, size: int):
        self._store = store
        self._key = key
        self._size = size
        self._data = bytearray()

    def write(self, chunk: bytes) -> None:
        self._data += chunk
        if len(self._data) > self._size:
            raise SizeMismatch(self._size)

    def commit(self) -> None:
        if len(self._data) != self._size:
            raise SizeMismatch(self._size, len(self._data))
        self._store._add(self._key, bytes(self._data))

    def abort(self) -> None:
        self._data = bytearray()
