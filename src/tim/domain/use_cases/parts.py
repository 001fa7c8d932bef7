"""What every part of the use cases works with: the ports, and the shared
way records are read and shown to callers."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator

from attrs import field, frozen

from tim.domain.model.cursors import Cursors
from tim.domain.model.errors import InvalidInput, NotFound, StorageUnavailable
from tim.domain.model.facts import DICOM, HEAD_BYTES, DicomAttributes, FileFacts, Fingerprint, sniff_media_type
from tim.domain.model.history import Actor
from tim.domain.model.images import ImageRecord, parse_image_id, parse_principal
from tim.domain.model.paging import MAX_BATCH, Page, PageRequest
from tim.domain.model.search import ImageQuery
from tim.domain.model.settings import Settings
from tim.ports.blob_store import BlobStore, UploadChecks, UploadState
from tim.ports.clock import Clock
from tim.ports.imaging import DicomHeaders, Previews
from tim.ports.repository import Repository
from tim.ports.search_index import SearchIndex

log = logging.getLogger(__name__)

# A page of pending uploads looks for the first few only, so that a list
# costs a bounded number of store requests; later reads (and the sweep) find
# the rest.
LOOKS_PER_PAGE = 10
# An export reads this many records at a time.
EXPORT_BATCH = MAX_BATCH


@frozen(kw_only=True)
class Ports:
    repository: Repository
    index: SearchIndex
    blobs: BlobStore
    upload_checks: UploadChecks
    clock: Clock
    dicom_headers: DicomHeaders
    previews: Previews
    settings: Settings = Settings()
    # What seals the cursors of lists (made with a key of the catalogue's).
    cursors: Cursors = field(factory=Cursors.random)

    def expires_at(self) -> int:
        return self.clock.now() + self.settings.url_expiry_seconds

    def actor(self, by: object) -> Actor:
        """The caller `by`, now: who and when a change is recorded for."""
        return Actor(parse_principal(by, "by"), self.clock.now())

    def page_request(self, scope: str, page: object, limit: object, cursor: object) -> PageRequest:
        """A page from raw input: by number, or after a cursor's key (not both)."""
        if cursor is None:
            return PageRequest.parse(page, limit)
        if page is not None:
            raise InvalidInput.of("cursor", "give a cursor or a page, not both")
        return PageRequest.following(self.cursors.open(cursor, scope, 2), PageRequest.parse(None, limit).limit)


# Presented records remembered, at most (see Records.present).
PRESENTED_KEPT = 20_000


