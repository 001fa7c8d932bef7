"""Use cases for tags: list (alphabetical, or by prefix most used first),
create, read, rename, delete, merge, aliases, collisions, and a tag's images.

Tag records (with image counts and aliases) come from the search index,
which has them exactly: a count is the size of the tag's posting list."""

from __future__ import annotations

from attrs import frozen

from tim.domain.model.errors import InvalidInput, NotFound
from tim.domain.model.fields import parse_int
from tim.domain.model.images import ImageRecord
from tim.domain.model.paging import Page, PageRequest
from tim.domain.model.search import HasTagId, ImageQuery
from tim.domain.model.tags import Tag, TagCollision, TagListing, TagRecord, collisions, parse_tag_name
from tim.domain.use_cases.images import ANONYMOUS
from tim.domain.use_cases.parts import Ports, Records


@frozen
class Tags:
    ports: Ports
    records: Records

    def list_tags(self, *, page: object = None, limit: object = None, prefix: object = None) -> Page[TagRecord]:
        """All tags in alphabetical order (case-folded, ties by exact name);
        with `prefix`, those whose case-folded name starts with it, most
        used first (ties alphabetical): for autocomplete."""
        listing = TagListing.parse(prefix)
        request = PageRequest.parse(page, limit)
        with self.ports.repository.read() as view:
            return self.ports.index.tags(view, listing, request)

    def create_tag(self, name: object) -> TagRecord:
        """Raises TagNameTaken (carrying the existing tag) for a name in use,
        by a tag or an alias (then the tag it resolves to)."""
        return TagRecord(self.ports.repository.add_tag(parse_tag_name(name)))

    def get_tag(self, tag_id: object) -> TagRecord:
        return self._record(self._id(tag_id))

    def rename_tag(self, tag_id: object, *, name: object, by: object = ANONYMOUS) -> TagRecord:
        """Every image carrying the tag carries the new name at once."""
        new_name = parse_tag_name(name)
        actor = self.ports.actor(by)
        tag = self.ports.repository.rename_tag(self._tag(tag_id).id, new_name, actor=actor)
        if tag is None:
            raise NotFound(f"tag {tag_id} does not exist")
        return self._record(tag.id, tag)

    def delete_tag(self, tag_id: object, *, by: object = ANONYMOUS) -> None:
        """The tag leaves every image; the images stay. Its aliases go too."""
        actor = self.ports.actor(by)
        if not self.ports.repository.delete_tag(self._tag(tag_id).id, actor=actor):
            raise NotFound(f"tag {tag_id} does not exist")

    def merge_tags(self, tag_id: object, *, into: object, by: object) -> TagRecord:
        """Every image of the tag gets tag `into` instead; the tag is deleted
        and its name (with its aliases) becomes an alias of `into`. Returns
        the surviving tag."""
        source = self._id(tag_id)
        target = parse_int("into", into, minimum=1)
        actor = self.ports.actor(by)
        kept = self.ports.repository.merge_tags(source, target, actor=actor)
        return self._record(kept.id, kept)

    def remove_alias(self, tag_id: object, name: object) -> None:
        """The alias stops meaning the tag; its name is free again."""
        number = self._id(tag_id)
        try:
            alias = parse_tag_name(name)
        except InvalidInput:
            alias = None
        if alias is None or not self.ports.repository.remove_alias(number, alias):
            raise NotFound(f"tag {tag_id} has no alias {name!r}")

    def tag_collisions(self) -> list[TagCollision]:
        """Groups of two or more tags whose names are equal after case
        folding and NFC (Chest, chest, CHEST): candidates for merging."""
        with self.ports.repository.read() as view:
            return collisions(self.ports.index.tag_records(view))

    def list_tag_images(
        self, tag_id: object, *, page: object = None, limit: object = None, cursor: object = None, **filters: object
    ) -> Page[ImageRecord]:
        """The tag's images, newest first, with the filters of list_images."""
        query = ImageQuery.parse(also=[HasTagId(self._tag(tag_id).id)], **filters)
        return self.records.listed(query, page=page, limit=limit, cursor=cursor)

    def _record(self, tag_id: int, written: Tag | None = None) -> TagRecord:
        """The tag's record as the index has it; a tag just `written`, and
        gone again meanwhile, as written."""
        with self.ports.repository.read() as view:
            found = self.ports.index.tag_records(view, [tag_id])
        if found:
            return found[0]
        if written is None:
            raise NotFound(f"tag {tag_id} does not exist")
        return TagRecord(written)

    def _id(self, tag_id: object) -> int:
        try:
            return parse_int("tag_id", tag_id, minimum=1)
        except InvalidInput:
            raise NotFound(f"tag {tag_id} does not exist") from None

    def _tag(self, tag_id: object) -> Tag:
        tag = self.ports.repository.get_tag(self._id(tag_id))
        if tag is None:
            raise NotFound(f"tag {tag_id} does not exist")
        return tag
