"""Image records and the rules for what a new image may be."""

from __future__ import annotations

import re
import secrets

from attrs import frozen

from tim.domain.model.errors import InvalidInput
from tim.domain.model.fields import WHITE_SPACE, first_forbidden_character, normalized_text, parse_int, require_text
from tim.domain.model.tags import Tag

MAX_FILENAME_LENGTH = 255
MAX_PRINCIPAL_LENGTH = 255
DEFAULT_MAX_IMAGE_BYTES = 5 * 1024**3


def parse_filename(value: object) -> str:
    """In NFC, 1..255 characters, not only white space, no `/`, `\\`, control
    or format characters. Kept as given otherwise (not trimmed). Only shown to
    people and in downloads' Content-Disposition: storage keys never use it."""
    filename = normalized_text("filename", value)
    if not filename:
        raise InvalidInput.of("filename", "must not be empty")
    if not filename.strip(WHITE_SPACE):
        raise InvalidInput.of("filename", "must not be only white space")
    if len(filename) > MAX_FILENAME_LENGTH:
        raise InvalidInput.of("filename", f"must be at most {MAX_FILENAME_LENGTH} characters")
    bad = first_forbidden_character(filename, "/\\")
    if bad is not None:
        raise InvalidInput.of("filename", f"must not contain {bad!r}")
    return filename


def parse_size(value: object, maximum: int) -> int:
    """Whole bytes, 1..maximum. A JSON number, not text that looks like one."""
    if isinstance(value, str):
        raise InvalidInput.of("size", "must be an integer")
    return parse_int("size", value, minimum=1, maximum=maximum)


def parse_principal(value: object, field: str = "created_by") -> str:
    """A caller's identity as the entrypoint established it (what
    `created_by` records): 1..255 characters, no control or format
    characters. Not normalized: an identity is compared exactly as issued."""
    principal = require_text(field, value)
    if not principal or len(principal) > MAX_PRINCIPAL_LENGTH or first_forbidden_character(principal):
        raise InvalidInput.of(field, f"must be 1..{MAX_PRINCIPAL_LENGTH} printable characters")
    return principal


def parse_image_id(value: object) -> int | None:
    """A positive integer id, or None when the value cannot name an image."""
    if value is None:
        return None
    try:
        return parse_int("image_id", value, minimum=1)
    except InvalidInput:
        return None


_BLOB_KEY = re.compile(r"[0-9a-f]{32}")


def new_blob_key() -> str:
    """Object keys are random, never derived from input and never reused, so a
    signed URL for one object can never open another."""
    return secrets.token_hex(16)


def is_blob_key(text: str) -> bool:
    """Whether `text` has the shape of a key new_blob_key makes: anything else
    in a store is not tim's to list, move or delete."""
    return _BLOB_KEY.fullmatch(text) is not None


@frozen
class NewImage:
    """An image record about to be stored; the repository gives it an id."""

    filename: str
    size: int
    created_by: str
    created_timestamp: int
    blob_key: str
    tag_names: tuple[str, ...] = ()
    uploaded_timestamp: int | None = None


@frozen(cache_hash=True)  # records are looked up by value where pages are rendered
class ImageRecord:
    id: int
    filename: str
    size: int
    created_by: str
    created_timestamp: int
    blob_key: str
    tags: tuple[Tag, ...] = ()
    uploaded_timestamp: int | None = None
    # A time-limited download URL, filled in by the use cases for uploaded
    # images; repositories always return None here.
    url: str | None = None

    @property
    def is_uploaded(self) -> bool:
        return self.uploaded_timestamp is not None

    def with_url(self, url: str | None) -> ImageRecord:
        """This record with a download URL (attrs.evolve, written out: a page
        of images makes a hundred)."""
        return ImageRecord(
            self.id,
            self.filename,
            self.size,
            self.created_by,
            self.created_timestamp,
            self.blob_key,
            self.tags,
            self.uploaded_timestamp,
            url,
        )

    @property
    def tag_names(self) -> frozenset[str]:
        return frozenset(tag.name for tag in self.tags)

    @property
    def newest_first_key(self) -> tuple[int, int]:
        """Newest created first, ties by id descending, so pages never overlap."""
        return (-self.created_timestamp, -self.id)
