"""Use cases for moving files: signed PUTs and GETs served by tim, and
verified completion of uploads made straight to the store."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from attrs import frozen

from tim.domain.model.downloads import ByteRange
from tim.domain.model.errors import (
    AccessDenied,
    AlreadyUploaded,
    ChecksumMismatch,
    Conflict,
    NotFound,
    ObjectExists,
    SizeMismatch,
    UploadIncomplete,
)
from tim.domain.model.facts import Fingerprint
from tim.domain.model.images import ImageRecord
from tim.domain.use_cases.parts import Ports, Records
from tim.ports.blob_store import BlobWriter, UploadState


@frozen
class Download:
    image: ImageRecord
    chunks: Iterator[bytes]
    # The part a Range header asked for; None: the whole file.
    byte_range: ByteRange | None = None


class FingerprintedWriter:
    """A BlobWriter that takes the fingerprint (SHA-256 and first bytes) of
    what passes through it, so the bytes are read once, as they arrive."""

    def __init__(self, writer: BlobWriter):
        self._writer = writer
        self.fingerprint = Fingerprint()

    def write(self, chunk: bytes) -> None:
        self._writer.write(chunk)
        self.fingerprint.update(chunk)

    def commit(self) -> None:
        self._writer.commit()

    def abort(self) -> None:
        self._writer.abort()


@frozen
class IncomingFile:
    """A signed PUT being received: write its body to `writer` as it
    arrives, then `finish_upload` (or `writer.abort()` when it stops)."""

    image: ImageRecord
    writer: FingerprintedWriter


@frozen
class Transfers:
    ports: Ports
    records: Records

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
        return self._incoming(image)

    def _incoming(self, image: ImageRecord) -> IncomingFile:
        return IncomingFile(image, FingerprintedWriter(self.ports.blobs.open_writer(image.blob_key, image.size)))

    def finish_upload(self, incoming: IncomingFile) -> ImageRecord:
        """Store the body written to an IncomingFile and mark its image
        uploaded, with the facts of its bytes. Bytes of the declared size
        whose SHA-256 is not the declared one are refused (ChecksumMismatch)
        and nothing is stored."""
        image, writer = incoming.image, incoming.writer
        fingerprint = writer.fingerprint
        if image.sha256 is not None and fingerprint.size == image.size and fingerprint.sha256 != image.sha256:
            writer.abort()
            raise ChecksumMismatch(image.sha256, fingerprint.sha256)
        try:
            writer.commit()
        except ObjectExists:
            # Another PUT got there first, or one stored the file but died
            # before recording it: then the record is brought up to date.
            self._verify(image)
            raise AlreadyUploaded(image.id) from None
        facts = self.records.facts(fingerprint.sha256, fingerprint.head)
        stored = self.ports.repository.mark_uploaded(image.id, self.ports.clock.now(), facts)
        if stored is None:  # deleted while the bytes were arriving
            self.records.forget_blob(image.blob_key)
            raise NotFound("this upload's image no longer exists")
        return self.records.present(stored)

    def upload_file(self, image_id: object, chunks: Iterable[bytes], *, content_length: int | None = None) -> ImageRecord:
        """Store the file of an image made with create_image, streamed from
        the embedding program itself (no URL involved)."""
        return self._store_file(self.records.image(image_id), chunks, content_length)

    def _upload_target(self, key: str, params: Mapping[str, str]) -> ImageRecord:
        pinned = self.ports.blobs.check_signed_request("PUT", key, params, self.ports.clock.now())
        image = self.ports.repository.get_image_by_blob_key(key)
        if image is None:
            raise NotFound("this upload's image no longer exists")
        if pinned != image.size:
            raise AccessDenied("this URL was not issued for this image")
        return image

    def _store_file(self, image: ImageRecord, chunks: Iterable[bytes], content_length: int | None) -> ImageRecord:
        self._check_storable(image, content_length)
        incoming = self._incoming(image)
        try:
            for chunk in chunks:
                incoming.writer.write(chunk)
            return self.finish_upload(incoming)
        except BaseException:
            incoming.writer.abort()
            raise

    def _check_storable(self, image: ImageRecord, content_length: int | None) -> None:
        if image.is_uploaded:
            raise AlreadyUploaded(image.id)
        if content_length is not None and content_length != image.size:
            raise SizeMismatch(image.size, content_length)

    def open_download(self, key: str, params: Mapping[str, str], byte_range: object = None) -> Download:
        """A GET of a signed download URL: the image and its bytes, all of
        them or the one range `byte_range` (a Range header as received)
        asks for; only those are read."""
        self.ports.blobs.check_signed_request("GET", key, params, self.ports.clock.now())
        image = self.ports.repository.get_image_by_blob_key(key)
        if image is None or not image.is_uploaded:
            raise NotFound("this image's file does not exist")
        return self._download(image, byte_range)

    def read_file(self, image_id: object, byte_range: object = None) -> Download:
        """The stored file of an image, for the embedding program itself (no
        URL involved): all of it or the one range `byte_range` asks for (a
        Range header's text). Conflict while the file is pending."""
        image = self.records.present(self.records.image(image_id))
        if not image.is_uploaded:
            raise Conflict(f"image {image.id} has no stored file yet")
        return self._download(image, byte_range)

    def _download(self, image: ImageRecord, byte_range: object) -> Download:
        part = ByteRange.parse(byte_range, image.size)
        key = image.blob_key
        chunks = self.ports.blobs.get(key) if part is None else self.ports.blobs.get(key, part.start, part.end)
        return Download(image, chunks, part)

    def complete_upload(self, image_id: object) -> ImageRecord:
        """Confirm an upload made straight to the store: the object must
        exist with exactly the declared size. Idempotent. A wrong-size
        object is removed, so that the client can upload again."""
        image = self.records.image(image_id)
        if image.is_uploaded:
            return self.records.present(image)
        verified, state = self._verify(image)
        if verified is None:
            raise NotFound(f"image {image_id} does not exist")
        if state is UploadState.WRONG_SIZE:
            raise UploadIncomplete(
                f"the file uploaded for image {image.id} did not have the declared {image.size} bytes;"
                " it was removed: upload it again"
            )
        if state is UploadState.WRONG_CONTENT:
            raise UploadIncomplete(
                f"the file uploaded for image {image.id} did not have the declared SHA-256;"
                " it was removed: upload it again"
            )
        if state is UploadState.MISSING:
            raise UploadIncomplete(f"no file of {image.size} bytes has been uploaded for image {image.id} yet")
        return self.records.present(verified)

    def complete_upload_of(self, key: str) -> ImageRecord | None:
        """complete_upload for a store's notice that an object arrived at an
        upload URL: the image it belongs to, checked, or None if it belongs
        to none (a leftover for the sweep). Never raises for a wrong upload."""
        image = self.ports.repository.get_image_by_blob_key(key)
        if image is None or image.is_uploaded:
            return image
        return self._verify(image)[0]

    def _verify(self, image: ImageRecord) -> tuple[ImageRecord | None, UploadState]:
        """The record after a look at its upload; None if it was deleted meanwhile."""
        return self.records.settle(image, self.ports.blobs.confirm_upload(image.blob_key, image.size))