@frozen
class Records:
    """Reading image records: by id, by query, and as callers see them."""

    ports: Ports
    # image id -> (the record, its expiry, the record as presented): within
    # a second a record shown again is the same record, signed the same.
    _presented: dict[int, tuple[ImageRecord, int, ImageRecord]] = field(factory=dict, init=False, repr=False, eq=False)

    def image(self, image_id: object) -> ImageRecord:
        """The stored record; NotFound for an id that names none."""
        number = parse_image_id(image_id)
        image = None if number is None else self.ports.repository.get_image(number)
        if image is None:
            raise NotFound(f"image {image_id} does not exist")
        return image

    def listed(
        self, query: ImageQuery, *, page: object = None, limit: object = None, cursor: object = None
    ) -> Page[ImageRecord]:
        """A page of an image list from raw paging input, with the cursor
        of the page after it."""
        found = self.find(query, self.ports.page_request(query.scope, page, limit, cursor))
        if not found.has_more_pages or not found.results:
            return found
        last = found.results[-1]
        return found.with_cursor(self.ports.cursors.seal((last.created_timestamp, last.id), query.scope))

    def every(self, query: ImageQuery) -> Iterator[list[ImageRecord]]:
        """Every image `query` selects, newest first, in batches read one at
        a time after the last one's key: images added meanwhile never shift
        the walk, and no more than a batch is held at once."""
        request = PageRequest(limit=EXPORT_BATCH)
        blobs = self.ports.blobs
        while True:
            with self.ports.repository.read() as view:
                found = self.ports.index.search(view, query, request)
            # Signed afresh, not remembered (see _with_url): an export would only crowd out the pages.
            expires = self.ports.expires_at()
            yield [
                image.with_url(blobs.download_url(image.blob_key, image.filename, expires))
                if image.is_uploaded
                else image
                for image in found.results
            ]
            if not found.has_more_pages or not found.results:
                return
            last = found.results[-1]
            request = PageRequest.following((last.created_timestamp, last.id), EXPORT_BATCH)

    def find(self, query: ImageQuery, page: PageRequest) -> Page[ImageRecord]:
        """A page of the images `query` selects, newest first, as callers see them."""
        with self.ports.repository.read() as view:
            found = self.ports.index.search(view, query, page)
        return self._presented_page(found)

    def with_sha256(self, sha256: str, query: ImageQuery, page: PageRequest) -> Page[ImageRecord]:
        """A page of the records of these bytes that `query` selects, newest
        first. Found by the repository's index of digests rather than the
        search index's: a file has few duplicates, so the other conditions
        are checked on the records themselves."""
        found = sorted(filter(query.matches, self.ports.repository.images_with_sha256(sha256)), key=_newest_first)
        return self._presented_page(page.slice(found))

    def _presented_page(self, found: Page[ImageRecord]) -> Page[ImageRecord]:
        expires = self.ports.expires_at()  # once for the page
        looks = itertools.chain(itertools.repeat(True, LOOKS_PER_PAGE), itertools.repeat(False))
        return found.with_results(
            [
                self._with_url(image, expires) if image.is_uploaded else self.present(image, look=next(looks))
                for image in found.results
            ]
        )

    def present(self, image: ImageRecord, *, look: bool = True) -> ImageRecord:
        """The record as callers see it: a pending upload looked for in the
        store (if `look`, as the upload checks allow), and a download URL
        once the file is stored."""
        if look and not image.is_uploaded:
            state = self.ports.upload_checks.look(image.blob_key, image.size)
            if state is not None:
                image = self.settle(image, state)[0] or image  # None: deleted meanwhile
        return self._with_url(image, self.ports.expires_at()) if image.is_uploaded else image

    def _with_url(self, image: ImageRecord, expires: int) -> ImageRecord:
        remembered = self._presented.get(image.id)
        if remembered is not None and remembered[0] is image and remembered[1] == expires:
            return remembered[2]
        url = self.ports.blobs.download_url(image.blob_key, image.filename, expires, image.content_type)
        presented = image.with_url(url)
        if len(self._presented) >= PRESENTED_KEPT:
            self._presented.clear()
        self._presented[image.id] = (image, expires, presented)
        return presented

    def settle(self, image: ImageRecord, state: UploadState) -> tuple[ImageRecord | None, UploadState]:
        """The record after the store said `state` of its upload (None if it
        was deleted meanwhile), and the upload's state: a stored file is
        read for its facts, and removed when its bytes are not the declared
        ones (WRONG_CONTENT)."""
        if state is UploadState.STORED:
            facts = self.stored_facts(image)
            if facts is None:
                self.ports.blobs.delete(image.blob_key)
                log.info("removed the upload of image %s: its SHA-256 was not the declared one", image.id)
                return image, UploadState.WRONG_CONTENT
            stored = self.ports.repository.mark_uploaded(image.id, self.ports.clock.now(), facts)
            if stored is None:  # deleted while we looked: nobody can reach the file now
                self.forget_blob(image.blob_key)
            return stored, state
        if state is UploadState.WRONG_SIZE:
            log.info("removed the upload of image %s: it did not have %s bytes", image.id, image.size)
        return image, state

    def stored_facts(self, image: ImageRecord) -> FileFacts | None:
        """The facts of an upload that tim did not receive itself, from the
        stored bytes; None when they are not the declared ones. Only the
        first bytes are read when the store verified the declared digest."""
        blobs, key, declared = self.ports.blobs, image.blob_key, image.sha256
        if declared is not None and blobs.stored_sha256(key) == declared:
            return self.facts(declared, b"".join(blobs.get(key, 0, min(HEAD_BYTES, image.size))))
        fingerprint = Fingerprint()
        for chunk in blobs.get(key):
            fingerprint.update(chunk)
        if declared is not None and fingerprint.sha256 != declared:
            return None
        return self.facts(fingerprint.sha256, fingerprint.head)

    def facts(self, sha256: str, head: bytes) -> FileFacts:
        """The facts of a file from its digest and first bytes."""
        content_type = sniff_media_type(head)
        dicom = None
        if content_type == DICOM:
            found = self.ports.dicom_headers.read(head)
            dicom = None if found is None else DicomAttributes.allowed(found)
        return FileFacts(sha256, content_type, dicom)

    def forget_blob(self, key: str) -> None:
        """Delete an object nobody may reach any more; a store that is down
        only leaves it for the sweep."""
        try:
            self.ports.blobs.delete(key)
        except StorageUnavailable:
            log.warning("could not delete object %s; the sweep will remove it", key)


def _newest_first(image: ImageRecord) -> tuple[int, int]:
    return image.newest_first_key
