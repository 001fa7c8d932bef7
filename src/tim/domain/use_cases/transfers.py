"""Use cases for moving files: signed PUTs and GETs served by tim, verified
completion of uploads made straight to the store, and download URLs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping

from attrs import evolve, frozen

from tim.domain.model.errors import (
    AccessDenied,
    AlreadyUploaded,
    NotFound,
    ObjectExists,
    SizeMismatch,
    StorageUnavailable,
    UploadIncomplete,
)
from tim.domain.model.images import ImageRecord, parse_image_id
from tim.domain.use_cases.base import UseCases
from tim.ports.blob_store import BlobWriter, UploadState

log = logging.getLogger(__name__)

# After a failed look at the store, pending uploads are not looked for again
# for this long: longer than a failing look takes (retries and timeouts).
STORE_DOWN_BACKOFF_SECONDS = 60


@frozen
class Download:
    image: ImageRecord
    chunks: Iterator[bytes]


@frozen
class IncomingFile:
    """A signed PUT being received: write its body to `writer` as it
    arrives, then `finish_upload` (or `writer.abort()` when it stops)."""

    image: ImageRecord
    writer: BlobWriter


class TransferUseCases(UseCases):
    def receive_upload(
        self, key: str, params: Mapping[str, str], chunks: Iterable[bytes], *, content_length: int | None = None
    ) -> ImageRecord:
        """A PUT to a signed upload URL: store exactly the declared bytes and
        mark the image uploaded. A second PUT, once stored, is refused."""
        return self._store_file(self._upload_target(key, params), chunks, content_length)

    def start_upload(self, key: str, params: Mapping[str, str], *, content_length: int | None = None) -> IncomingFile:
        """receive_upload in steps, for a caller that gets the body bit by
        bit and must not hold a thread while it waits: the same checks, and
        where to write the body."""
        image = self._upload_target(key, params)
        self._check_storable(image, content_length)
        return IncomingFile(image, self.blobs.open_writer(image.blob_key, image.size))

    def finish_upload(self, incoming: IncomingFile) -> ImageRecord:
        """Store the body written to an IncomingFile and mark its image uploaded."""
        return self._record_stored(incoming.image, incoming.writer.commit)

    def upload_file(self, image_id: object, chunks: Iterable[bytes], *, content_length: int | None = None) -> ImageRecord:
        """Store the file of an image made with create_image, streamed from
        the embedding program itself (no URL involved)."""
        return self._store_file(self._image(image_id), chunks, content_length)

    def _upload_target(self, key: str, params: Mapping[str, str]) -> ImageRecord:
        pinned = self.blobs.check_signed_request("PUT", key, params, self.clock.now())
        image = self.repository.get_image_by_blob_key(key)
        if image is None:
            raise NotFound("this upload's image no longer exists")
        if pinned != image.size:
            raise AccessDenied("this URL was not issued for this image")
        return image

    def _store_file(self, image: ImageRecord, chunks: Iterable[bytes], content_length: int | None) -> ImageRecord:
        self._check_storable(image, content_length)
        return self._record_stored(image, lambda: self.blobs.put(image.blob_key, chunks, image.size))

    def _check_storable(self, image: ImageRecord, content_length: int | None) -> None:
        if image.is_uploaded:
            raise AlreadyUploaded(image.id)
        if content_length is not None and content_length != image.size:
            raise SizeMismatch(image.size, content_length)

    def _record_stored(self, image: ImageRecord, store: Callable[[], None]) -> ImageRecord:
        """Run `store` (which stores the image's file) and mark the image uploaded."""
        try:
            store()
        except ObjectExists:
            # Another PUT got there first, or one stored the file but died
            # before recording it: then the record is brought up to date.
            self._verify(image)
            raise AlreadyUploaded(image.id) from None
        stored = self.repository.mark_uploaded(image.id, self.clock.now())
        if stored is None:  # deleted while the bytes were arriving
            self.forget_blob(image.blob_key)
            raise NotFound("this upload's image no longer exists")
        return self.present(stored)

    def open_download(self, key: str, params: Mapping[str, str]) -> Download:
        """A GET of a signed download URL: the image and its bytes."""
        self.blobs.check_signed_request("GET", key, params, self.clock.now())
        image = self.repository.get_image_by_blob_key(key)
        if image is None or not image.is_uploaded:
            raise NotFound("this image's file does not exist")
        return Download(image, self.blobs.get(key))

    def complete_upload(self, image_id: object) -> ImageRecord:
        """Confirm an upload made straight to the store: the object must
        exist with exactly the declared size. Idempotent. A wrong-size
        object is removed, so that the client can upload again."""
        image = self._image(image_id)
        if image.is_uploaded:
            return self.present(image)
        verified, state = self._verify(image)
        if verified is None:
            raise NotFound(f"image {image_id} does not exist")
        image = verified
        if state is UploadState.WRONG_SIZE:
            raise UploadIncomplete(
                f"the file uploaded for image {image.id} did not have the declared {image.size} bytes;"
                " it was removed: upload it again"
            )
        if state is UploadState.MISSING:
            raise UploadIncomplete(f"no file of {image.size} bytes has been uploaded for image {image.id} yet")
        return self.present(image)

    def complete_upload_of(self, key: str) -> ImageRecord | None:
        """complete_upload for a store's notice that an object arrived at an
        upload URL: the image it belongs to, checked, or None if it belongs
        to none (a leftover for the sweep). Never raises for a wrong upload."""
        image = self.repository.get_image_by_blob_key(key)
        if image is None or image.is_uploaded:
            return image
        return self._verify(image)[0]

    def present(self, image: ImageRecord, *, look: bool = True) -> ImageRecord:
        """The record as callers see it: a pending upload looked for in the
        store (if `look`, at most once per record per interval), and a
        download URL once the file is stored."""
        # One look at a time per process: while one runs (or hangs on a store
        # that is down), other requests answer at once with what the database says.
        if look and not image.is_uploaded and self._checking.acquire(blocking=False):
            try:
                if self._due_for_check(image):
                    image = self._verify(image)[0] or image  # None: deleted meanwhile
            except StorageUnavailable:
                # Reading a record must not depend on the store: it stays
                # pending, and nothing is looked for until the store had time to recover.
                log.warning("could not look for the upload of image %s; the store is unavailable", image.id)
                self._store_down_until = self.clock.now() + max(
                    self.settings.pending_check_interval_seconds, STORE_DOWN_BACKOFF_SECONDS
                )
            finally:
                self._checking.release()
        if not image.is_uploaded:
            return image
        return evolve(image, url=self.blobs.download_url(image.blob_key, image.filename, self.expires_at()))

    def _image(self, image_id: object) -> ImageRecord:
        number = parse_image_id(image_id)
        image = None if number is None else self.repository.get_image(number)
        if image is None:
            raise NotFound(f"image {image_id} does not exist")
        return image

    def _due_for_check(self, image: ImageRecord) -> bool:
        if self.blobs.completes_on_put:
            return False  # tim received every PUT itself, so the record is current
        now = self.clock.now()
        if now < self._store_down_until:
            return False
        last = self._last_checked.get(image.id)
        if last is not None and now - last < self.settings.pending_check_interval_seconds:
            return False
        if len(self._last_checked) > 100_000:  # bound the memory of a long-running process
            self._last_checked.clear()
        self._last_checked[image.id] = now
        return True

    def _verify(self, image: ImageRecord) -> tuple[ImageRecord | None, UploadState]:
        """The record after a look at its upload; None if it was deleted meanwhile."""
        state = self.blobs.confirm_upload(image.blob_key, image.size)
        if state is UploadState.STORED:
            self._last_checked.pop(image.id, None)
            stored = self.repository.mark_uploaded(image.id, self.clock.now())
            if stored is None:  # deleted while we looked: nobody can reach the file now
                self.forget_blob(image.blob_key)
            return stored, state
        if state is UploadState.WRONG_SIZE:
            log.info("removed the upload of image %s: it did not have %s bytes", image.id, image.size)
        return image, state

    def forget_blob(self, key: str) -> None:
        """Delete an object nobody may reach any more; a store that is down
        only leaves it for the sweep."""
        try:
            self.blobs.delete(key)
        except StorageUnavailable:
            log.warning("could not delete object %s; the sweep will remove it", key)
