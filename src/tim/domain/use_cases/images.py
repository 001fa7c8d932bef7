"""Use cases for image records: create, upload in one shot, read, list,
search, retag, delete."""

from __future__ import annotations

from collections.abc import Iterable

from attrs import field, frozen

from tim.domain.model.errors import ChecksumMismatch, InvalidInput, NotFound, TooLarge
from tim.domain.model.facts import parse_sha256
from tim.domain.model.images import (
    ImageRecord,
    NewImage,
    new_blob_key,
    parse_filename,
    parse_principal,
    parse_size,
)
from tim.domain.model.paging import Page, PageRequest
from tim.domain.model.search import ImageQuery
from tim.domain.model.tags import parse_tag_names
from tim.domain.use_cases.parts import Ports, Records
from tim.domain.use_cases.transfers import FingerprintedWriter


@frozen
class CreatedImage:
    image: ImageRecord
    upload_url: str
    # Headers the PUT to upload_url must carry (a signed checksum).
    upload_headers: dict[str, str] = field(factory=dict)


@frozen
class Images:
    ports: Ports
    records: Records

    def create_image(
        self, *, created_by: str, filename: object, size: object, tags: object = (), sha256: object = None
    ) -> CreatedImage:
        """Record an image whose file the caller will PUT to `upload_url`
        (with `upload_headers`). With `sha256`, only bytes of that digest
        are accepted. The URL is signed first: a store that cannot sign
        leaves no record."""
        declared = None if sha256 is None else parse_sha256(sha256)
        new = NewImage(
            filename=parse_filename(filename),
            size=parse_size(size, self.ports.settings.max_image_bytes),
            created_by=parse_principal(created_by),
            created_timestamp=self.ports.clock.now(),
            blob_key=new_blob_key(),
            tag_names=parse_tag_names(tags, maximum=self.ports.settings.max_tags_per_image),
            sha256=declared,
        )
        blobs = self.ports.blobs
        upload_url = blobs.upload_url(new.blob_key, new.size, self.ports.expires_at(), declared)
        return CreatedImage(self.ports.repository.add_image(new), upload_url, blobs.upload_headers(declared))

    def upload_image(
        self,
        *,
        created_by: str,
        filename: object,
        data: bytes | Iterable[bytes],
        tags: object = (),
        size: object = None,
        sha256: object = None,
    ) -> ImageRecord:
        """Store a file and its record in one step: `data` is the bytes, or
        chunks of them adding up to `size` (streamed, never held whole).
        With `sha256`, other bytes are refused (ChecksumMismatch). The file
        is stored first, so a failure leaves at worst an unreferenced object
        for the sweep, never a record that claims a file it does not have."""
        now = self.ports.clock.now()
        if isinstance(data, (bytes, bytearray, memoryview)):
            data, size = [bytes(data)], len(data)
        elif size is None:
            raise InvalidInput.of("size", "must be given with a file in chunks")
        new = NewImage(
            filename=parse_filename(filename),
            size=_inline_size(size, self.ports.settings.max_image_bytes),
            created_by=parse_principal(created_by),
            created_timestamp=now,
            blob_key=new_blob_key(),
            tag_names=parse_tag_names(tags, maximum=self.ports.settings.max_tags_per_image),
            uploaded_timestamp=now,
        )
        declared = None if sha256 is None else parse_sha256(sha256)
        writer = FingerprintedWriter(self.ports.blobs.open_writer(new.blob_key, new.size))
        try:
            for chunk in data:
                writer.write(chunk)
            received = writer.fingerprint
            if declared is not None and received.size == new.size and received.sha256 != declared:
                raise ChecksumMismatch(declared, received.sha256)
            writer.commit()
        except BaseException:
            writer.abort()
            raise
        new = new.with_facts(self.records.facts(received.sha256, received.head))
        try:
            image = self.ports.repository.add_image(new)
        except BaseException:
            self.records.forget_blob(new.blob_key)
            raise
        return self.records.present(image)

    def get_image(self, image_id: object) -> ImageRecord:
        return self.records.present(self.records.image(image_id))

    def list_images(
        self, *, page: object = None, limit: object = None, sha256: object = None, **filters: object
    ) -> Page[ImageRecord]:
        """All images, newest first; filters: start_timestamp, end_timestamp,
        uploaded_only, created_by, and `sha256`: the records of the file
        with these bytes (its duplicates), and pending uploads that declared
        them (uploaded_only=True leaves those out)."""
        query, request = ImageQuery.parse(**filters), PageRequest.parse(page, limit)
        if sha256 is not None:
            return self.records.with_sha256(parse_sha256(sha256), query, request)
        return self.records.find(query, request)

    def search_images(self, *, page: object = None, limit: object = None, **terms: object) -> Page[ImageRecord]:
        """Images matching the tag terms (see ImageQuery.search: exact_tags,
        match_tags, any_tags, exclude_tags, exclude_match_tags, untagged)
        and the filters of list_images."""
        return self.records.find(ImageQuery.search(**terms), PageRequest.parse(page, limit))

    def find_images(self, query: ImageQuery, *, page: object = None, limit: object = None) -> Page[ImageRecord]:
        """Images matching a query built with tim.domain.model.search (any
        combination of conditions with AllOf, AnyOf and Not)."""
        if not isinstance(query, ImageQuery):
            raise InvalidInput.of("query", "must be an ImageQuery")
        return self.records.find(query, PageRequest.parse(page, limit))

    def update_image_tags(self, image_id: object, *, tags: object) -> ImageRecord:
        """Replace the image's tag set; missing tags are created."""
        names = parse_tag_names(tags, maximum=self.ports.settings.max_tags_per_image)
        image = self.ports.repository.set_image_tags(self.records.image(image_id).id, names)
        if image is None:
            raise NotFound(f"image {image_id} does not exist")
        return self.records.present(image)

    def delete_image(self, image_id: object) -> None:
        """Remove the record, then its file. Once the record is gone nobody
        can reach the file, so a store that fails here only leaves an
        unreferenced object for the sweep. Of racing deletes, one succeeds
        and the others find nothing (NotFound)."""
        image = self.ports.repository.delete_image(self.records.image(image_id).id)
        if image is None:
            raise NotFound(f"image {image_id} does not exist")
        self.records.forget_blob(image.blob_key)


def _inline_size(size: object, maximum: int) -> int:
    """A one-shot upload's size: empty is invalid, too large is TooLarge (413)."""
    if isinstance(size, int) and not isinstance(size, bool) and size > maximum:
        raise TooLarge(f"the file must be at most {maximum} bytes")
    if size == 0:
        raise InvalidInput.of("image_data", "must not be empty")
    return parse_size(size, maximum)
