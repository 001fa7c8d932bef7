"""Tags: validated names, tag records and their order."""

from __future__ import annotations

from collections.abc import Iterable

from attrs import frozen

from tim.domain.model.errors import InvalidInput
from tim.domain.model.fields import WHITE_SPACE, first_forbidden_character, normalized_text

MAX_TAG_NAME_LENGTH = 160
DEFAULT_MAX_TAGS_PER_IMAGE = 256
SEARCH_DELIMITER = "|"


def parse_tag_name(value: object, field: str = "name") -> str:
    """A tag name in NFC, trimmed, then checked: 1..160 characters, no `|`,
    no control or format characters."""
    name = normalized_text(field, value).strip(WHITE_SPACE)
    if not name:
        raise InvalidInput.of(field, "must not be empty or only white space")
    if len(name) > MAX_TAG_NAME_LENGTH:
        raise InvalidInput.of(field, f"must be at most {MAX_TAG_NAME_LENGTH} characters")
    bad = first_forbidden_character(name, SEARCH_DELIMITER)
    if bad is not None:
        raise InvalidInput.of(field, f"must not contain {bad!r}")
    return name


def valid_tag_name(instance: object, attribute: object, value: object) -> None:
    """An attrs validator: `value` is a tag name exactly as parse_tag_name
    returns it (checked, trimmed, NFC), so no adapter ever sees another."""
    field = getattr(attribute, "name", "name")
    if parse_tag_name(value, field) != value:
        raise InvalidInput.of(field, "must be trimmed and in Unicode NFC")


def parse_tag_names(values: object, field: str = "tags", maximum: int | None = None) -> tuple[str, ...]:
    """A list of tag names as given with an image: each checked, repeats collapsed,
    first-seen order kept; at most `maximum` names once collapsed."""
    if values is None:
        return ()
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidInput.of(field, "must be a list of tag names")
    names: dict[str, None] = {}
    for index, value in enumerate(values):
        names[parse_tag_name(value, f"{field}[{index}]")] = None
        if maximum is not None and len(names) > maximum:
            raise InvalidInput.of(field, f"must name at most {maximum} tags")
    return tuple(names)


def tag_order(name: str) -> tuple[str, str]:
    """Alphabetical: by case-folded name, ties by the exact name."""
    return (name.casefold(), name)


@frozen
class Tag:
    id: int
    name: str

    @property
    def sort_key(self) -> tuple[str, str]:
        return tag_order(self.name)


def sorted_tags(tags: Iterable[Tag]) -> tuple[Tag, ...]:
    return tuple(sorted(tags, key=lambda tag: tag.sort_key))
