"""The UploadChecks port: a rationed look at a blob store for uploads made
straight to it (S3), in front of the store's own `confirm_upload`.

The ration is per process: one look at a time (while it runs, or hangs on a
store that is down, other requests answer at once from what the database
says), at most one per upload every `interval` seconds, and none for a
while after the store failed.
"""

from __future__ import annotations

import logging
import threading

from tim.domain.model.errors import StorageUnavailable
from tim.ports.blob_store import BlobStore, UploadState
from tim.ports.clock import Clock

log = logging.getLogger(__name__)

# After a failed look, none for this long: longer than a failing look takes
# (retries and timeouts).
STORE_DOWN_BACKOFF_SECONDS = 60
# Bounds the memory of a long-running process.
REMEMBERED_LOOKS = 100_000


class RationedUploadChecks:
    def __init__(self, blobs: BlobStore, clock: Clock, *, interval_seconds: int):
        self._blobs = blobs
        self._clock = clock
        self._interval = interval_seconds
        self._last_look: dict[str, int] = {}  # key -> when its upload was last looked for
        self._down_until = 0
        self._looking = threading.Lock()

    def look(self, key: str, size: int) -> UploadState | None:
        if self._blobs.completes_on_put:
            return None  # tim received every PUT itself, so the record is current
        if not self._looking.acquire(blocking=False):
            return None
        try:
            if not self._due(key):
                return None
            state = self._blobs.confirm_upload(key, size)
        except StorageUnavailable:
            log.warning("could not look for the upload of object %s; the store is unavailable", key)
            self._down_until = self._clock.now() + max(self._interval, STORE_DOWN_BACKOFF_SECONDS)
            return None
        finally:
            self._looking.release()
        if state is UploadState.STORED:
            self._last_look.pop(key, None)
        return state

    def _due(self, key: str) -> bool:
        now = self._clock.now()
        if now < self._down_until:
            return False
        last = self._last_look.get(key)
        if last is not None and now - last < self._interval:
            return False
        if len(self._last_look) >= REMEMBERED_LOOKS:
            self._last_look.clear()
        self._last_look[key] = now
        return True
