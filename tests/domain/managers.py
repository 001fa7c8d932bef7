"""ImageManagers on in-memory parts, for the use-case tests."""

from tim.adapters.memory.blob_store import MemoryBlobStore
from tim.adapters.memory.clock import ManualClock
from tim.adapters.memory.repository import MemoryRepository
from tim.adapters.signed_urls import UrlSigner
from tim.domain.model.errors import StorageUnavailable
from tim.domain.model.settings import Settings
from tim.entrypoints.bootstrap import assemble

SECRET = b"use-case-tests-secret-0123456789"


class DirectUploadStore(MemoryBlobStore):
    """Like S3: clients upload straight to the store, so tim must check."""

    completes_on_put = False

    def __init__(self, signer, clock):
        super().__init__(signer, clock)
        self.confirmations = 0
        self.down = False

    def confirm_upload(self, key, size):
        self.confirmations += 1
        if self.down:
            raise StorageUnavailable("the store is down")
        return super().confirm_upload(key, size)


def in_memory_manager(*, direct_uploads=False, max_image_bytes=1000, max_tags_per_image=256, repository=None):
    clock = ManualClock(1_700_000_000)
    store = (DirectUploadStore if direct_uploads else MemoryBlobStore)(UrlSigner(SECRET, "http://tim.test/v1/blobs"), clock)
    settings = Settings(
        max_image_bytes=max_image_bytes,
        url_expiry_seconds=3600,
        pending_check_interval_seconds=5,
        max_tags_per_image=max_tags_per_image,
    )
    return assemble(repository or MemoryRepository(), store, clock=clock, settings=settings)
