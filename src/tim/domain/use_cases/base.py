from __future__ import annotations

import threading

from attrs import define, field

from tim.domain.model.settings import Settings
from tim.ports.blob_store import BlobStore
from tim.ports.clock import Clock
from tim.ports.repository import Repository


@define(kw_only=True)
class UseCases:
    """The ports every use case works through."""

    repository: Repository
    blobs: BlobStore
    clock: Clock
    settings: Settings = Settings()
    # image id -> when its pending upload was last looked for in the store
    _last_checked: dict[int, int] = field(factory=dict, init=False, repr=False)
    # until when pending uploads are not looked for, after the store failed
    _store_down_until: int = field(default=0, init=False, repr=False)
    # one look at the store at a time per process: while it runs (or hangs),
    # other requests do not start their own
    _checking: threading.Lock = field(factory=threading.Lock, init=False, repr=False)

    def expires_at(self) -> int:
        return self.clock.now() + self.settings.url_expiry_seconds
