"""Use cases for tags: list, create, read, rename, delete, and a tag's images."""

from __future__ import annotations

from attrs import frozen

from tim.domain.model.errors import InvalidInput, NotFound
from tim.domain.model.fields import parse_int
from tim.domain.model.images import ImageRecord
from tim.domain.model.paging import Page, PageRequest
from tim.domain.model.search import HasTagId, ImageQuery
from tim.domain.model.tags import Tag, parse_tag_name
from tim.domain.use_cases.parts import Ports, Records


@frozen
class Tags:
    ports: Ports
    records: Records

    def list_tags(self, *, page: object = None, limit: object = None) -> Page[Tag]:
        """All tags in alphabetical order (case-folded, ties by exact name)."""
        return self.ports.repository.list_tags(PageRequest.parse(page, limit))

    def create_tag(self, name: object) -> Tag:
        """Raises TagNameTaken (carrying the existing tag) for a name in use."""
        return self.ports.repository.add_tag(parse_tag_name(name))

    def get_tag(self, tag_id: object) -> Tag:
        return self._tag(tag_id)

    def rename_tag(self, tag_id: object, *, name: object) -> Tag:
        """Every image carrying the tag carries the new name at once."""
        new_name = parse_tag_name(name)
        tag = self.ports.repository.rename_tag(self._tag(tag_id).id, new_name)
        if tag is None:
            raise NotFound(f"tag {tag_id} does not exist")
        return tag

    def delete_tag(self, tag_id: object) -> None:
        """The tag leaves every image; the images stay."""
        if not self.ports.repository.delete_tag(self._tag(tag_id).id):
            raise NotFound(f"tag {tag_id} does not exist")

    def list_tag_images(
        self, tag_id: object, *, page: object = None, limit: object = None, **filters: object
    ) -> Page[ImageRecord]:
        """The tag's images, newest first, with the filters of list_images."""
        query = ImageQuery.parse(also=[HasTagId(self._tag(tag_id).id)], **filters)
        return self.records.find(query, PageRequest.parse(page, limit))

    def _tag(self, tag_id: object) -> Tag:
        try:
            number = parse_int("tag_id", tag_id, minimum=1)
        except InvalidInput:
            raise NotFound(f"tag {tag_id} does not exist") from None
        tag = self.ports.repository.get_tag(number)
        if tag is None:
            raise NotFound(f"tag {tag_id} does not exist")
        return tag
