"""Query-string parameters: every endpoint declares, per method, the ones
it takes, and a request naming any other is refused with 400 before the
endpoint runs (as unknown JSON fields are), so that a typo such as
`exact_tag=` can never return an unfiltered list.

The values go to the use cases as the raw strings they arrived as: the
domain parses and checks them (and names the field at fault).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from attrs import frozen
from starlette.datastructures import QueryParams
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request

from tim.domain.model.errors import FieldProblem, InvalidInput
from tim.entrypoints.http.bodies import MAX_PROBLEMS, printable

_READ = "tim.query"


@frozen
class Parameters:
    """The query parameters one method takes: each of `single` at most once;
    `lists` (pipe-delimited terms) may also be repeated."""

    single: tuple[str, ...] = ()
    lists: tuple[str, ...] = ()

    def plus(self, *, single: tuple[str, ...] = (), lists: tuple[str, ...] = ()) -> Parameters:
        return Parameters(self.single + single, self.lists + lists)

    def read(self, query: QueryParams) -> dict[str, str | list[str] | None]:
        """Every declared parameter's value (None, or [] for a list, when
        absent). Raises InvalidInput naming each unknown parameter, or one
        of `single` given more than once (rather than letting one of its
        values silently win)."""
        known = {*self.single, *self.lists}
        unknown = [
            FieldProblem(printable(name), "is not a parameter of this route") for name in query if name not in known
        ]
        if len(unknown) > MAX_PROBLEMS:  # thousands of them get an answer of a readable size
            more = len(unknown) - MAX_PROBLEMS
            unknown[MAX_PROBLEMS:] = [FieldProblem("query", f"and {more} more unknown parameters")]
        if unknown:
            raise InvalidInput(unknown)
        repeated = [name for name in self.single if len(query.getlist(name)) > 1]
        if repeated:
            raise InvalidInput.of(repeated[0], "must be given once")
        return {name: query.get(name) for name in self.single} | {name: query.getlist(name) for name in self.lists}


NONE = Parameters()
PAGING = Parameters(single=("page", "limit"))
IMAGE_FILTERS = Parameters(single=("start_timestamp", "end_timestamp", "uploaded_only", "created_by"))
IMAGE_LIST = PAGING.plus(single=IMAGE_FILTERS.single + ("cursor",))
SEARCH_TERMS = Parameters(
    single=("untagged",), lists=("exact_tags", "match_tags", "any_tags", "exclude_tags", "exclude_match_tags")
)
IMAGE_SEARCH = IMAGE_LIST.plus(single=SEARCH_TERMS.single, lists=SEARCH_TERMS.lists)
IMAGE_EXPORT = IMAGE_FILTERS.plus(single=SEARCH_TERMS.single, lists=SEARCH_TERMS.lists)
TAG_LIST = PAGING.plus(single=("prefix",))
HISTORY = Parameters(single=("since", "by", "image_id", "limit", "cursor"))
# What tim's own signed blob URLs carry; the signature check decides what
# each method needs (a GET URL with a `length` is a tampered one: 403).
SIGNED_URL = Parameters(single=("expires", "length", "signature"))


class Endpoint(HTTPEndpoint):
    """The base of every tim endpoint: `parameters` maps a method ("get",
    "put"...) to the query parameters it takes; a method not listed takes
    none."""

    parameters: ClassVar[Mapping[str, Parameters]] = {}

    async def dispatch(self) -> None:
        request = Request(self.scope, receive=self.receive)
        method = request.method.lower()
        if method == "head" and not hasattr(self, "head"):
            method = "get"  # as HTTPEndpoint dispatches it
        if hasattr(self, method):  # otherwise HTTPEndpoint answers 405
            self.scope[_READ] = self.parameters.get(method, NONE).read(request.query_params)
        await super().dispatch()


def query(request: Request) -> dict[str, str | list[str] | None]:
    """The values of the query parameters the endpoint declared for this
    request's method, as Endpoint.dispatch read them."""
    return request.scope[_READ]
