"""Image searches as SQL: the domain's ImageQuery translated, never restated.

Every value travels as a parameter; the fragments joined here are constants.
The contract suite holds the results to ImageQuery.select, and the index
tests EXPLAIN these very statements.
"""

from __future__ import annotations

from attrs import frozen

from tim.domain.model.paging import PageRequest
from tim.domain.model.search import ImageQuery, TagPattern

IMAGE_COLUMNS = "i.id, i.filename, i.size, i.created_by, i.created_timestamp, i.blob_key, i.uploaded_timestamp"
NEWEST_FIRST = "i.created_timestamp DESC, i.id DESC"

_HAS_TAG = "EXISTS (SELECT 1 FROM image_tags it WHERE it.image_id = i.id AND it.tag_id = %s)"
_HAS_NAMED_TAG = (
    "EXISTS (SELECT 1 FROM image_tags it JOIN tags t ON t.id = it.tag_id WHERE it.image_id = i.id AND {})"
)
_EXACT_NAME = _HAS_NAMED_TAG.format("t.name = %s")
_FOLDED_NAME = _HAS_NAMED_TAG.format("t.folded_name = %s")
_FOLDED_LIKE = _HAS_NAMED_TAG.format("t.folded_name LIKE %s ESCAPE '\\'")


# OFFSET takes a bigint; page numbers are not bounded, but no table holds
# this many rows, so a larger offset gives the same empty page.
_MAX_OFFSET = 2**63 - 1


def limit_and_offset(page: PageRequest) -> tuple[int, int]:
    return page.limit, min(page.offset, _MAX_OFFSET)


@frozen
class Statement:
    sql: str
    params: tuple[object, ...]


def like_pattern(pattern: TagPattern) -> str:
    """The pattern's case-folded segments as a LIKE pattern (escape `\\`): only
    the domain's wildcard between segments, every `_`, `%` and `\\` literal."""
    return "%".join(_escape_like(segment) for segment in pattern.segments)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _where(query: ImageQuery) -> tuple[str, list[object]]:
    conditions: list[str] = []
    params: list[object] = []

    def require(condition: str, *values: object) -> None:
        conditions.append(condition)
        params.extend(values)

    if query.time_range.start is not None:
        require("i.created_timestamp >= %s", query.time_range.start)
    if query.time_range.end is not None:
        require("i.created_timestamp <= %s", query.time_range.end)
    if query.uploaded_only:
        require("i.uploaded_timestamp IS NOT NULL")
    if query.created_by is not None:
        require("i.created_by = %s", query.created_by)
    if query.tag_id is not None:
        require(_HAS_TAG, query.tag_id)
    for name in sorted(query.exact_tags):
        require(_EXACT_NAME, name)
    for pattern in query.patterns:
        if pattern.is_literal:
            require(_FOLDED_NAME, pattern.segments[0])
        else:
            require(_FOLDED_LIKE, like_pattern(pattern))
    return " AND ".join(conditions) or "TRUE", params


def count_images(query: ImageQuery) -> Statement:
    where, params = _where(query)
    return Statement(f"SELECT count(*) FROM images i WHERE {where}", tuple(params))


def page_of_images(query: ImageQuery, page: PageRequest) -> Statement:
    where, params = _where(query)
    return Statement(
        f"SELECT {IMAGE_COLUMNS} FROM images i WHERE {where} ORDER BY {NEWEST_FIRST} LIMIT %s OFFSET %s",
        (*params, *limit_and_offset(page)),
    )
