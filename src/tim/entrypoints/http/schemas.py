"""JSON Schemas (as OpenAPI 3.1 writes them) of the values the API takes
and gives, made from the domain's own limits. Query parameters, request
bodies and responses refer to these, so each rule is written down once.

A schema here is a dict, a `Named` one (kept once under the document's
components and referred to by $ref), or a function of the configured
`Limits` that gives one; the document resolves them all when it is
rendered. The character classes take a scan of Unicode to build, so they
are built then too, not when the app is imported.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, Union

from attrs import frozen

from tim.domain.model.fields import INT64_MAX, WHITE_SPACE
from tim.domain.model.edits import MAX_BULK_IMAGES
from tim.domain.model.images import MAX_FILENAME_LENGTH, MAX_PRINCIPAL_LENGTH
from tim.domain.model.paging import MAX_PAGE_NUMBER, MAX_PAGE_SIZE
from tim.domain.model.tags import MAX_TAG_NAME_LENGTH, SEARCH_DELIMITER


@frozen(kw_only=True)
class Limits:
    """What configuration decides about the values the API takes."""

    max_image_bytes: int
    max_tags_per_image: int
    max_body_bytes: int


Schema = Union[dict[str, Any], "Named", Callable[[Limits], Any]]


@frozen
class Named:
    """A schema kept under components/schemas/`name`. `identifies`: the path
    parameter that its `id` fills (so that the document can link an answer
    to the operations on what it made)."""

    name: str
    schema: Schema
    identifies: str | None = None


# Unicode general categories that no name may hold (see domain.model.fields):
# control and format characters. Lone surrogates cannot arrive in UTF-8 JSON
# or a decoded URL, and cannot be written into a pattern, so they are left out.
_FORBIDDEN_CATEGORIES = ("Cc", "Cf")


@cache
def _forbidden() -> str:
    return "".join(chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) in _FORBIDDEN_CATEGORIES)


def _class(chars: Iterable[str]) -> str:
    """The body of a regular expression character class holding `chars`, in
    ranges. BMP characters are written as \\uXXXX, which Python, ECMA-262
    and Rust read alike; the others as themselves."""
    points = sorted({ord(c) for c in chars})
    ranges: list[list[int]] = []
    for point in points:
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])
    return "".join(_char(low) if low == high else f"{_char(low)}-{_char(high)}" for low, high in ranges)


def _char(point: int) -> str:
    return f"\\u{point:04x}" if point <= 0xFFFF else chr(point)


@cache
def _tag_name_pattern() -> str:
    """A tag name as tim reads it: trimmed of white space, then 1..160
    characters without `|`, control or format characters."""
    space = _class(WHITE_SPACE)
    inner = _class(_forbidden() + SEARCH_DELIMITER)  # inside: white space is fine
    edge = _class(_forbidden() + SEARCH_DELIMITER + WHITE_SPACE)
    return f"[{space}]*[^{edge}](?:[^{inner}]{{0,{MAX_TAG_NAME_LENGTH - 2}}}[^{edge}])?[{space}]*"


def tag_name(limits: Limits) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "pattern": f"^{_tag_name_pattern()}$",
        "description": f"Normalized to Unicode NFC and trimmed of surrounding white space, then 1.."
        f"{MAX_TAG_NAME_LENGTH} characters; no `|`, no control or format characters",
    }


def tag_terms(limits: Limits) -> dict[str, Any]:
    """Pipe-delimited tag names (or patterns); empty segments are ignored."""
    space = _class(WHITE_SPACE)
    term = f"(?:{_tag_name_pattern()}|[{space}]*)"
    return {"type": "string", "pattern": f"^{term}(?:\\|{term})*$"}


TAG_PREFIX = {
    "type": "string",
    "pattern": f"^[^{_class(_forbidden() + SEARCH_DELIMITER)}]{{0,{MAX_TAG_NAME_LENGTH}}}$",
    "description": f"Normalized to Unicode NFC, then 0..{MAX_TAG_NAME_LENGTH} characters; no `|`, no control or "
    "format characters",
}


def tag_names(limits: Limits) -> dict[str, Any]:
    return {
        "type": "array",
        "items": tag_name,
        "description": "Tag names (missing tags are created, repeats count once, after NFC and trimming); "
        f"at most {limits.max_tags_per_image} distinct names",
    }


def filename(limits: Limits) -> dict[str, Any]:
    allowed = _forbidden() + "/\\"
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_FILENAME_LENGTH,
        "pattern": f"^[^{_class(allowed)}]*[^{_class(allowed + WHITE_SPACE)}][^{_class(allowed)}]*$",
        "description": f"Normalized to Unicode NFC, then 1..{MAX_FILENAME_LENGTH} characters, not only white "
        "space; no `/`, `\\`, control or format characters",
    }


def principal_filter(limits: Limits) -> dict[str, Any]:
    return {"type": "string", "maxLength": MAX_PRINCIPAL_LENGTH, "pattern": f"^[^{_class(_forbidden())}]*$"}


def image_size(limits: Limits) -> dict[str, Any]:
    return {
        "type": "integer",
        "minimum": 1,
        "maximum": limits.max_image_bytes,
        "description": "The file's size in bytes; at most TIM_MAX_UPLOAD_BYTES",
    }


def base64_file(limits: Limits) -> dict[str, Any]:
    # Canonical RFC 4648: whole quanta, exact padding, no stray bits in the last character.
    letter = "[A-Za-z0-9+/]"
    return {
        "type": "string",
        "minLength": 4,
        "contentEncoding": "base64",
        "pattern": f"^(?:{letter}{{4}})*(?:{letter}{{4}}|{letter}[AQgw]==|{letter}{{2}}[AEIMQUYcgkosw048]=)$",
        "description": "The file (at least one byte), base64 encoded with padding and without line breaks; "
        f"the whole request body may be at most {limits.max_body_bytes} bytes "
        "(TIM_MAX_INLINE_UPLOAD_BYTES), a larger one gets 413",
    }


ID = {"type": "integer", "minimum": 1, "maximum": INT64_MAX}
# A bulk edit's images: every one of them must exist.
image_ids = {"type": "array", "items": ID, "minItems": 1, "maxItems": MAX_BULK_IMAGES}
COUNT = {"type": "integer", "minimum": 0}
TIMESTAMP = {"type": "integer", "minimum": 0, "maximum": INT64_MAX}
PAGE_NUMBER = {"type": "integer", "minimum": 0, "maximum": MAX_PAGE_NUMBER}
PAGE_SIZE = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}
FLAG = {"type": "boolean", "default": False}
TEXT = {"type": "string"}
BINARY = {"type": "string", "format": "binary"}

# A file's SHA-256 in hex (capitals accepted, answered in lower case).
SHA256 = {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}
