"""Parsing of raw field values (ints, flags, text) shared by the model.

Entrypoints hand over what they received (query strings arrive as text,
JSON as numbers); these helpers accept both and raise InvalidInput that
names the field, so every entrypoint gets the same rules and messages.
"""

from __future__ import annotations

import re
import unicodedata

from tim.domain.model.errors import InvalidInput

_INTEGER = re.compile(r"[+-]?[0-9]+")
# Every store keeps integers in 64 bits; larger ones can name nothing.
INT64_MAX = 2**63 - 1
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


def parse_int(field: str, value: object, *, minimum: int | None = None, maximum: int = INT64_MAX) -> int:
    if isinstance(value, bool):
        raise InvalidInput.of(field, "must be an integer")
    if isinstance(value, str):
        text = value.strip()
        if not _INTEGER.fullmatch(text) or len(text) > 20:
            raise InvalidInput.of(field, "must be an integer")
        value = int(text)
    if not isinstance(value, int):
        raise InvalidInput.of(field, "must be an integer")
    if minimum is not None and value < minimum:
        raise InvalidInput.of(field, f"must be at least {minimum}")
    if value > maximum:
        raise InvalidInput.of(field, f"must be at most {maximum}")
    return value


def parse_flag(field: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise InvalidInput.of(field, "must be true, false, 1 or 0")


def require_text(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput.of(field, "must be a string")
    return value


def first_forbidden_character(text: str, forbidden: str = "") -> str | None:
    """The first character that is a control character, a lone surrogate
    (not storable as UTF-8) or listed in `forbidden`."""
    for char in text:
        if char in forbidden or unicodedata.category(char) in ("Cc", "Cs"):
            return char
    return None
