"""Use cases for image records: create, upload in one shot, read, list,
search, retag, delete."""

from __future__ import annotations

from attrs import frozen

from tim.domain.model.errors import InvalidInput, NotFound, TooLarge
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


@frozen
class CreatedImage:
    image: ImageRecord
    upload_url: str


@frozen
class Images:
    ports: Ports
    records: Records

    def create_image(self, *, created_by: str, filename: object, size: object, tags: object = ()) -> CreatedImage:
        """Record an image whose file the caller will PUT to `upload_url`.
        The URL is signed first: a store that cannot sign leaves no record."""
        new = NewImage(
            filename=parse_filename(filename),
            size=parse_size(size, self.ports.settings.max_image_bytes),
            created_by=parse_principal(created_by),
            created_timestamp=self.ports.clock.now(),
            blob_key=new_blob_key(),
            tag_names=parse_tag_names(tags, maximum=self.ports.settings.max_tags_per_image),
        )
        upload_url = self.ports.blobs.upload_url(new.blob_key, new.size, self.ports.expires_at())
        return CreatedImage(self.ports.repository.add_image(new), upload_url)

    def upload_image(self, *, created_by: str, filename: object, data: bytes, tags: object = ()) -> ImageRecord:
        """Store a file and its record in one step. The file is stored first,
        so a failure leaves at worst an unreferenced object for the sweep,
        never a record that claims a file it does not have."""
        now = self.ports.clock.now()
        new = NewImage(
            filename=parse_filename(filename),
            size=len(data),
            created_by=parse_principal(created_by),
            created_timestamp=now,
            blob_key=new_blob_key(),
            tag_names=parse_tag_names(tags, maximum=self.ports.settings.max_tags_per_image),
            uploaded_timestamp=now,
        )
        if not data:
            raise InvalidInput.of("image_data", "must not be empty")
        if len(data) > self.ports.settings.max_image_bytes:
            raise TooLarge(f"the file must be at most {self.ports.settings.max_image_bytes} bytes")
        self.ports.blobs.put(new.blob_key, [data], new.size)
        try:
            image = self.ports.repository.add_image(new)
        except BaseException:
            self.records.forget_blob(new.blob_key)
            raise
        return self.records.present(image)

    def get_image(self, image_id: object) -> ImageRecord:
        return self.records.present(self.records.image(image_id))

    def list_images(self, *, page: object = None, limit: object = None, **filters: object) -> Page[ImageRecord]:
        """All images, newest first; filters: start_timestamp, end_timestamp,
        uploaded_only, created_by."""
        return self.records.find(ImageQuery.parse(**filters), PageRequest.parse(page, limit))

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
