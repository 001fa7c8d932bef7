"""Image records and the rules for what a new image may be."""

from __future__ import annotations

import re
import secrets

from attrs import evolve, frozen

from tim.domain.model.errors import InvalidInput
from tim.domain.model.facts import DicomAttributes, FileFacts
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
# An object derived from an image's file (a preview) lives beside it, under
# the file's key and a short name: it goes when the file goes.
_DERIVED_KEY = re.compile(r"([0-9a-f]{32})-([a-z0-9]{1,16})")


def new_blob_key() -> str:
    """Object keys are random, never derived from input and never reused, so a
    signed URL for one object can never open another."""
    return secrets.token_hex(16)


def is_blob_key(text: str) -> bool:
    """Whether `text` has the shape of a key new_blob_key makes: anything else
    in a store is not tim's to list, move or delete."""
    return _BLOB_KEY.fullmatch(text) is not None


def derived_key(blob_key: str, name: str) -> str:
    """The key of the object `name` derived from the file at `blob_key`."""
    key = f"{blob_key}-{name}"
    if _DERIVED_KEY.fullmatch(key) is None:
        raise ValueError(f"not a blob key and a derived object's name: {blob_key!r}, {name!r}")
    return key


def is_object_key(text: str) -> bool:
    """A key of tim's: an image's file or an object derived from one."""
    return is_blob_key(text) or _DERIVED_KEY.fullmatch(text) is not None


def owner_key(key: str) -> str:
    """The key of the file an object belongs to: its own, or for a derived
    object, the file it was derived from."""
    found = _DERIVED_KEY.fullmatch(key)
    return key if found is None else found.group(1)


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
    # Declared by the client for a pending upload (then the bytes must match),
    # or the digest of the stored bytes.
    sha256: str | None = None
    # Known once the file is stored (uploaded_timestamp set).
    content_type: str | None = None
    dicom: DicomAttributes | None = None

    def with_facts(self, facts: FileFacts) -> NewImage:
        return evolve(self, sha256=facts.sha256, content_type=facts.content_type, dicom=facts.dicom)


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
    # The SHA-256 of the stored bytes; while the file is pending, the one the
    # client declared (if any), which the bytes must match.
    sha256: str | None = None
    # Sniffed from the stored bytes; None while the file is pending.
    content_type: str | None = None
    # Allowlisted DICOM attributes (see facts.py); None for other files.
    dicom: DicomAttributes | None = None

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
            self.sha256,
            self.content_type,
            self.dicom,
        )

    @property
    def stored_sha256(self) -> str | None:
        """The digest of the stored bytes: None until the file is stored."""
        return self.sha256 if self.is_uploaded else None

    @property
    def tag_names(self) -> frozenset[str]:
        return frozenset(tag.name for tag in self.tags)

    @property
    def newest_first_key(self) -> tuple[int, int]:
        """Newest created first, ties by id descending, so pages never overlap."""
        return (-self.created_timestamp, -self.id)
