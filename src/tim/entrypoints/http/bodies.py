"""Request bodies: read with a size limit, parsed as JSON and structured
strictly into small input classes, which also give the bodies' JSON
Schemas (`json_schema`).

This edge checks only the JSON shape (an object with known keys, strings
where strings belong, integers where integers belong); what the values may
be (filename rules, size bounds, tag names) is for the domain to decide.
Each field's metadata holds the schema that states those rules for the
document (see schemas.py), beside the type the converter holds it to.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

import attrs
from attrs import field, frozen
from cattrs import Converter, transform_error
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError
from cattrs.v import format_exception
from starlette.exceptions import HTTPException
from starlette.requests import Request

from tim.domain.model.errors import FieldProblem, InvalidInput, TooLarge
from tim.entrypoints.http.context import options
from tim.entrypoints.http import schemas
from tim.entrypoints.http.pacing import paced
from tim.entrypoints.http.schemas import Schema

T = TypeVar("T")
MAX_PROBLEMS = 20


_SCHEMA = "tim.schema"


def rules(schema: Schema) -> dict[str, Schema]:
    """A field's metadata: the schema of the values it may hold."""
    return {_SCHEMA: schema}


@frozen
class ImageCreateInput:
    """A new image record; its file is PUT to the upload_url of the answer."""

    filename: str = field(metadata=rules(schemas.filename))
    size: int = field(metadata=rules(schemas.image_size))
    tags: tuple[str, ...] = field(default=(), metadata=rules(schemas.tag_names))
    # The file's SHA-256, if the client knows it: a PUT of other bytes is refused.
    sha256: str | None = field(default=None, metadata=rules(schemas.SHA256 | {"type": ["string", "null"]}))


@frozen
class ImageUpdateInput:
    """The image's new set of tags."""

    tags: tuple[str, ...] = field(metadata=rules(schemas.tag_names))


@frozen
class UploadCreateInput:
    """A small file and its record, in one request."""

    filename: str = field(metadata=rules(schemas.filename))
    image_data: str = field(metadata=rules(schemas.base64_file))
    tags: tuple[str, ...] = field(default=(), metadata=rules(schemas.tag_names))


@frozen
class TagInput:
    """A tag's name."""

    name: str = field(metadata=rules(schemas.tag_name))


@frozen
class TagEditInput:
    """Tags to add to an image and tags to take from it (the others stay)."""

    add: tuple[str, ...] = field(default=(), metadata=rules(schemas.tag_names))
    remove: tuple[str, ...] = field(default=(), metadata=rules(schemas.tag_names))


@frozen
class BulkTagEditInput:
    """Tags to add to and take from many images at once: all or nothing."""

    ids: tuple[int, ...] = field(metadata=rules(schemas.image_ids))
    add: tuple[str, ...] = field(default=(), metadata=rules(schemas.tag_names))
    remove: tuple[str, ...] = field(default=(), metadata=rules(schemas.tag_names))


@frozen
class MergeInput:
    """The tag that a merged tag's images get instead."""

    into: int = field(metadata=rules(schemas.ID))


@frozen
class Streamed:
    """A body that is no JSON: the endpoint reads it itself, as it arrives."""

    media_type: str
    description: str


# The JSON types the strict converter (below) holds each Python type to.
_JSON_TYPES: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    str | None: {"type": ["string", "null"]},
    int: {"type": "integer"},
    tuple[str, ...]: {"type": "array", "items": {"type": "string"}},
    tuple[int, ...]: {"type": "array", "items": {"type": "integer"}},
}


@cache  # one schema per class, so that the document names it once
def json_schema(kind: type) -> dict[str, Any]:
    """The JSON Schema of a body class: an object of exactly its fields
    (those without a default required), each of the JSON type it is
    structured from, with the rules of its metadata."""
    attrs.resolve_types(kind)
    fields = attrs.fields(kind)
    return {
        "type": "object",
        "description": (kind.__doc__ or "").strip(),
        "additionalProperties": False,
        "required": [each.name for each in fields if each.default is attrs.NOTHING],
        "properties": {each.name: _field_schema(_JSON_TYPES[each.type], each.metadata.get(_SCHEMA)) for each in fields},
    }


def _field_schema(base: dict[str, Any], refined: Schema | None) -> Schema:
    if refined is None:
        return base
    if callable(refined):
        return lambda limits: _refine(base, refined(limits))
    return _refine(base, refined)


def _refine(base: dict[str, Any], refined: Any) -> dict[str, Any]:
    if refined.get("type", base["type"]) != base["type"]:
        raise TypeError(f"a field structured as {base['type']} is described as {refined['type']}")
    return base | refined


class _WrongType(TypeError):
    """A JSON value of the wrong type; the message is for a person."""


def _exactly(kind: type, description: str) -> Callable[[Any, type], Any]:
    def structure(value: Any, _: type) -> Any:
        if type(value) is not kind:  # no str(5) or int("5"), and True is not an integer
            raise _WrongType(f"must be {description}")
        return value

    return structure


def _integer(value: Any, _: type) -> int:
    # JSON has numbers, not integers: 5.0 is the integer 5 (as JSON Schema,
    # and so the document, says), 5.5 and true are not integers.
    if type(value) is float and value.is_integer():
        return int(value)
    return _exactly(int, "an integer")(value, int)


def _strict_converter() -> Converter:
    converter = Converter(forbid_extra_keys=True)
    converter.register_structure_hook(str, _exactly(str, "a string"))
    converter.register_structure_hook(int, _integer)
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
