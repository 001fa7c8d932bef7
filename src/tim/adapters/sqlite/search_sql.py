"""ImageQuery (the domain's search rules) translated to SQLite SQL.

Only constant SQL text with `?` placeholders is built here; every value taken
from a query travels as a parameter. The contract tests hold the results to
ImageQuery.select, so the two cannot drift apart unnoticed.

A search runs in one read transaction. First the tags an image must carry
(the query's tag_id and exact tags) are looked up: if one does not exist,
nothing can match. Then, newest first with ties by id:
- with required tags, from the entries of the one with the fewest images in
  image_tags_newest, already in that order; every other condition is checked
  on each entry. A tag's unfiltered list takes its total from tags.image_count.
- otherwise from the images table, through an index on created_timestamp.
  Match patterns add the images carrying a matching tag (SQLite may start
  from those), and such a page is sorted from all matches, unless the
  matches are many: then the repository first walks down the newest images,
  checking each, and stops when the page is full (see walk_budget).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from attrs import evolve, frozen

from tim.domain.model.search import ImageQuery, TagPattern

IMAGE_COLUMNS = "i.id, i.filename, i.size, i.created_by, i.created_timestamp, i.blob_key, i.uploaded_timestamp"
NEWEST_IMAGES = "i.created_timestamp DESC, i.id DESC"
LIKE_ESCAPE = "\\"


def like_pattern(pattern: TagPattern) -> str:
    """A LIKE pattern (with ESCAPE '\\') for the case-folded names `pattern`
    matches: LIKE's `%` between its literal segments, every other character
    escaped if LIKE would read it as special."""
    return "%".join(_escape_like(segment) for segment in pattern.segments)


def _escape_like(text: str) -> str:
    for special in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(special, LIKE_ESCAPE + special)
    return text


def placeholders(count: int) -> str:
    return ", ".join(["?"] * count)


# Step 1: the required tags


def required_tags(query: ImageQuery) -> tuple[str, tuple[object, ...]] | None:
    """SQL for rows (id, name, image_count) of the tags every match must
    carry; None if the query requires none."""
    names = sorted(query.exact_tags)
    if query.tag_id is None and not names:
        return None
    return (
        f"SELECT id, name, image_count FROM tags WHERE id = ? OR name IN ({placeholders(len(names))})",
        (query.tag_id, *names),
    )


@frozen
class RequiredTag:
    id: int
    image_count: int


def fewest_images_first(query: ImageQuery, rows: Iterable[tuple[int, str, int]]) -> list[RequiredTag] | None:
    """The required tags from `required_tags` rows, the one with the fewest
    images first; None if one of them does not exist."""
    rows = list(rows)
    found_ids = {tag_id for tag_id, _, _ in rows}
    found_names = {name for _, name, _ in rows}
    if (query.tag_id is not None and query.tag_id not in found_ids) or not query.exact_tags <= found_names:
        return None
    return sorted((RequiredTag(tag_id, count) for tag_id, _, count in rows), key=lambda tag: (tag.image_count, tag.id))


# Step 2: the images


@frozen
class Condition:
    sql: str
    params: tuple[object, ...] = ()
    # Whether it reads columns of `images` (the tag-led shape joins it only then)
    reads_images: bool = False


def _where(conditions: Sequence[Condition]) -> tuple[str, tuple[object, ...]]:
    if not conditions:
        return "", ()
    sql = " WHERE " + " AND ".join(condition.sql for condition in conditions)
    return sql, tuple(param for condition in conditions for param in condition.params)


@frozen
class ImageSearch:
    """One ImageQuery as SQL: how to count its matches and fetch a page."""

    count_sql: str
    count_params: tuple[object, ...]
    page_sql: str  # ends in LIMIT ? OFFSET ?
    page_params: tuple[object, ...]
    # The number of matches when it is known without counting them
    known_total: int | None = None
    # For pattern searches: the conditions on the images themselves, and the
    # pattern checks, to walk through the newest images (see walk_budget)
    walk_filters: tuple[Condition, ...] | None = None
    walk_checks: tuple[Condition, ...] = ()

    def count(self) -> tuple[str, tuple[object, ...]]:
        return self.count_sql, self.count_params

    def page(self, limit: int, offset: int) -> tuple[str, tuple[object, ...]]:
        return self.page_sql, (*self.page_params, limit, offset)

    def walk_start(self, budget: int) -> tuple[str, tuple[object, ...]]:
        """The created_timestamp of the `budget`-th newest image (no row if
        there are fewer)."""
        where, params = _where(self.walk_filters or ())
        return f"SELECT i.created_timestamp FROM images i{where} ORDER BY {NEWEST_IMAGES} LIMIT 1 OFFSET ?", (*params, budget - 1)

    def walk(self, limit: int, offset: int, start: int | None) -> tuple[str, tuple[object, ...]]:
        """A page from the images created at `start` or later, in order: SQLite
        stops as soon as it has the page, and never looks past `start`."""
        since = [] if start is None else [Condition("i.created_timestamp >= ?", (start,))]
        where, params = _where([*(self.walk_filters or ()), *since, *self.walk_checks])
        return f"SELECT {IMAGE_COLUMNS} FROM images i{where} ORDER BY {NEWEST_IMAGES} LIMIT ? OFFSET ?", (*params, limit, offset)


def image_search(query: ImageQuery, required: Sequence[RequiredTag] = ()) -> ImageSearch:
    """`required`: what fewest_images_first returned (empty if the query
    requires no tag)."""
    if not required:
        return _from_images(query)
    lead, *others = required
    conditions = [
        Condition("d.tag_id = ?", (lead.id,)),
        *_time_range(query, "d.created_timestamp"),
        *_image_filters(query),
        *(_has_tag(tag.id) for tag in others),
        *(_has_tag_matching(pattern, "d.image_id") for pattern in query.patterns),
    ]
    where, params = _where(conditions)
    images = " JOIN images i ON i.id = d.image_id"
    reads_images = any(condition.reads_images for condition in conditions)
    return ImageSearch(
        count_sql=f"SELECT COUNT(*) FROM image_tags d{images if reads_images else ''}{where}",
        count_params=params,
        page_sql=f"SELECT {IMAGE_COLUMNS} FROM image_tags d{images}{where}"
        " ORDER BY d.created_timestamp DESC, d.image_id DESC LIMIT ? OFFSET ?",
        page_params=params,
        # Only the tag itself (a tag's images, unfiltered): its count is kept.
        known_total=lead.image_count if len(conditions) == 1 else None,
    )


def _from_images(query: ImageQuery) -> ImageSearch:
    filters = [*_time_range(query, "i.created_timestamp"), *_image_filters(query)]
    where, params = _where([*filters, *(_among_images_matching(pattern) for pattern in query.patterns)])
    search = ImageSearch(
        count_sql=f"SELECT COUNT(*) FROM images i{where}",
        count_params=params,
        page_sql=f"SELECT {IMAGE_COLUMNS} FROM images i{where} ORDER BY {NEWEST_IMAGES} LIMIT ? OFFSET ?",
        page_params=params,
    )
    if not query.patterns:
        return search
    if len(query.patterns) == 1 and not any(condition.reads_images for condition in filters):
        # Counted from the links alone (they carry created_timestamp too).
        match = _name_matches(query.patterns[0])
        where, params = _where([match, *_time_range(query, "x.created_timestamp")])
        search = evolve(
            search,
            count_sql=f"SELECT COUNT(DISTINCT x.image_id) FROM tags t CROSS JOIN image_tags x ON x.tag_id = t.id{where}",
            count_params=params,
        )
    return evolve(
        search,
        walk_filters=tuple(filters),
        walk_checks=tuple(_has_tag_matching(pattern, "i.id") for pattern in query.patterns),
    )


def walk_budget(offset: int, limit: int, total: int, images: int) -> int | None:
    """How many of the newest images a pattern search may walk through for a
    page before it sorts all its matches instead; None: do not walk.

    Sorting costs about `total` steps. If the matches are spread evenly among
    (at most) `images` images, the walk needs about (offset + limit) * images
    / total of them, so it is worth trying when that is well below `total`;
    the budget caps what an uneven spread (all matches old) can waste."""
    if total == 0 or (offset + limit) * images > total * total // 2:
        return None
    return total


def _time_range(query: ImageQuery, column: str) -> list[Condition]:
    conditions = []
    if query.time_range.start is not None:
        conditions.append(Condition(f"{column} >= ?", (query.time_range.start,)))
    if query.time_range.end is not None:
        conditions.append(Condition(f"{column} <= ?", (query.time_range.end,)))
    return conditions


def _image_filters(query: ImageQuery) -> list[Condition]:
    conditions = []
    if query.uploaded_only:
        # Spelled as in images_uploaded_newest's WHERE, so that index applies.
        conditions.append(Condition("i.uploaded_timestamp IS NOT NULL", reads_images=True))
    if query.created_by is not None:
        conditions.append(Condition("i.created_by = ?", (query.created_by,), reads_images=True))
    return conditions


def _name_matches(pattern: TagPattern) -> Condition:
    if pattern.is_literal:
        return Condition("t.folded = ?", (pattern.segments[0],))
    return Condition(f"t.folded LIKE ? ESCAPE '{LIKE_ESCAPE}'", (like_pattern(pattern),))


# CROSS JOIN fixes SQLite's join order (its documented way to do so), so
# these plans do not depend on table statistics that a fresh file lacks.


def _has_tag(tag_id: int) -> Condition:
    return Condition("EXISTS (SELECT 1 FROM image_tags x WHERE x.image_id = d.image_id AND x.tag_id = ?)", (tag_id,))


def _has_tag_matching(pattern: TagPattern, image_id: str) -> Condition:
    # The image's few links first, then their tags: never all tags a pattern matches.
    match = _name_matches(pattern)
    sql = (
        "EXISTS (SELECT 1 FROM image_tags x CROSS JOIN tags t ON t.id = x.tag_id"
        f" WHERE x.image_id = {image_id} AND {match.sql})"
    )
    return Condition(sql, match.params)


def _among_images_matching(pattern: TagPattern) -> Condition:
    # IN rather than EXISTS lets SQLite start from the matching tags' images;
    # tags first, since there are far fewer of them than links.
    match = _name_matches(pattern)
    sql = f"i.id IN (SELECT x.image_id FROM tags t CROSS JOIN image_tags x ON x.tag_id = t.id WHERE {match.sql})"
    return Condition(sql, match.params)
