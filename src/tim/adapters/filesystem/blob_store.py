"""Image files kept as plain files in one folder.

Layout: `root/objects/<first two characters of the key>/<key>` for stored
objects and `root/tmp/` for files still arriving. Both live under one root,
so on one filesystem, and moving a finished file into place is an atomic
rename: a reader sees the whole file or none.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import suppress
from pathlib import Path

from tim.adapters.blob_writes import write_and_commit
from tim.adapters.filesystem.files import (
    FileChunks,
    entries,
    fsync_directory,
    make_directory,
    storage_errors,
    write_all,
)
from tim.adapters.signed_urls import ServedByTim, UrlSigner
from tim.domain.model.errors import NotFound, ObjectExists, SizeMismatch
from tim.domain.model.images import is_object_key
from tim.ports.blob_store import BlobWriter, StoredObject

CHUNK_SIZE = 1024 * 1024
# The shape of `new_blob_key()`. Nothing else can name a file, so no key can
# reach outside the store ("../x", "/etc/passwd", "AB" + ...).
SHARD_SHAPE = re.compile(r"[0-9a-f]{2}")
OBJECT_MODE = 0o640


class FileBlobStore(ServedByTim):
    """Objects as files under `root`, written atomically and durably; signed
    URLs for PUT and GET that tim serves itself."""


    def __init__(self, root: Path, signer: UrlSigner):
        self._root = Path(root)
        self._objects = self._root / "objects"
        self._temporaries = self._root / "tmp"
        self._signer = signer
        with storage_errors(f"the file store at {self._root} cannot be opened"):
            self._objects.mkdir(parents=True, exist_ok=True)
            self._temporaries.mkdir(exist_ok=True)

    def put(self, key: str, chunks: Iterable[bytes], size: int) -> None:
        write_and_commit(self.open_writer(key, size), chunks)

    def open_writer(self, key: str, size: int) -> BlobWriter:
        final = self._path(key)
        if final is None:
            raise ValueError(f"{key!r} is not an object key made by tim")
        doing = f"the file store at {self._root} cannot store object {key}"
        with storage_errors(doing):
            fd, temporary = tempfile.mkstemp(prefix=f"{key}.", suffix=".part", dir=self._temporaries)
        return _FileWriter(fd, Path(temporary), final, size, doing)

    def get(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        path = self._path(key)
        if path is None:
            raise _missing(key)
        doing = f"the file store at {self._root} cannot read object {key}"
        with storage_errors(doing):
            try:
                file = open(path, "rb", buffering=0)  # FileChunks closes it
            except FileNotFoundError:
                raise _missing(key) from None
        chunks = FileChunks(file, CHUNK_SIZE, doing, limit=None if end is None else end - start)
        if start:
            try:
                with storage_errors(doing):
                    file.seek(start)
            except BaseException:
                chunks.close()
                raise
        return chunks

    def stat(self, key: str) -> int | None:
        path = self._path(key)
        if path is None:
            return None
        with storage_errors(f"the file store at {self._root} cannot look up object {key}"):
            try:
                return os.stat(path).st_size
            except FileNotFoundError:
                return None

    def delete(self, key: str) -> None:
        path = self._path(key)
        if path is None:
            return
        with storage_errors(f"the file store at {self._root} cannot delete object {key}"):
            with suppress(FileNotFoundError):
                os.unlink(path)
            # Derived objects sit beside the file, in its shard, named after it.
            for entry in entries(path.parent):
                if entry.name.startswith(f"{key}-") and is_object_key(entry.name):
                    with suppress(FileNotFoundError):
                        os.unlink(entry.path)

    def objects(self) -> Iterator[StoredObject]:
        # One shard (1/256 of the objects) is listed at a time.
        doing = f"the file store at {self._root} cannot list its objects"
        with storage_errors(doing):
            shards = [e for e in entries(self._objects) if SHARD_SHAPE.fullmatch(e.name) and e.is_dir()]
        for shard in shards:
            with storage_errors(doing):
                found = list(self._objects_in(shard))
            yield from found


    def remove_stale_temporaries(self, older_than: int) -> int:
        """A temporary is being written for as long as its writer holds a
        lock on it (flock; the kernel drops it when the writer's process
        dies, however it dies), so only unlocked ones are removed. The age
        covers the instant between creating a temporary and locking it."""
        removed = 0
        with storage_errors(f"the file store at {self._root} cannot list its temporary files"):
            found = entries(self._temporaries)
        for entry in found:
            with suppress(FileNotFoundError):  # finished meanwhile
                if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < older_than:
                    with storage_errors(f"the file store at {self._root} cannot remove {entry.path}"):
                        removed += _remove_unless_locked(Path(entry.path))
        return removed

    def _path(self, key: str) -> Path | None:
        """Where the object `key` lives, or None when `key` cannot name one."""
        if not isinstance(key, str) or not is_object_key(key):
            return None
        return self._objects / key[:2] / key

    def _objects_in(self, shard: os.DirEntry[str]) -> Iterator[StoredObject]:
        for entry in entries(Path(shard.path)):
            if not (is_object_key(entry.name) and entry.name.startswith(shard.name)):
                continue
            try:
                status = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # deleted since the listing
            if entry.is_file(follow_symlinks=False):
                yield StoredObject(entry.name, status.st_size, int(status.st_mtime))

class _FileWriter:
    """An object written to a temporary file, linked into place by commit:
    readers see the whole file or none."""

    def __init__(self, fd: int, temporary: Path, final: Path, size: int, doing: str):
        self._fd: int | None = fd
        self._temporary: Path | None = temporary
        self._final = final
        self._size = size
        self._doing = doing
        self._received = 0
        try:
            with storage_errors(doing):
                # Held until the writer is done: the sweep leaves locked temporaries alone.
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.fchmod(fd, OBJECT_MODE)
        except BaseException:
            self.abort()
            raise

    def write(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received > self._size:
            raise SizeMismatch(self._size)
        assert self._fd is not None, "written after commit or abort"
        with storage_errors(self._doing):
            write_all(self._fd, chunk)

    def commit(self) -> None:
        if self._received != self._size:
            raise SizeMismatch(self._size, self._received)
        assert self._fd is not None and self._temporary is not None, "committed after abort"
        try:
            with storage_errors(self._doing):
                os.fsync(self._fd)  # kept open (and locked) until linked into place
                make_directory(self._final.parent)
                try:
                    # A link, unlike a rename, never replaces: of two racing
                    # PUTs to one upload URL only the first is stored.
                    os.link(self._temporary, self._final)
                except FileExistsError:
                    raise ObjectExists(f"object {self._final.name} is stored already") from None
                fsync_directory(self._final.parent)
        finally:  # the temporary goes, whether linked into place or not
            self.abort()

    def abort(self) -> None:
        fd, self._fd = self._fd, None
        temporary, self._temporary = self._temporary, None
        if temporary is not None:  # removed while still locked by this writer
            with suppress(OSError):
                os.unlink(temporary)
        if fd is not None:
            with suppress(OSError):
                os.close(fd)


def _remove_unless_locked(path: Path) -> int:
    """1 if `path` was removed, 0 if a writer holds it."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0
        os.unlink(path)
        return 1
    finally:
        os.close(fd)


def _missing(key: str) -> NotFound:
    return NotFound(f"object {key} does not exist")
