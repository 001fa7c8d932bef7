"""Small file operations the file blob store is built from: durable
directory changes, complete writes, chunked reads and error translation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from tim.domain.model.errors import StorageUnavailable


@contextmanager
def storage_errors(doing: str) -> Iterator[None]:
    """Report a failing disk (ENOSPC, EIO, EROFS, EACCES...) as StorageUnavailable."""
    try:
        yield
    except OSError as error:
        raise StorageUnavailable(f"{doing}: {error.strerror or error}") from error


def write_all(fd: int, data: bytes) -> None:
    # os.write may write less than asked (e.g. just before the disk fills up).
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def fsync_directory(path: Path) -> None:
    """Make a rename, creation or removal inside `path` survive a crash."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_directory(path: Path) -> None:
    """Create `path` unless it exists, durably (its parent's entry is synced too)."""
    try:
        os.mkdir(path)
    except FileExistsError:
        return
    fsync_directory(path.parent)


def entries(path: Path) -> list[os.DirEntry[str]]:
    """The entries of a folder, sorted by name; none when it does not exist.
    Listed in full so that no directory handle outlives the call."""
    try:
        with os.scandir(path) as listing:
            return sorted(listing, key=lambda entry: entry.name)
    except FileNotFoundError:
        return []


class FileChunks(Iterator[bytes]):
    """The bytes of an open file in chunks, from where it stands, to its end
    or for `limit` bytes. The file is closed once the chunks are exhausted,
    on close(), or when the iterator is dropped."""

    def __init__(self, file: BinaryIO, chunk_size: int, doing: str, limit: int | None = None):
        self._file = file
        self._chunk_size = chunk_size
        self._doing = doing
        self._left = limit

    def __next__(self) -> bytes:
        if self._file.closed:
            raise StopIteration
        size = self._chunk_size if self._left is None else min(self._chunk_size, self._left)
        try:
            with storage_errors(self._doing):
                chunk = self._file.read(size) if size else b""
        except BaseException:
            self.close()
            raise
        if not chunk:
            self.close()
            raise StopIteration
        if self._left is not None:
            self._left -= len(chunk)
        return chunk

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FileChunks:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A server may drop a download half-way (the client went away).
        self.close()
