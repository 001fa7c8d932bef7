"""Hooks for the schemathesis run (test_http_schemathesis.py): the rules
that join two parameters, which the OpenAPI document can state only in
words. A generated request that breaks one is no valid request, however
valid each parameter is alone, so it is not sent (tim answers such
requests with 400, as the in-process tests check). The domain's own
parsers decide, so these rules cannot drift from what tim enforces."""

import schemathesis

from tim.domain.model.edits import TagEdit
from tim.domain.model.errors import InvalidInput
from tim.domain.model.search import ImageQuery

# Image lists whose query the domain parses as a whole, and whether it must name a tag.
SEARCHES = {"/search/images": True, "/export/images": False, "/images": False, "/tags/{tag_id}/images": False}
# What ImageQuery.search reads; any other parameter is the route's own (or unknown: 400).
QUERY_TERMS = ("exact_tags", "match_tags", "any_tags", "exclude_tags", "exclude_match_tags", "untagged",
               "start_timestamp", "end_timestamp", "uploaded_only", "created_by")  # fmt: skip
TAG_EDITS = {("PATCH", "/images/{image_id}/tags"), ("POST", "/images/tags")}


@schemathesis.hook
def filter_case(context, case) -> bool:
    query = dict(case.query or {})
    path, method = case.operation.path, case.method.upper()
    if "cursor" in query:
        return False  # only a page's next_cursor is one; any other is tampered with (400)
    if path in SEARCHES:
        terms = {name: value for name, value in query.items() if name in QUERY_TERMS}
        return accepted(ImageQuery.search, require_tags=SEARCHES[path], **terms)
    if (method, path) in TAG_EDITS and isinstance(case.body, dict):
        return accepted(TagEdit.parse, case.body.get("add"), case.body.get("remove"))
    if path == "/tags/{tag_id}/merge" and isinstance(case.body, dict):
        return str(case.body.get("into")) != str((case.path_parameters or {}).get("tag_id"))
    return True


def accepted(parse, *arguments, **keywords) -> bool:
    try:
        parse(*arguments, **keywords)
    except InvalidInput:
        return False
    return True
