"""Request bodies: read with a size limit, parsed as JSON and structured
strictly into small input classes.

This edge checks only the JSON shape (an object with known keys, strings
where strings belong, integers where integers belong); what the values may
be (filename rules, size bounds, tag names) is for the domain to decide.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable
from typing import Any, TypeVar

from attrs import frozen
from cattrs import Converter, transform_error
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError
from cattrs.v import format_exception
from starlette.exceptions import HTTPException
from starlette.requests import Request

from tim.domain.model.errors import FieldProblem, InvalidInput, TooLarge
from tim.entrypoints.http.context import options
from tim.entrypoints.http.pacing import paced

T = TypeVar("T")
MAX_PROBLEMS = 20


@frozen
class ImageCreateInput:
    filename: str
    size: int
    tags: tuple[str, ...] = ()


@frozen
class ImageUpdateInput:
    tags: tuple[str, ...]


@frozen
class UploadCreateInput:
    filename: str
    image_data: str
    tags: tuple[str, ...] = ()


@frozen
class TagInput:
    """The body of POST /tags and PUT /tags/{id}."""

    name: str


@frozen
class TagEditInput:
    """The body of PATCH /images/{id}/tags."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@frozen
class BulkTagEditInput:
    """The body of POST /images/tags."""

    ids: tuple[int, ...]
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@frozen
class MergeInput:
    """The body of POST /tags/{id}/merge."""

    into: int


class _WrongType(TypeError):
    """A JSON value of the wrong type; the message is for a person."""


def _exactly(kind: type, description: str) -> Callable[[Any, type], Any]:
    def structure(value: Any, _: type) -> Any:
        if type(value) is not kind:  # no str(5) or int("5"), and True is not an integer
            raise _WrongType(f"must be {description}")
        return value

    return structure


def _strict_converter() -> Converter:
    converter = Converter(forbid_extra_keys=True)
    converter.register_structure_hook(str, _exactly(str, "a string"))
    converter.register_structure_hook(int, _exactly(int, "an integer"))
    lists = {kind: converter.get_structure_hook(kind) for kind in (tuple[str, ...], tuple[int, ...])}

    def items(value: Any, kind: type) -> tuple:
        if not isinstance(value, list):  # a string is iterable too, but not a list of names
            raise _WrongType("must be a list of strings" if kind == tuple[str, ...] else "must be a list of integers")
        return lists[kind](value, kind)

    converter.register_structure_hook_func(lambda kind: kind in lists, items)
    return converter


_converter = _strict_converter()


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with TooLarge as soon as it is known to exceed
    `limit`: by its Content-Length, else while counting what arrives; and
    with 408 when it arrives too slowly."""
    too_large = TooLarge(f"the request body must be at most {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in paced(request.stream(), options(request).body_floor):
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


async def read_json(request: Request, kind: type[T], limit: int) -> T:
    """The body as a `kind`: 400 unless it is a JSON object of that shape."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPException(400, "the body must be JSON, sent with Content-Type: application/json")
    raw = await read_body(request, limit)
    try:
        data = json.loads(raw, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except _Ambiguous as error:
        raise HTTPException(400, f"the body is not valid JSON: {error}") from None
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise HTTPException(400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise HTTPException(400, "the body must be a JSON object")
    try:
        return _converter.structure(data, kind)
    except ClassValidationError as error:
        raise InvalidInput(_problems(error)) from None


class _Ambiguous(ValueError):
    """JSON that Python would read one way and another parser another."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _Ambiguous("a key is repeated in an object")
    return dict(pairs)


def _no_constant(name: str) -> None:
    raise _Ambiguous(f"{name} is not a JSON number")


def decode_image_data(text: str) -> bytes:
    """Base64 in its canonical RFC 4648 form only: the standard alphabet,
    exact padding, no line breaks, white space or other characters."""
    try:
        data = binascii.a2b_base64(text, strict_mode=True)
    except ValueError:  # binascii.Error, or a non-ASCII character
        data = None
    # Strict mode still lets through extra padding and stray bits in the last
    # character; only the one canonical spelling of the bytes is accepted.
    if data is None or binascii.b2a_base64(data, newline=False) != text.encode("ascii"):
        raise InvalidInput.of("image_data", "must be base64 encoded (with padding, without line breaks)")
    return data


def _problems(error: ClassValidationError) -> list[FieldProblem]:
    unknown, rest = error.split(ForbiddenExtraKeysError)
    problems = []
    if rest is not None:
        for line in transform_error(rest, path="", format_exception=_describe):
            message, _, path = line.rpartition(" @ ")  # paths look like ".tags[1]"
            problems.append(FieldProblem(path.removeprefix(".") or "body", message))
    for extra in [] if unknown is None else unknown.exceptions:
        assert isinstance(extra, ForbiddenExtraKeysError)
        problems += [FieldProblem(printable(key), "is not a field of this request") for key in sorted(extra.extra_fields)]
    # A body of thousands of wrong keys gets an answer of a readable size.
    if len(problems) > MAX_PROBLEMS:
        problems[MAX_PROBLEMS:] = [FieldProblem("body", f"and {len(problems) - MAX_PROBLEMS} more problems")]
    return problems


def printable(key: str) -> str:
    """A key as sent, with what cannot be shown or encoded (lone surrogates,
    control characters) escaped."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in key)


def _describe(error: BaseException, kind: type | None) -> str:
    if isinstance(error, KeyError):
        return "is required"
    if isinstance(error, _WrongType):
        return str(error)
    return format_exception(error, kind)
