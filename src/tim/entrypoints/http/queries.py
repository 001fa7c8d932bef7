"""Parameters in the URL: every operation declares the query parameters it
takes (api.py), and a request naming any other is refused with 400 before
the operation runs (as unknown JSON fields are), so that a typo such as
`exact_tag=` can never return an unfiltered list. Each declaration also
says what the OpenAPI document tells about the parameter.

The values go to the use cases as the raw strings they arrived as: the
domain parses and checks them (and names the field at fault).
"""

from __future__ import annotations

from typing import Any

from attrs import frozen
from starlette.datastructures import QueryParams
from starlette.requests import Request

from tim.domain.model.cursors import MAX_CURSOR_LENGTH
from tim.domain.model.errors import FieldProblem, InvalidInput
from tim.domain.model.paging import MAX_PAGE_SIZE
from tim.domain.model.search import MAX_TERMS
from tim.entrypoints.http import schemas
from tim.entrypoints.http.bodies import MAX_PROBLEMS, printable
from tim.entrypoints.http.schemas import Schema

_READ = "tim.query"


@frozen
class Parameter:
    """One parameter: its schema and what it means. A `repeated` one is a
    list: each value given is pipe-delimited terms, and it may be given
    several times; any other may be given once."""

    name: str
    schema: Schema
    description: str
    repeated: bool = False
    required: bool = False
    where: str = "query"  # or "path", or "header"


@frozen
class Parameters:
    """The query parameters one operation takes."""

    each: tuple[Parameter, ...] = ()

    def plus(self, *more: Parameter) -> Parameters:
        return Parameters(self.each + more)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(parameter.name for parameter in self.each)

    def read(self, query: QueryParams) -> dict[str, Any]:
        """Every declared parameter's value (None, or [] for a repeated one,
        when absent). Raises InvalidInput naming each unknown parameter, or
        one not `repeated` given more than once (rather than letting one of
        its values silently win)."""
        known = self.names
        unknown = [
            FieldProblem(printable(name), "is not a parameter of this route") for name in query if name not in known
        ]
        if len(unknown) > MAX_PROBLEMS:  # thousands of them get an answer of a readable size
            more = len(unknown) - MAX_PROBLEMS
            unknown[MAX_PROBLEMS:] = [FieldProblem("query", f"and {more} more unknown parameters")]
        if unknown:
            raise InvalidInput(unknown)
        values: dict[str, Any] = {}
        for parameter in self.each:
            given = query.getlist(parameter.name)
            if parameter.repeated:
                values[parameter.name] = given
            elif len(given) > 1:
                raise InvalidInput.of(parameter.name, "must be given once")
            else:
                values[parameter.name] = given[0] if given else None
        return values


def query(request: Request) -> dict[str, Any]:
    """The values of the query parameters the operation declared, as the
    dispatch (operations.py) read them."""
    return request.scope[_READ]


def remember(request: Request, values: dict[str, Any]) -> None:
    request.scope[_READ] = values


def _terms(name: str, what: str) -> Parameter:
    return Parameter(
        name,
        {"type": "array", "items": schemas.tag_terms},
        f"{what}; pipe-delimited, and the parameter may be repeated. At most {MAX_TERMS} "
        "terms in all the tag parameters together",
        repeated=True,
    )


