"""`BlobStore.put` for every store, in terms of the store's own BlobWriter."""

from __future__ import annotations

from collections.abc import Iterable

from tim.ports.blob_store import BlobWriter


def write_and_commit(writer: BlobWriter, chunks: Iterable[bytes]) -> None:
    """Write every chunk and commit; abort on any failure, the source's included."""
    try:
        for chunk in chunks:
            writer.write(chunk)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
