"""The OpenAPI 3.1 document of the API, at /v1/openapi.json, rendered from
the operations' declarations (api.py): paths, parameters, bodies (from
the body classes), answers, scopes and the limits configuration sets.
Nothing in it is written down a second time.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import attrs
import orjson
from starlette.requests import Request
from starlette.responses import Response

from tim.entrypoints.http.bodies import Streamed, json_schema
from tim.entrypoints.http.context import manager, options
from tim.entrypoints.http.errors import ERROR
from tim.entrypoints.http.operations import JSON, PUBLIC, Answer, Header, Operation
from tim.entrypoints.http.queries import PATH, Parameter
from tim.entrypoints.http.schemas import Limits, Named

# What each error status means (an operation's errors: errors_of).
ERRORS = {
    400: Answer("Invalid input: the fields at fault are in `details`; also any query parameter the operation "
                "does not take", ERROR),
    401: Answer(
        "No credential, or one that is not valid: send Authorization: Bearer <token>",
        ERROR,
        headers={"WWW-Authenticate": Header('The challenge: Bearer realm="tim", with the error when a token came')},
    ),
    403: Answer("The credential's scope does not allow this; or the signed URL is tampered with, expired or "
                "meant for something else", ERROR),
    404: Answer("No such record, or an id that is not a positive integer", ERROR),
    409: Answer("Conflicts with the current state", ERROR),
    413: Answer("The request body is too large", ERROR),
    415: Answer("tim cannot render a preview of this file (the message says why)", ERROR),
    416: Answer(
        "The file has no such range of bytes",
        ERROR,
        headers={"Content-Range": Header("bytes */SIZE: the file's size")},
    ),
}
OTHER_ERRORS = Answer("Any other error (405 with Allow, 500, 503...)", ERROR)
SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (tim_..., from `tim token create`) or a JWT from the configured "
        "identity provider. Not needed when the server runs with TIM_AUTH=none.",
    }
}


def document(operations: Sequence[Operation], limits: Limits, server_url: str) -> dict[str, Any]:
    schemas = _Schemas(limits)
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        item = paths.setdefault(operation.template, {})
        if operation.path_names:
            item["parameters"] = [_parameter(PATH[name], schemas) for name in operation.path_names]
        item[operation.method.lower()] = _operation(operation, operations, schemas)
    statuses = sorted({status for operation in operations for status in errors_of(operation)})
    responses = {f"Error{status}": _answer(ERRORS[status], schemas) for status in statuses}
    responses["Error"] = _answer(OTHER_ERRORS, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tagged Image Manager",
            "version": "1.0.0",
            "description": "Tagged image records with their files in a blob store. Every error is JSON: "
            '{"code": <HTTP status>, "message": "..."}.',
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "responses": responses,
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def errors_of(operation: Operation) -> list[int]:
    """The error statuses an operation may answer with: 400 for any (unknown
    query parameters are refused everywhere), 401 and 403 unless it is
    public, 404 for a path naming something, 413 for a JSON body, and those
    it declares."""
    statuses = {400, *operation.errors}
    if operation.scope is not PUBLIC:
        statuses |= {401, 403}
    if operation.path_names:
        statuses.add(404)
    if operation.json_body is not None:
        statuses.add(413)
    unknown = statuses - set(ERRORS)
    if unknown:
        raise ValueError(f"{operation.operation_id}: say in openapi.ERRORS what {sorted(unknown)} means")
    return sorted(statuses)


def _operation(operation: Operation, operations: Sequence[Operation], schemas: _Schemas) -> dict[str, Any]:
    needs = "" if operation.scope is PUBLIC else f"Needs the {operation.scope.label} scope."
    rendered: dict[str, Any] = {
        "operationId": operation.operation_id,
        "tags": [operation.path.strip("/").split("/")[0].split(".")[0]],
        "summary": operation.summary,
        "description": f"{operation.description} {needs}".strip(),
    }
    parameters = [_parameter(parameter, schemas) for parameter in (*operation.query.each, *operation.headers)]
    if parameters:
        rendered["parameters"] = parameters
    if isinstance(operation.body, Streamed):
        body = operation.body
        rendered["requestBody"] = {
            "required": True,
            "description": body.description,
            "content": {body.media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    elif operation.body is not None:
        rendered["requestBody"] = {"required": True, "content": {JSON: {"schema": schemas.resolve(operation.body)}}}
    answers = {str(status): _answer(answer, schemas) for status, answer in operation.answers.items()}
    for status, answer in operation.answers.items():
        links = _links(answer, operations) if status == 201 else {}
        if links:
            answers[str(status)]["links"] = links
    answers |= {str(status): {"$ref": f"#/components/responses/Error{status}"} for status in errors_of(operation)}
    rendered["responses"] = answers | {"default": {"$ref": "#/components/responses/Error"}}
    if operation.scope is PUBLIC:
        rendered["security"] = []
    return rendered


def _parameter(parameter: Parameter, schemas: _Schemas) -> dict[str, Any]:
    rendered = {
        "name": parameter.name,
        "in": parameter.where,
        "required": parameter.required,
        "description": parameter.description,
        "schema": schemas.resolve(parameter.schema),
    }
    if parameter.repeated:
        rendered |= {"style": "form", "explode": True}
    return rendered


def _answer(answer: Answer, schemas: _Schemas) -> dict[str, Any]:
    rendered: dict[str, Any] = {"description": answer.description}
    if answer.headers:
        rendered["headers"] = {
            name: {
                "description": header.description,
                "required": header.required,
                "schema": schemas.resolve(header.schema),
            }
            for name, header in answer.headers.items()
        }
    if answer.schema is not None:
        rendered["content"] = {answer.media_type: {"schema": schemas.resolve(answer.schema)}}
    return rendered


def _links(answer: Answer, operations: Sequence[Operation]) -> dict[str, Any]:
    """From what an operation made to the operations on it: the id in the
    answer fills their path parameter (which lets a client, or a tester,
    follow them)."""
    made = answer.schema.identifies if isinstance(answer.schema, Named) else None
    return {
        other.operation_id: {"operationId": other.operation_id, "parameters": {made: "$response.body#/id"}}
        for other in operations
        if made is not None and made in other.path_names
    }


class _Schemas:
    """Resolves schemas (see schemas.py) with the configured limits, keeping
    each named one under its name once."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.components: dict[str, Any] = {}
        self._named: dict[str, Named] = {}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, Named):
            return self._reference(value)
        if isinstance(value, type) and attrs.has(value):  # a body class
            return self._reference(Named(value.__name__, json_schema(value)))
        if callable(value):
            return self.resolve(value(self.limits))
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.resolve(item) for item in value]
        return value

    def _reference(self, named: Named) -> dict[str, str]:
        known = self._named.setdefault(named.name, named)
        if known != named:
            raise ValueError(f"two schemas are named {named.name}")
        if named.name not in self.components:
            self.components[named.name] = {}  # before resolving it, in case it refers to itself
            self.components[named.name] = self.resolve(named.schema)
        return {"$ref": f"#/components/schemas/{named.name}"}


class OpenApi:
    """The document of an app's operations, rendered once for the limits of
    the running ImageManager and the path the app is served under."""

    def __init__(self, operations: Sequence[Operation], prefix: str):
        self._operations = operations
        self._prefix = prefix
        self._rendered: dict[tuple[Limits, str], bytes] = {}
        self._lock = threading.Lock()

    def render(self, request: Request) -> bytes:
        settings = manager(request).ports.settings
        limits = Limits(
            max_image_bytes=settings.max_image_bytes,
            max_tags_per_image=settings.max_tags_per_image,
            max_body_bytes=options(request).max_body_bytes,
        )
        # root_path: where a parent app mounted this one, so the server URL stays right.
        key = (limits, request.scope.get("root_path", "") + self._prefix)
        with self._lock:
            if key not in self._rendered:
                self._rendered[key] = orjson.dumps(document(self._operations, *key))
            return self._rendered[key]


def serve_document(request: Request) -> Response:
    # Sync, so that the first rendering (a scan of Unicode) runs in the threadpool.
    return Response(request.app.state.openapi.render(request), media_type=JSON)
