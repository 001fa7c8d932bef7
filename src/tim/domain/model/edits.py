"""Editing the tags of images without replacing their whole set
(API-EXTENSIONS §5): two people adding different tags to one image at once
both keep theirs, and an edit of many images happens to all or to none."""

from __future__ import annotations

from collections.abc import Iterable, Set

from attrs import field, frozen, validators

from tim.domain.model.errors import InvalidInput
from tim.domain.model.fields import INT64_MAX
from tim.domain.model.tags import DEFAULT_MAX_TAGS_PER_IMAGE, parse_tag_names

MAX_BULK_IMAGES = 1000


@frozen
class TagEdit:
    """Names to add to and to remove from an image's tags; missing tags to
    add are created, aliases mean their tags, and removing a tag the image
    lacks is no error."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    max_tags: int = field(default=DEFAULT_MAX_TAGS_PER_IMAGE, validator=validators.gt(0))

    def __attrs_post_init__(self) -> None:
        if not self.add and not self.remove:
            raise InvalidInput.of("add", "give tags to add or to remove")
        both = next((name for name in self.add if name in self.remove), None)
        if both is not None:
            raise InvalidInput.of("remove", f"{both!r} is also to be added")

    @classmethod
    def parse(cls, add: object = None, remove: object = None, *, max_tags: int = DEFAULT_MAX_TAGS_PER_IMAGE) -> TagEdit:
        return cls(parse_tag_names(add, "add", max_tags), parse_tag_names(remove, "remove"), max_tags)

    def applied(self, image_id: int, current: Set[int], added: Iterable[int], removed: Iterable[int]) -> set[int]:
        """The ids of the tags the image carries after the edit, given those
        of the tags named to add and to remove (where an alias makes one tag
        both, adding wins). InvalidInput if it would carry too many."""
        after = (set(current) - set(removed)) | set(added)
        if len(after) > self.max_tags:
            raise InvalidInput.of("add", f"image {image_id} would carry {len(after)} tags; at most {self.max_tags}")
        return after


def parse_image_ids(values: object, field_name: str = "ids", maximum: int = MAX_BULK_IMAGES) -> tuple[int, ...]:
    """1..maximum ids as given (JSON integers), repeats collapsed, first-seen
    order kept. One that is not a positive integer names no image: the edit
    then finds it unknown."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidInput.of(field_name, "must be a list of image ids")
    ids = tuple(dict.fromkeys(values))
    if not all(type(value) is int for value in ids):
        raise InvalidInput.of(field_name, "must be a list of integers")
    if not ids:
        raise InvalidInput.of(field_name, "must name at least one image")
    if len(ids) > maximum:
        raise InvalidInput.of(field_name, f"must name at most {maximum} images")
    return ids


def unknown(ids: Iterable[int]) -> list[int]:
    """The ids that cannot name an image at all (not positive, or too large for any store)."""
    return [image_id for image_id in ids if not 1 <= image_id <= INT64_MAX]
