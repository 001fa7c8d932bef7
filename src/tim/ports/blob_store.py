"""Where image files are kept.

Keys are made by tim (see `new_blob_key`), never taken from user input.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol


class BlobStore(Protocol):
    def put(self, key: str, chunks: Iterable[bytes], size: int) -> None:
        """Store exactly `size` bytes read from `chunks`, never holding the
        whole file in memory. Raises SizeMismatch (and stores nothing) when
        the chunks add up to another length; readers never see a partial file."""

    def get(self, key: str) -> Iterator[bytes]:
        """The stored bytes in chunks. Raises NotFound."""

    def stat(self, key: str) -> int | None:
        """The stored size, or None when there is no object."""

    def delete(self, key: str) -> None:
        """Remove the object; no error if it is gone already."""

    def keys(self) -> Iterator[str]:
        """Every stored key, for sweeps that look for unreferenced objects."""

    def upload_url(self, key: str, size: int, expires_at: int) -> str:
        """An absolute URL that accepts one PUT of exactly `size` bytes until `expires_at`."""

    def download_url(self, key: str, filename: str, expires_at: int) -> str:
        """An absolute URL that serves the file (as `filename`) until `expires_at`."""

    @property
    def completes_on_put(self) -> bool:
        """True when tim itself receives signed PUTs (and so knows at once
        that an upload completed); False when clients upload elsewhere."""

    def check_signed_request(self, method: str, key: str, params: Mapping[str, str], now: int) -> int | None:
        """For stores whose signed URLs tim serves itself: raise AccessDenied
        unless `params` carry a valid, unexpired signature for this method
        and key; return the body length a PUT URL pins. Stores whose URLs
        are served elsewhere raise NotFound."""
