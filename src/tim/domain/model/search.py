"""Which images a query selects, and in what order.

The in-memory repository applies these rules directly; the SQL repositories
translate them, and the shared contract tests hold them to these functions.
"""

from __future__ import annotations

from collections.abc import Iterable

from attrs import field, frozen

from tim.domain.model.errors import InvalidInput
from tim.domain.model.fields import parse_flag, parse_int
from tim.domain.model.images import ImageRecord, parse_principal
from tim.domain.model.tags import SEARCH_DELIMITER, WHITE_SPACE, parse_tag_name

WILDCARD = "%"


@frozen
class TagPattern:
    """A case-insensitive tag pattern: `%` matches any run of characters
    (including none); every other character, `_` and `\\` included, is literal.
    Case-insensitive means equal after Unicode case folding."""

    text: str
    segments: tuple[str, ...] = field(init=False, eq=False, repr=False)

    @segments.default
    def _split(self) -> tuple[str, ...]:
        return tuple(self.text.casefold().split(WILDCARD))

    @property
    def is_literal(self) -> bool:
        return len(self.segments) == 1

    def matches(self, name: str) -> bool:
        folded = name.casefold()
        if self.is_literal:
            return folded == self.segments[0]
        first, *middle, last = self.segments
        if len(folded) < len(first) + len(last) or not folded.startswith(first) or not folded.endswith(last):
            return False
        # Leftmost placement of each middle piece is optimal: it leaves the
        # most room for the rest, so no backtracking is ever needed.
        position, end = len(first), len(folded) - len(last)
        for piece in middle:
            found = folded.find(piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return True


@frozen
class TimeRange:
    """Inclusive bounds on created_timestamp; None means unbounded."""

    start: int | None = None
    end: int | None = None

    @classmethod
    def parse(cls, start: object = None, end: object = None) -> TimeRange:
        """Absent or 0 is unbounded; negative, non-integer or start > end is invalid."""
        lower = None if start is None else parse_int("start_timestamp", start, minimum=0) or None
        upper = None if end is None else parse_int("end_timestamp", end, minimum=0) or None
        if lower is not None and upper is not None and lower > upper:
            raise InvalidInput.of("start_timestamp", "must not be after end_timestamp")
        return cls(lower, upper)

    def contains(self, timestamp: int) -> bool:
        return (self.start is None or timestamp >= self.start) and (self.end is None or timestamp <= self.end)


def parse_terms(field_name: str, value: object) -> tuple[str, ...]:
    """Pipe-delimited terms, from one string or several (a repeated parameter).
    Empty segments are ignored; each term is trimmed and checked like a tag name."""
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, Iterable) or not all(isinstance(v, str) for v in values):
        raise InvalidInput.of(field_name, "must be text, pipe-delimited")
    terms: dict[str, None] = {}
    for text in values:
        for segment in text.split(SEARCH_DELIMITER):
            if segment.strip(WHITE_SPACE):
                terms[parse_tag_name(segment, field_name)] = None
    return tuple(terms)


@frozen
class ImageQuery:
    """Everything that narrows a list of images. All conditions must hold."""

    exact_tags: frozenset[str] = frozenset()
    patterns: tuple[TagPattern, ...] = ()
    time_range: TimeRange = TimeRange()
    uploaded_only: bool = False
    tag_id: int | None = None
    created_by: str | None = None

    @classmethod
    def parse(
        cls,
        *,
        start_timestamp: object = None,
        end_timestamp: object = None,
        uploaded_only: object = None,
        created_by: object = None,
    ) -> ImageQuery:
        """The filters every image list takes. `created_by` follows the rule
        for principals (absent or empty: any creator)."""
        return cls(
            time_range=TimeRange.parse(start_timestamp, end_timestamp),
            uploaded_only=False if uploaded_only is None else parse_flag("uploaded_only", uploaded_only),
            created_by=None if created_by is None or created_by == "" else parse_principal(created_by, "created_by"),
        )

    @classmethod
    def search(cls, *, exact_tags: object = None, match_tags: object = None, **filters: object) -> ImageQuery:
        """A tag search: at least one exact tag or match pattern is required."""
        exact = parse_terms("exact_tags", exact_tags)
        patterns = parse_terms("match_tags", match_tags)
        if not exact and not patterns:
            raise InvalidInput.of("exact_tags", "give at least one tag in exact_tags or match_tags")
        base = cls.parse(**filters)
        return cls(
            exact_tags=frozenset(exact),
            patterns=tuple(TagPattern(p) for p in patterns),
            time_range=base.time_range,
            uploaded_only=base.uploaded_only,
            created_by=base.created_by,
        )

    def matches(self, image: ImageRecord) -> bool:
        names = image.tag_names
        return (
            self.time_range.contains(image.created_timestamp)
            and (not self.uploaded_only or image.is_uploaded)
            and (self.created_by is None or image.created_by == self.created_by)
            and (self.tag_id is None or any(tag.id == self.tag_id for tag in image.tags))
            and self.exact_tags <= names
            and all(any(pattern.matches(name) for name in names) for pattern in self.patterns)
        )

    def select(self, images: Iterable[ImageRecord]) -> list[ImageRecord]:
        """Every matching image, newest first."""
        return sorted(filter(self.matches, images), key=lambda image: image.newest_first_key)
