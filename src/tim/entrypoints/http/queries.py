"""Query-string parameters, handed to the use cases as the raw strings they
arrived as: the domain parses and checks them (and names the field at fault)."""

from __future__ import annotations

from starlette.datastructures import QueryParams

from tim.domain.model.errors import InvalidInput

PAGING = ("page", "limit")
IMAGE_FILTERS = ("start_timestamp", "end_timestamp", "uploaded_only", "created_by")


def paging(query: QueryParams) -> dict[str, str | None]:
    return _once(query, PAGING)


def image_filters(query: QueryParams) -> dict[str, str | None]:
    """Paging plus the filters of every image list."""
    return _once(query, PAGING + IMAGE_FILTERS)


def search_terms(query: QueryParams) -> dict[str, list[str]]:
    """Each may be pipe-delimited and may also be repeated."""
    return {"exact_tags": query.getlist("exact_tags"), "match_tags": query.getlist("match_tags")}


def _once(query: QueryParams, names: tuple[str, ...]) -> dict[str, str | None]:
    """Each parameter's value; one given twice is refused rather than
    letting one of its values silently win."""
    repeated = [name for name in names if len(query.getlist(name)) > 1]
    if repeated:
        raise InvalidInput.of(repeated[0], "must be given once")
    return {name: query.get(name) for name in names}
