"""Parsing of raw field values (ints, flags, text) shared by the model.

Entrypoints hand over what they received (query strings arrive as text,
JSON as numbers); these helpers accept both and raise InvalidInput that
names the field, so every entrypoint gets the same rules and messages.
"""

from __future__ import annotations

import re
import unicodedata

from tim.domain.model.errors import InvalidInput

# Integers as text are spelled one way only: no sign but a minus, no leading
# zeros, no white space (so one image has one URL).
_INTEGER = re.compile(r"0|-?[1-9][0-9]*")
_MAX_DIGITS = 19
# Every store keeps integers in 64 bits; larger ones can name nothing.
INT64_MAX = 2**63 - 1
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}
# What trimming removes: Unicode white space, less U+001C..U+001F, which
# Python counts as white space but which are control characters (refused).
WHITE_SPACE = "".join(c for c in map(chr, range(0x3000 + 1)) if c.isspace() and not "\x1c" <= c <= "\x1f")
# Never in a name: control characters, format characters (invisible: bidi
# overrides, zero-width spaces, BOM; they make a name look like another or
# reorder what is shown around it) and lone surrogates (not storable as UTF-8).
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def parse_int(field: str, value: object, *, minimum: int = -INT64_MAX - 1, maximum: int = INT64_MAX) -> int:
    if isinstance(value, bool):
        raise InvalidInput.of(field, "must be an integer")
    if isinstance(value, str):
        if not _INTEGER.fullmatch(value):
            raise InvalidInput.of(field, "must be an integer")
        if len(value.lstrip("-")) > _MAX_DIGITS:  # far out of any range: not worth converting
            bound = f"at least {minimum}" if value.startswith("-") else f"at most {maximum}"
            raise InvalidInput.of(field, f"must be {bound}")
        value = int(value)
    if not isinstance(value, int):
        raise InvalidInput.of(field, "must be an integer")
    if value < minimum:
        raise InvalidInput.of(field, f"must be at least {minimum}")
    if value > maximum:
        raise InvalidInput.of(field, f"must be at most {maximum}")
    return value


def parse_flag(field: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise InvalidInput.of(field, "must be true, false, 1 or 0")


def require_text(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput.of(field, "must be a string")
    return value


def normalized_text(field: str, value: object) -> str:
    """Text in Unicode NFC, so that a composed and a decomposed spelling
    (`é` as one character or as `e` and a combining accent) are one name."""
    return unicodedata.normalize("NFC", require_text(field, value))


def first_forbidden_character(text: str, forbidden: str = "") -> str | None:
    """The first character that is a control or format character, a lone
    surrogate or listed in `forbidden`."""
    for char in text:
        if char in forbidden or unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            return char
    return None
