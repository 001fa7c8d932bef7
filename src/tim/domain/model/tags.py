"""Tags: validated names, tag records and their order, aliases, listings
and collisions."""

from __future__ import annotations

import unicodedata
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


# Aliases. A name is a tag's or an alias's, never both: a merged tag's name
# becomes an alias of the tag it was merged into, and an image input or an
# exact search term naming an alias means that tag (see search.py).


def check_merge(source: int, into: int) -> None:
    """A tag is merged into another one, never into itself."""
    if source == into:
        raise InvalidInput.of("into", "must name another tag than the one merged")


@frozen
class TagRecord:
    """A tag as the tag routes show it: how many images carry it (exact, at
    the time it is read) and the names that resolve to it, alphabetical."""

    tag: Tag
    image_count: int = 0
    aliases: tuple[str, ...] = ()

    @property
    def id(self) -> int:
        return self.tag.id

    @property
    def name(self) -> str:
        return self.tag.name


def sorted_names(names: Iterable[str]) -> tuple[str, ...]:
    """Names in the tag list's order (what aliases are listed in)."""
    return tuple(sorted(names, key=tag_order))


@frozen
class TagListing:
    """Which tags a tag list shows, in which order: without a prefix every
    tag, alphabetical; with one, the tags whose case-folded name starts with
    the case-folded prefix, most used first, ties alphabetical (autocomplete)."""

    prefix: str | None = None

    @classmethod
    def parse(cls, prefix: object = None) -> TagListing:
        """The prefix in NFC, at most as long as a tag name, without control
        or format characters; empty: every tag, most used first."""
        if prefix is None:
            return cls()
        text = normalized_text("prefix", prefix)
        if len(text) > MAX_TAG_NAME_LENGTH:
            raise InvalidInput.of("prefix", f"must be at most {MAX_TAG_NAME_LENGTH} characters")
        bad = first_forbidden_character(text, SEARCH_DELIMITER)
        if bad is not None:
            raise InvalidInput.of("prefix", f"must not contain {bad!r}")
        return cls(text)

    @property
    def folded_prefix(self) -> str | None:
        return None if self.prefix is None else self.prefix.casefold()

    def matches(self, record: TagRecord) -> bool:
        return self.prefix is None or record.name.casefold().startswith(self.prefix.casefold())

    def order_key(self, record: TagRecord) -> tuple:
        if self.prefix is None:
            return record.tag.sort_key
        return (-record.image_count, *record.tag.sort_key)

    def select(self, records: Iterable[TagRecord]) -> list[TagRecord]:
        """The records this listing shows, in order: the reference every index is held to."""
        return sorted(filter(self.matches, records), key=self.order_key)


def collision_key(name: str) -> str:
    """What names that differ only in case (and Unicode spelling) share."""
    return unicodedata.normalize("NFC", name.casefold())


@frozen
class TagCollision:
    """Two or more tags whose names are equal after case folding and NFC."""

    folded: str
    tags: tuple[TagRecord, ...]


def collisions(records: Iterable[TagRecord]) -> list[TagCollision]:
    """The groups of colliding tags, by folded name; each group's tags in
    the tag list's order."""
    groups: dict[str, list[TagRecord]] = {}
    for record in records:
        groups.setdefault(collision_key(record.name), []).append(record)
    return [
        TagCollision(folded, tuple(sorted(group, key=lambda record: record.tag.sort_key)))
        for folded, group in sorted(groups.items())
        if len(group) > 1
    ]