NONE = Parameters()
PAGING = Parameters(
    (
        Parameter("page", schemas.PAGE_NUMBER | {"default": 0}, "Result page to return, 0 indexed"),
        Parameter("limit", schemas.PAGE_SIZE | {"default": MAX_PAGE_SIZE}, "How many items to return at one time"),
    )
)
CURSOR = Parameter(
    "cursor",
    {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR_LENGTH, "pattern": "^[A-Za-z0-9_-]+$"},
    "Where the page starts: a previous page's meta.next_cursor, with the same filters; not with page",
)
IMAGE_FILTERS = Parameters(
    (
        Parameter(
            "start_timestamp",
            schemas.TIMESTAMP,
            "Records created on or after this time, in seconds since the epoch (0: unbounded); "
            "not after end_timestamp",
        ),
        Parameter(
            "end_timestamp",
            schemas.TIMESTAMP,
            "Records created on or before this time, in seconds since the epoch (0: unbounded)",
        ),
        Parameter("uploaded_only", schemas.FLAG, "Only records whose file is stored: true, false, 1 or 0 (any case)"),
        Parameter(
            "created_by",
            schemas.principal_filter,
            "Only records created by this principal (exact match; empty: everyone)",
        ),
    )
)
IMAGE_LIST = PAGING.plus(*IMAGE_FILTERS.each, CURSOR)
ALL_IMAGES = IMAGE_LIST.plus(
    Parameter(
        "sha256",
        schemas.SHA256,
        "Only records of the file with this SHA-256 (its duplicates), and pending uploads that declared it "
        "(uploaded_only=true leaves those out)",
    )
)
PREVIEW = Parameters(
    (Parameter("size", {"type": "integer", "minimum": 64, "maximum": 1024, "default": 256}, "The largest width and height of the preview, in pixels"),)
)
SEARCH_TERMS = (
    _terms("exact_tags", "Tags the image must all carry (case-sensitive; an alias means its tag)"),
    _terms(
        "match_tags",
        "Patterns that each must match one of the image's tags, case-insensitive, `%` as wildcard "
        "(any other character stands for itself)",
    ),
    _terms("any_tags", "Tags of which the image carries at least one (OR)"),
    _terms("exclude_tags", "Tags the image carries none of (NOT)"),
    _terms("exclude_match_tags", "Patterns that none of the image's tags matches"),
    Parameter("untagged", schemas.FLAG, "Only images that carry no tag at all: true, false, 1 or 0"),
)
IMAGE_SEARCH = IMAGE_LIST.plus(*SEARCH_TERMS)
IMAGE_EXPORT = IMAGE_FILTERS.plus(*SEARCH_TERMS)
TAG_LIST = PAGING.plus(
    Parameter(
        "prefix",
        schemas.TAG_PREFIX,
        "Only tags whose case-folded name starts with the case-folded prefix, most used first",
    )
)
HISTORY = Parameters(
    (
        Parameter("since", schemas.TIMESTAMP, "Only events at or after this time, in seconds since the epoch"),
        Parameter("by", schemas.principal_filter, "Only events made by this principal (empty: everyone)"),
        Parameter("image_id", schemas.ID, "Only events of this image"),
        PAGING.each[1],
        CURSOR,
    )
)
# What tim's own signed blob URLs carry; the signature check decides what
# each method needs (a GET URL with a `length` is a tampered one: 403).
_SIGNATURE = (
    Parameter("expires", schemas.TIMESTAMP, "Part of the signature: when the URL expires", required=True),
    Parameter(
        "signature",
        {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "HMAC-SHA256 signature of the URL",
        required=True,
    ),
)
SIGNED_DOWNLOAD = Parameters(_SIGNATURE).plus(
    Parameter("length", schemas.COUNT, "Only in upload URLs: a download URL that has one is refused (403)")
)
SIGNED_UPLOAD = Parameters(_SIGNATURE).plus(
    Parameter("length", schemas.COUNT, "Part of the signature: the body's length", required=True)
)

# The parameters in paths, by the name their templates give them.
PATH = {
    name: Parameter(name, schema, description, required=True, where="path")
    for name, schema, description in [
        ("image_id", schemas.ID, "The image's id (any other text names no image: 404)"),
        ("tag_id", schemas.ID, "The tag's id (any other text names no tag: 404)"),
        ("key", {"type": "string", "pattern": "^[0-9a-f]{32}$"}, "The stored object, chosen by tim"),
        ("name", {"type": "string", "minLength": 1}, "The alias (any text that is no alias of the tag: 404)"),
    ]
}
