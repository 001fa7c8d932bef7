"""Which images a search selects: conditions, combined with all, any and not.

A query is a tree of conditions. Each condition's `matches` is the meaning
of the search, written once: the search index must select exactly the
images these functions select (the property tests hold it to them), in the
order of `ImageRecord.newest_first_key`.

Queries are bounded, whoever builds them (HTTP parameters, the embedding
API): at most MAX_TERMS tag terms and MAX_CONDITIONS conditions in all. The
classes check their own invariants, so no adapter can receive an invalid one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Union

from attrs import field, frozen, validators

from tim.domain.model.errors import InvalidInput
from tim.domain.model.fields import INT64_MAX, parse_flag, parse_int
from tim.domain.model.images import ImageRecord, parse_principal
from tim.domain.model.patterns import TagPattern
from tim.domain.model.tags import SEARCH_DELIMITER, WHITE_SPACE, parse_tag_name, valid_tag_name

# All tag parameters of one search together (API-DECISIONS, "Rulings added").
MAX_TERMS = 64
# Every node of a query's tree: bounds what an embedder can build too.
MAX_CONDITIONS = 4 * MAX_TERMS


@frozen
class TimeRange:
    """Inclusive bounds on created_timestamp; None means unbounded."""

    start: int | None = field(default=None, validator=validators.optional(validators.ge(0)))
    end: int | None = field(default=None, validator=validators.optional(validators.ge(0)))

    def __attrs_post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise InvalidInput.of("start_timestamp", "must not be after end_timestamp")

    @classmethod
    def parse(cls, start: object = None, end: object = None) -> TimeRange:
        """Absent or 0 is unbounded; negative, non-integer or start > end is invalid."""
        lower = None if start is None else parse_int("start_timestamp", start, minimum=0) or None
        upper = None if end is None else parse_int("end_timestamp", end, minimum=0) or None
        return cls(lower, upper)

    @property
    def is_unbounded(self) -> bool:
        return self.start is None and self.end is None

    def contains(self, timestamp: int) -> bool:
        return (self.start is None or timestamp >= self.start) and (self.end is None or timestamp <= self.end)


# The conditions. Each knows whether an image meets it, and how many tag
# terms it holds (what MAX_TERMS counts).


@frozen
class HasTag:
    """The image carries the tag of exactly this name (case-sensitive)."""

    name: str = field(validator=valid_tag_name)
    terms = 1

    def matches(self, image: ImageRecord) -> bool:
        return self.name in image.tag_names


@frozen
class HasTagId:
    """The image carries the tag with this id (a tag's own image list)."""

    tag_id: int = field(validator=[validators.instance_of(int), validators.ge(1), validators.le(INT64_MAX)])
    terms = 0

    def matches(self, image: ImageRecord) -> bool:
        return any(tag.id == self.tag_id for tag in image.tags)


@frozen
class HasTagMatching:
    """Some tag of the image matches the pattern."""

    pattern: TagPattern = field(validator=validators.instance_of(TagPattern))
    terms = 1

    def matches(self, image: ImageRecord) -> bool:
        return any(self.pattern.matches(tag.name) for tag in image.tags)


@frozen
class Untagged:
    """The image carries no tag at all."""

    terms = 0

    def matches(self, image: ImageRecord) -> bool:
        return not image.tags


@frozen
class CreatedIn:
    time_range: TimeRange = field(validator=validators.instance_of(TimeRange))
    terms = 0

    def matches(self, image: ImageRecord) -> bool:
        return self.time_range.contains(image.created_timestamp)


@frozen
class Uploaded:
    """The image's file is stored (confirmed)."""

    terms = 0

    def matches(self, image: ImageRecord) -> bool:
        return image.is_uploaded


@frozen
class CreatedBy:
    principal: str = field()
    terms = 0

    @principal.validator
    def _check(self, attribute: object, value: object) -> None:
        if parse_principal(value) != value:
            raise InvalidInput.of("created_by", "must be a principal's name")

    def matches(self, image: ImageRecord) -> bool:
        return image.created_by == self.principal


def _conditions(instance: object, attribute: object, value: tuple) -> None:
    if not all(isinstance(item, CONDITION_TYPES) for item in value):
        raise InvalidInput.of("query", "holds something that is not a condition")


@frozen
class AllOf:
    """Every condition holds (none given: every image)."""

    conditions: tuple[Condition, ...] = field(default=(), converter=tuple, validator=_conditions)

    @property
    def terms(self) -> int:
        return sum(condition.terms for condition in self.conditions)

    def matches(self, image: ImageRecord) -> bool:
        return all(condition.matches(image) for condition in self.conditions)


@frozen
class AnyOf:
    """At least one condition holds."""

    conditions: tuple[Condition, ...] = field(converter=tuple, validator=[_conditions, validators.min_len(1)])

    @property
    def terms(self) -> int:
        return sum(condition.terms for condition in self.conditions)

    def matches(self, image: ImageRecord) -> bool:
        return any(condition.matches(image) for condition in self.conditions)


@frozen
class Not:
    condition: Condition = field()

    @condition.validator
    def _check(self, attribute: object, value: object) -> None:
        _conditions(self, attribute, (value,))

    @property
    def terms(self) -> int:
        return self.condition.terms

    def matches(self, image: ImageRecord) -> bool:
        return not self.condition.matches(image)


Condition = Union[HasTag, HasTagId, HasTagMatching, Untagged, CreatedIn, Uploaded, CreatedBy, AllOf, AnyOf, Not]
CONDITION_TYPES = (HasTag, HasTagId, HasTagMatching, Untagged, CreatedIn, Uploaded, CreatedBy, AllOf, AnyOf, Not)
EVERY_IMAGE = AllOf()


def walk(condition: Condition) -> Iterator[Condition]:
    """The condition and every condition inside it."""
    yield condition
    if isinstance(condition, (AllOf, AnyOf)):
        for inner in condition.conditions:
            yield from walk(inner)
    elif isinstance(condition, Not):
        yield from walk(condition.condition)


def resolved(condition: Condition, meaning: Callable[[str], str]) -> Condition:
    """The condition with each exact tag name replaced by the name it means
    (`meaning`): an alias means the tag it resolves to. Patterns match tag
    names only. The same condition when no name changes."""
    if isinstance(condition, HasTag):
        name = meaning(condition.name)
        return condition if name == condition.name else HasTag(name)
    if isinstance(condition, (AllOf, AnyOf)):
        inner = tuple(resolved(c, meaning) for c in condition.conditions)
        return condition if all(a is b for a, b in zip(inner, condition.conditions)) else type(condition)(inner)
    if isinstance(condition, Not):
        inner_condition = resolved(condition.condition, meaning)
        return condition if inner_condition is condition.condition else Not(inner_condition)
    return condition


def _bounded(instance: object, attribute: object, condition: Condition) -> None:
    _conditions(instance, attribute, (condition,))
    if condition.terms > MAX_TERMS:
        raise InvalidInput.of("search", f"at most {MAX_TERMS} search terms in one search (all tag parameters together)")
    if sum(1 for _ in walk(condition)) > MAX_CONDITIONS:
        raise InvalidInput.of("search", f"at most {MAX_CONDITIONS} conditions in one search")


@frozen
class ImageQuery:
    """Which images a list or search returns. They come newest first."""

    where: Condition = field(default=EVERY_IMAGE, validator=_bounded)

    @classmethod
    def of(cls, *conditions: Condition) -> ImageQuery:
        """Every condition must hold."""
        return cls(conditions[0] if len(conditions) == 1 else AllOf(conditions))

    @classmethod
    def parse(
        cls,
        *,
        start_timestamp: object = None,
        end_timestamp: object = None,
        uploaded_only: object = None,
        created_by: object = None,
        also: Iterable[Condition] = (),
    ) -> ImageQuery:
        """The filters every image list takes, as given (text or values), and
        `also` any further conditions. `created_by` absent or empty: any creator."""
        return cls.of(*also, *filters(start_timestamp, end_timestamp, uploaded_only, created_by))

    @classmethod
    def search(
        cls,
        *,
        exact_tags: object = None,
        match_tags: object = None,
        any_tags: object = None,
        exclude_tags: object = None,
        exclude_match_tags: object = None,
        untagged: object = None,
        require_tags: bool = True,
        **filters: object,
    ) -> ImageQuery:
        """A tag search (see API-EXTENSIONS §1). Each tag parameter may be
        pipe-delimited text, or several (a repeated parameter). Unless
        `require_tags` is False, at least one of them must say something."""
        terms = SearchTerms.parse(
            exact_tags=exact_tags,
            match_tags=match_tags,
            any_tags=any_tags,
            exclude_tags=exclude_tags,
            exclude_match_tags=exclude_match_tags,
        )
        wants_untagged = untagged is not None and parse_flag("untagged", untagged)
        conditions = terms.conditions() + ([Untagged()] if wants_untagged else [])
        if require_tags and not conditions:
            raise InvalidInput.of(
                "exact_tags",
                "give at least one tag in exact_tags, match_tags, any_tags, exclude_tags or"
                " exclude_match_tags, or untagged=true",
            )
        return cls.parse(also=conditions, **filters)

    @property
    def terms(self) -> int:
        return self.where.terms

    @property
    def scope(self) -> str:
        """What a cursor into this query's results is bound to."""
        return f"images {self.where!r}"

    def resolved(self, meaning: Callable[[str], str]) -> ImageQuery:
        """This query as the catalogue's aliases make it (see `resolved`)."""
        where = resolved(self.where, meaning)
        return self if where is self.where else ImageQuery(where)

    def matches(self, image: ImageRecord) -> bool:
        return self.where.matches(image)

    def select(self, images: Iterable[ImageRecord]) -> list[ImageRecord]:
        """Every matching image, newest first: the reference every index is held to."""
        return sorted(filter(self.matches, images), key=lambda image: image.newest_first_key)


def filters(start: object, end: object, uploaded_only: object, created_by: object) -> list[Condition]:
    """The conditions of the filters that every image list takes."""
    conditions: list[Condition] = []
    time_range = TimeRange.parse(start, end)
    if not time_range.is_unbounded:
        conditions.append(CreatedIn(time_range))
    if uploaded_only is not None and parse_flag("uploaded_only", uploaded_only):
        conditions.append(Uploaded())
    if created_by is not None and created_by != "":
        conditions.append(CreatedBy(parse_principal(created_by, "created_by")))
    return conditions


@frozen
class SearchTerms:
    """The tag parameters of a search, checked and counted together."""

    exact_tags: tuple[str, ...] = ()
    match_tags: tuple[str, ...] = ()
    any_tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    exclude_match_tags: tuple[str, ...] = ()

    @classmethod
    def parse(cls, **given: object) -> SearchTerms:
        """Each parameter from pipe-delimited text (or several texts). The
        limit is checked before any term is, so that a flood of terms costs
        no more than counting them."""
        raw = {name: _segments(name, value) for name, value in given.items()}
        total = 0
        for name, segments in raw.items():
            total += len(segments)
            if total > MAX_TERMS:
                raise InvalidInput.of(
                    name, f"at most {MAX_TERMS} search terms in one search (all tag parameters together)"
                )
        return cls(**{name: _unique(parse_tag_name(segment, name) for segment in segments) for name, segments in raw.items()})

    def conditions(self) -> list[Condition]:
        found: list[Condition] = [HasTag(name) for name in self.exact_tags]
        found += [HasTagMatching(TagPattern(text)) for text in self.match_tags]
        if self.any_tags:
            found.append(AnyOf(HasTag(name) for name in self.any_tags))
        found += [Not(HasTag(name)) for name in self.exclude_tags]
        found += [Not(HasTagMatching(TagPattern(text))) for text in self.exclude_match_tags]
        return found


def _segments(field_name: str, value: object) -> list[str]:
    """The non-empty segments of pipe-delimited text, from one string or several."""
    if value is None:
        return []
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, Iterable) or not all(isinstance(v, str) for v in values):
        raise InvalidInput.of(field_name, "must be text, pipe-delimited")
    return [segment for text in values for segment in text.split(SEARCH_DELIMITER) if segment.strip(WHITE_SPACE)]


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def parse_terms(field_name: str, value: object) -> tuple[str, ...]:
    """One tag parameter: pipe-delimited terms, each checked like a tag name."""
    return getattr(SearchTerms.parse(**{field_name: value}), field_name)
