"""Query-string parameters, handed to the use cases as the raw strings they
arrived as: the domain parses and checks them (and names the field at fault)."""

from __future__ import annotations

from starlette.datastructures import QueryParams


def paging(query: QueryParams) -> dict[str, str | None]:
    return {"page": query.get("page"), "limit": query.get("limit")}


def image_filters(query: QueryParams) -> dict[str, str | None]:
    """Paging plus the filters of every image list."""
    return paging(query) | {
        "start_timestamp": query.get("start_timestamp"),
        "end_timestamp": query.get("end_timestamp"),
        "uploaded_only": query.get("uploaded_only"),
        "created_by": query.get("created_by"),
    }


def search_terms(query: QueryParams) -> dict[str, list[str]]:
    """Each may be pipe-delimited and may also be repeated."""
    return {"exact_tags": query.getlist("exact_tags"), "match_tags": query.getlist("match_tags")}
