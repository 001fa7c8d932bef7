"""Hooks for the schemathesis run (test_http_schemathesis.py): the rules
that join two query parameters, which the OpenAPI document can state only
in words. A generated request that breaks one is no valid request, however
valid each parameter is alone, so it is not sent (tim answers such
requests with 400, as tests/inprocess/test_unhappy_paths.py checks)."""

import schemathesis

from tim.domain.model.fields import WHITE_SPACE
from tim.domain.model.search import MAX_TERMS
from tim.domain.model.tags import SEARCH_DELIMITER

TAG_PARAMETERS = ("exact_tags", "match_tags")


@schemathesis.hook
def filter_case(context, case) -> bool:
    query = case.query or {}
    return starts_after_it_ends(query) is not True and (
        case.operation.path != "/search/images" or 1 <= search_terms(query) <= MAX_TERMS
    )


def starts_after_it_ends(query) -> bool | None:
    """Whether both bounds are set (0 is unset) and the start is the later;
    None when either is no integer (then the request is invalid anyway)."""
    start, end = query.get("start_timestamp"), query.get("end_timestamp")
    try:
        start, end = int(start or 0), int(end or 0)
    except (TypeError, ValueError):
        return None
    return bool(start and end and start > end)


def search_terms(query) -> int:
    """The tag terms of a search: the non-empty segments of every tag parameter."""
    count = 0
    for name in TAG_PARAMETERS:
        values = query.get(name) or []
        for value in values if isinstance(values, list) else [values]:
            count += sum(1 for segment in str(value).split(SEARCH_DELIMITER) if segment.strip(WHITE_SPACE))
    return count
