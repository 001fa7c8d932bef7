"""Use cases for image records: create, upload in one shot, read, list,
search, export, retag, edit tags (one image or many), delete."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from attrs import field, frozen

from tim.domain.model.edits import TagEdit, parse_image_ids, unknown
from tim.domain.model.errors import ChecksumMismatch, ImagesNotFound, InvalidInput, NotFound, TooLarge
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

# Who an embedding program's changes are recorded for when it names no one.
ANONYMOUS = "anonymous"


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

    # Every list takes `page` or `cursor` (a page's `next_cursor`, for the
    # page after it, unshifted by images added meanwhile), and `limit`.

    def list_images(
        self,
        *,
        page: object = None,
        limit: object = None,
        cursor: object = None,
        sha256: object = None,
        **filters: object,
    ) -> Page[ImageRecord]:
        """All images, newest first; filters: start_timestamp, end_timestamp,
        uploaded_only, created_by, and `sha256`: the records of the file
        with these bytes (its duplicates), and pending uploads that declared
        them (uploaded_only=True leaves those out). Duplicates are few: they
        come in pages, not after cursors."""
        query = ImageQuery.parse(**filters)
        if sha256 is None:
            return self.records.listed(query, page=page, limit=limit, cursor=cursor)
        if cursor is not None:
            raise InvalidInput.of("cursor", "is not taken with sha256: the duplicates of a file come in pages")
        return self.records.with_sha256(parse_sha256(sha256), query, PageRequest.parse(page, limit))

    def search_images(
        self, *, page: object = None, limit: object = None, cursor: object = None, **terms: object
    ) -> Page[ImageRecord]:
        """Images matching the tag terms (see ImageQuery.search: exact_tags,
        match_tags, any_tags, exclude_tags, exclude_match_tags, untagged)
        and the filters of list_images."""
        return self.records.listed(ImageQuery.search(**terms), page=page, limit=limit, cursor=cursor)

    def find_images(
        self, query: ImageQuery, *, page: object = None, limit: object = None, cursor: object = None
    ) -> Page[ImageRecord]:
        """Images matching a query built with tim.domain.model.search (any
        combination of conditions with AllOf, AnyOf and Not)."""
        if not isinstance(query, ImageQuery):
            raise InvalidInput.of("query", "must be an ImageQuery")
        return self.records.listed(query, page=page, limit=limit, cursor=cursor)

    def export_batches(self, **terms: object) -> Iterator[list[ImageRecord]]:
        """export_images a batch at a time. The terms are checked at once."""
        return self.records.every(ImageQuery.search(require_tags=False, **terms))

    def export_images(self, **terms: object) -> Iterator[ImageRecord]:
        """Every image matching the terms of search_images (none: every
        image), newest first, each with a fresh download URL; read in
        batches as the caller goes, so memory stays flat however many match."""
        batches = self.export_batches(**terms)
        return (image for batch in batches for image in batch)

    def update_image_tags(self, image_id: object, *, tags: object, by: object = ANONYMOUS) -> ImageRecord:
        """Replace the image's tag set; missing tags are created. `by`: who
        does it (history records it)."""
        names = parse_tag_names(tags, maximum=self.ports.settings.max_tags_per_image)
        actor = self.ports.actor(by)
        image = self.ports.repository.set_image_tags(self.records.image(image_id).id, names, actor=actor)
        if image is None:
            raise NotFound(f"image {image_id} does not exist")
        return self.records.present(image)

    def edit_image_tags(
        self, image_id: object, *, add: object = None, remove: object = None, by: object
    ) -> ImageRecord:
        """Add tags to and remove tags from the image's set, leaving the rest
        as it is, so concurrent edits never undo each other (unlike
        update_image_tags). Either list may be empty, not both."""
        edit = TagEdit.parse(add, remove, max_tags=self.ports.settings.max_tags_per_image)
        actor = self.ports.actor(by)
        number = self.records.image(image_id).id
        try:
            self.ports.repository.edit_image_tags([number], edit, actor=actor, via="edit")
        except ImagesNotFound:
            raise NotFound(f"image {image_id} does not exist") from None
        return self.get_image(number)

    def edit_tags_of_images(self, *, ids: object, add: object = None, remove: object = None, by: object) -> int:
        """edit_image_tags for up to 1,000 images at once, all or nothing:
        ImagesNotFound (naming them) if any does not exist, and then nothing
        changes. Returns how many of the images' tag sets changed."""
        numbers = parse_image_ids(ids)
        edit = TagEdit.parse(add, remove, max_tags=self.ports.settings.max_tags_per_image)
        actor = self.ports.actor(by)
        impossible = set(unknown(numbers))
        if impossible:  # no store keeps such ids: name them with the missing others, change nothing
            with self.ports.repository.read() as view:
                found = {image.id for image in view.images([n for n in numbers if n not in impossible])}
            raise ImagesNotFound([number for number in numbers if number not in found])
        return self.ports.repository.edit_image_tags(numbers, edit, actor=actor, via="bulk")

    def delete_image(self, image_id: object, *, by: object = ANONYMOUS) -> None:
        """Remove the record, then its file. Once the record is gone nobody
        can reach the file, so a store that fails here only leaves an
        unreferenced object for the sweep. Of racing deletes, one succeeds
        and the others find nothing (NotFound)."""
        actor = self.ports.actor(by)
        image = self.ports.repository.delete_image(self.records.image(image_id).id, actor=actor)
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
