"""Use cases for image records: create, upload in one shot, read, list,
search, retag, delete."""

from __future__ import annotations

import itertools

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
from tim.domain.use_cases.transfers import TransferUseCases

LOOKS_PER_PAGE = 10


@frozen
class CreatedImage:
    image: ImageRecord
    upload_url: str


class ImageUseCases(TransferUseCases):
    def create_image(self, *, created_by: str, filename: object, size: object, tags: object = ()) -> CreatedImage:
        """Record an image whose file the caller will PUT to `upload_url`.
        The URL is signed first: a store that cannot sign leaves no record."""
        new = NewImage(
            filename=parse_filename(filename),
            size=parse_size(size, self.settings.max_image_bytes),
            created_by=parse_principal(created_by),
            created_timestamp=self.clock.now(),
            blob_key=new_blob_key(),
            tag_names=parse_tag_names(tags, maximum=self.settings.max_tags_per_image),
        )
        upload_url = self.blobs.upload_url(new.blob_key, new.size, self.expires_at())
        return CreatedImage(self.repository.add_image(new), upload_url)

    def upload_image(self, *, created_by: str, filename: object, data: bytes, tags: object = ()) -> ImageRecord:
        """Store a file and its record in one step. The file is stored first,
        so a failure leaves at worst an unreferenced object for the sweep,
        never a record that claims a file it does not have."""
        new = NewImage(
            filename=parse_filename(filename),
            size=len(data),
            created_by=parse_principal(created_by),
            created_timestamp=self.clock.now(),
            blob_key=new_blob_key(),
            tag_names=parse_tag_names(tags, maximum=self.settings.max_tags_per_image),
            uploaded_timestamp=self.clock.now(),
        )
        if not data:
            raise InvalidInput.of("image_data", "must not be empty")
        if len(data) > self.settings.max_image_bytes:
            raise TooLarge(f"the file must be at most {self.settings.max_image_bytes} bytes")
        self.blobs.put(new.blob_key, [data], new.size)
        try:
            image = self.repository.add_image(new)
        except BaseException:
            self.forget_blob(new.blob_key)
            raise
        return self.present(image)

    def get_image(self, image_id: object) -> ImageRecord:
        return self.present(self._image(image_id))

    def list_images(self, *, page: object = None, limit: object = None, **filters: object) -> Page[ImageRecord]:
        """All images, newest first; filters: start_timestamp, end_timestamp,
        uploaded_only, created_by."""
        return self._find(ImageQuery.parse(**filters), PageRequest.parse(page, limit))

    def search_images(
        self,
        *,
        exact_tags: object = None,
        match_tags: object = None,
        page: object = None,
        limit: object = None,
        **filters: object,
    ) -> Page[ImageRecord]:
        """Images carrying every exact tag (case-sensitive) and, for every
        match pattern, a tag matching it (case-insensitive, `%` wildcard)."""
        query = ImageQuery.search(exact_tags=exact_tags, match_tags=match_tags, **filters)
        return self._find(query, PageRequest.parse(page, limit))

    def update_image_tags(self, image_id: object, *, tags: object) -> ImageRecord:
        """Replace the image's tag set; missing tags are created."""
        names = parse_tag_names(tags, maximum=self.settings.max_tags_per_image)
        image = self.repository.set_image_tags(self._image(image_id).id, names)
        if image is None:
            raise NotFound(f"image {image_id} does not exist")
        return self.present(image)

    def delete_image(self, image_id: object) -> None:
        """Remove the record, then its file. Once the record is gone nobody
        can reach the file, so a store that fails here only leaves an
        unreferenced object for the sweep."""
        image = self.repository.delete_image(self._image(image_id).id)
        if image is not None:
            self.forget_blob(image.blob_key)

    def _find(self, query: ImageQuery, page: PageRequest) -> Page[ImageRecord]:
        # A page full of pending uploads looks for the first few only, so a
        # list costs a bounded number of store requests; later reads (and the
        # sweep) find the rest.
        looks = itertools.chain(itertools.repeat(True, LOOKS_PER_PAGE), itertools.repeat(False))
        return self.repository.find_images(query, page).map(
            lambda image: self.present(image, look=not image.is_uploaded and next(looks))
        )
