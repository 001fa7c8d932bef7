"""Every error as JSON: `{"code": <status>, "message": "..."}`, plus
`details` for field problems (and for the unknown ids of a bulk edit) and
`tag` for a tag name already taken.

Domain errors map to status codes by class; Starlette's own errors (unknown
route, wrong method) keep their status; anything unexpected becomes a 500
without a traceback in the body (the traceback goes to the log).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request

from tim.domain.model.access import AuthenticationUnavailable, InsufficientScope, Unauthenticated
from tim.domain.model.errors import (
    AccessDenied,
    ChecksumMismatch,
    Conflict,
    ImagesNotFound,
    InvalidInput,
    NotFound,
    RangeNotSatisfiable,
    SizeMismatch,
    StorageUnavailable,
    TagNameTaken,
    TimError,
    TooLarge,
    UnsupportedMediaType,
)
from tim.entrypoints.http.responses import TAG, JSONResponse, tag_json
from tim.entrypoints.http.schemas import Named

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[TimError], int] = {
    InvalidInput: 400,
    SizeMismatch: 400,
    ChecksumMismatch: 400,
    Unauthenticated: 401,
    AccessDenied: 403,
    InsufficientScope: 403,
    NotFound: 404,
    Conflict: 409,  # also AlreadyUploaded and UploadIncomplete
    TagNameTaken: 409,
    TooLarge: 413,
    UnsupportedMediaType: 415,
    RangeNotSatisfiable: 416,
    StorageUnavailable: 503,
    AuthenticationUnavailable: 503,
}
REALM = 'Bearer realm="tim"'
# nginx's "client closed request": the status logged for a request whose
# client went away before sending all of it (no one receives the answer).
CLIENT_CLOSED_REQUEST = 499


ERROR = Named(
    "Error",
    {
        "type": "object",
        "description": "Every error; a 409 for a tag name also carries, as `tag`, the tag that has it",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "integer", "minimum": 400, "maximum": 599, "description": "The HTTP status"},
            "message": {"type": "string", "minLength": 1, "description": "What was wrong, for a person"},
            "details": {
                "type": "array",
                "description": "The fields at fault (400)",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
            "tag": TAG,  # in a 409 for a tag name: the tag that has it
        },
    },
)


def error_response(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"code": status, "message": message, **extra}, status_code=status, headers=headers)


def domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, TimError)
    status = next((STATUS_BY_ERROR[kind] for kind in type(error).__mro__ if kind in STATUS_BY_ERROR), None)
    if status is None:
        log.error("%s %s raised an unmapped domain error", request.method, request.url.path, exc_info=error)
        return error_response(500, "internal error: the server could not handle this request")
    extra: dict[str, Any] = {}
    if isinstance(error, InvalidInput):
        extra["details"] = [{"field": p.field, "message": p.message} for p in error.problems]
    if isinstance(error, ImagesNotFound):
        extra["details"] = [{"field": "ids", "message": f"image {image_id} does not exist"} for image_id in error.ids]
    if isinstance(error, TagNameTaken):
        extra["tag"] = tag_json(error.existing)
    message = error.message
    if isinstance(error, StorageUnavailable):
        # The details name internal hosts, users and paths: for the log, not the caller.
        log.warning("%s %s: %s", request.method, request.url.path, error.message)
        message = "a storage service is unavailable; try again later"
    return error_response(status, message, _headers(error), **extra)


def _headers(error: TimError) -> dict[str, str] | None:
    """WWW-Authenticate as RFC 6750 spells it: a bare challenge when no
    credential came, invalid_token for a bad one, insufficient_scope with
    the scope needed for a caller who may not. A 416 tells the file's size."""
    if isinstance(error, RangeNotSatisfiable):
        return {"Content-Range": f"bytes */{error.size}"}
    if isinstance(error, Unauthenticated):
        return {"WWW-Authenticate": REALM + (', error="invalid_token"' if error.credential_given else "")}
    if isinstance(error, InsufficientScope):
        return {"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{error.needed.label}"'}
    return None


def http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    message = error.detail
    if error.status_code == 404 and message == HTTPStatus.NOT_FOUND.phrase:
        message = f"there is no {request.url.path} here"
    elif error.status_code == 405 and message == HTTPStatus.METHOD_NOT_ALLOWED.phrase:
        allowed = (error.headers or {}).get("Allow", "")
        message = f"{request.method} is not allowed on {request.url.path}; use {allowed}"
    return error_response(error.status_code, message, headers=error.headers)


def client_went_away(request: Request, error: Exception) -> JSONResponse:
    # The client's doing, not a failure of tim's: no traceback, and an
    # answer only for the access log (uvicorn drops it).
    return error_response(CLIENT_CLOSED_REQUEST, "the client closed the connection before sending the whole request")


def unexpected_error(request: Request, error: Exception) -> JSONResponse:
    # Starlette re-raises the error after this response, so the server logs its traceback.
    log.error("%s %s failed with %s", request.method, request.url.path, type(error).__name__)
    return error_response(500, "internal error: the server could not handle this request")


# Starlette picks a handler by walking the error's class hierarchy.
EXCEPTION_HANDLERS: dict[Any, Any] = {
    TimError: domain_error,
    HTTPException: http_error,
    ClientDisconnect: client_went_away,
    Exception: unexpected_error,
}
