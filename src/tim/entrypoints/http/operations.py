"""An operation of the API, declared once (api.py lists them all), and the
Starlette routes made from such declarations.

Every request to an operation goes through the same steps, in this order:
the caller is authenticated and must hold the operation's scope (unless it
is public); the query string must name only the operation's parameters;
a JSON body is read (within the size limit) into the operation's body
class; then the endpoint runs, given the request and that body. Sync
endpoints run in the threadpool, async ones on the event loop.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from attrs import field, frozen
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope as ASGIScope

from tim.domain.model.access import Scope
from tim.entrypoints.http.auth import authorize
from tim.entrypoints.http.bodies import Streamed, read_json
from tim.entrypoints.http.context import options
from tim.entrypoints.http.queries import NONE, PATH, Parameter, Parameters, remember
from tim.entrypoints.http.schemas import Schema

JSON = "application/json"
PUBLIC = None  # the scope of an operation anyone may call (what it is given is its own check)

Endpoint = Callable[..., Response | Awaitable[Response]]


@frozen
class Header:
    """A header of an answer."""

    description: str
    required: bool = True
    schema: Schema = {"type": "string"}


@frozen
class Answer:
    """A response an operation gives: its description, and the schema of
    its body in `media_type` (none when `schema` is None)."""

    description: str
    schema: Schema | None = None
    media_type: str = JSON
    headers: Mapping[str, Header] = field(factory=dict)


@frozen
class Operation:
    """One method on one path (under /v1), needing `scope` (or PUBLIC).
    `endpoint(request)`, or `endpoint(request, body)` when `body` is a JSON
    body class, gives the response. `answers` are its successful
    responses; the errors every operation may give are added by the
    document, `errors` names the others it gives (409, 416...)."""

    method: str
    path: str
    endpoint: Endpoint
    scope: Scope | None
    operation_id: str
    summary: str = field(kw_only=True)
    description: str = field(default="", kw_only=True)
    query: Parameters = field(default=NONE, kw_only=True)
    headers: tuple[Parameter, ...] = field(default=(), kw_only=True)  # request headers it reads, for the document
    body: type | Streamed | None = field(default=None, kw_only=True)
    answers: Mapping[int, Answer] = field(kw_only=True)
    errors: tuple[int, ...] = field(default=(), kw_only=True)
    _runs_inline: bool = field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_runs_inline", inspect.iscoroutinefunction(self.endpoint))
        unknown = set(self.path_names) - set(PATH)
        if unknown:
            raise ValueError(f"{self.method} {self.path}: declare the path parameters {sorted(unknown)} (queries.PATH)")

    @property
    def path_names(self) -> list[str]:
        return re.findall(r"{(\w+)(?::\w+)?}", self.path)

    @property
    def template(self) -> str:
        """The path as OpenAPI writes it: without Starlette's converters
        (`{name:path}`, which lets a name hold a slash, is `{name}`)."""
        return re.sub(r"{(\w+):\w+}", r"{\1}", self.path)

    @property
    def json_body(self) -> type | None:
        return self.body if isinstance(self.body, type) else None

    async def handle(self, request: Request) -> Response:
        if self.scope is not PUBLIC:
            await authorize(request, self.scope)
        remember(request, self.query.read(request.query_params))
        arguments: Sequence[Any] = (request,)
        if self.json_body is not None:
            arguments = (request, await read_json(request, self.json_body, options(request).max_body_bytes))
        if self._runs_inline:
            return await self.endpoint(*arguments)  # type: ignore[misc]
        return await run_in_threadpool(self.endpoint, *arguments)  # type: ignore[arg-type]


def routes(operations: Sequence[Operation], prefix: str) -> list[Route]:
    """One route per path, taking the methods of its operations: any other
    method gets 405 with an Allow header naming them (HEAD is GET without
    the body)."""
    paths: dict[str, dict[str, Operation]] = {}
    for operation in operations:
        on_path = paths.setdefault(operation.path, {})
        if operation.method in on_path:
            raise ValueError(f"{operation.method} {operation.path} is declared twice")
        on_path[operation.method] = operation
    literals = [prefix + path for path in paths if "{" not in path]
    return [_Route(prefix + path, _dispatch(by_method), list(by_method), literals) for path, by_method in paths.items()]


class _Route(Route):
    """A route that leaves the literal paths it would match as a template
    to their own routes, whatever the method: PUT /images/tags is a 405 of
    /images/tags, not a PUT of the image "tags"."""

    def __init__(self, path: str, endpoint: Callable[..., Any], methods: list[str], literals: list[str]):
        super().__init__(path, endpoint, methods=methods)
        self._literal_parameters = [
            {name: self.param_convertors[name].convert(value) for name, value in found.groupdict().items()}
            for found in map(self.path_regex.match, literals)
            if found is not None and found.groupdict()
        ]

    def matches(self, scope: ASGIScope) -> tuple[Match, ASGIScope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE and child_scope.get("path_params") in self._literal_parameters:
            return Match.NONE, {}
        return match, child_scope


def _dispatch(by_method: dict[str, Operation]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await by_method["GET" if request.method == "HEAD" else request.method].handle(request)

    return endpoint
