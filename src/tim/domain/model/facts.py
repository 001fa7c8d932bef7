"""What tim knows about a stored file from its bytes: their SHA-256, the
media type their first bytes show, and, for DICOM files, a fixed allowlist
of header attributes that do not identify a patient (API-EXTENSIONS §7).

Nothing here trusts the client: the digest and the type come from the bytes
as they stream through tim, and the DICOM attributes pass the allowlist
whatever the reader found."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from attrs import field, frozen

from tim.domain.model.errors import InvalidInput

# The first bytes kept of a file as it streams: enough for any signature
# below and for the DICOM headers met in practice (the reader stops before
# the pixels).
HEAD_BYTES = 1 << 20
OCTET_STREAM = "application/octet-stream"
DICOM = "application/dicom"

# (offset, signature, media type): the first match wins.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (128, b"DICM", DICOM),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", "image/jp2"),
    (0, b"BM", "image/bmp"),
    # Not images, but served as what they are rather than as what their names say.
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"BZh", "application/x-bzip2"),
    (0, b"\xfd7zXZ\x00", "application/x-xz"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"%PDF-", "application/pdf"),
)
# Formats tim can render a preview of (see the Previews port).
RENDERABLE = frozenset({DICOM, "image/png", "image/jpeg", "image/tiff", "image/gif", "image/webp", "image/bmp"})

# Which DICOM attributes may be kept, and as what: nothing else is stored.
DICOM_ALLOWLIST: Mapping[str, type] = {
    "Modality": str,
    "BodyPartExamined": str,
    "ViewPosition": str,
    "StudyInstanceUID": str,
    "SeriesInstanceUID": str,
    "SOPClassUID": str,
    "Rows": int,
    "Columns": int,
    "PhotometricInterpretation": str,
    "BitsAllocated": int,
    "Manufacturer": str,
    "NumberOfFrames": int,
}
# DICOM's longest text value of these (LO) is 64 characters.
MAX_DICOM_TEXT = 64
_SHA256 = re.compile(r"[0-9a-f]{64}")


def sniff_media_type(head: bytes) -> str:
    """The media type the first bytes of a file show, whatever its name says."""
    for offset, signature, media_type in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return OCTET_STREAM


def parse_sha256(value: object, field_name: str = "sha256") -> str:
    """A SHA-256 digest in hex, 64 digits (capitals accepted, kept in lower case)."""
    if not isinstance(value, str) or not _SHA256.fullmatch(value.lower()):
        raise InvalidInput.of(field_name, "must be a SHA-256 digest: 64 hexadecimal digits")
    return value.lower()


def _allowlisted(instance: object, attribute: object, value: tuple[tuple[str, str | int], ...]) -> None:
    for name, item in value:
        kind = DICOM_ALLOWLIST.get(name)
        if kind is None or type(item) is not kind:
            raise ValueError(f"{name!r} is not an allowlisted DICOM attribute of that type")


@frozen
class DicomAttributes:
    """The allowlisted attributes a DICOM header carried, in allowlist order."""

    items: tuple[tuple[str, str | int], ...] = field(default=(), validator=_allowlisted)

    @classmethod
    def allowed(cls, found: Mapping[str, object]) -> DicomAttributes:
        """Only what the allowlist names, each as its kind (text trimmed and
        bounded, numbers whole and not negative); anything else is dropped."""
        kept: list[tuple[str, str | int]] = []
        for name, kind in DICOM_ALLOWLIST.items():
            value = _as(kind, found.get(name))
            if value is not None:
                kept.append((name, value))
        return cls(tuple(kept))

    def as_dict(self) -> dict[str, str | int]:
        return dict(self.items)


def _as(kind: type, value: object) -> str | int | None:
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            return None
        text = str(value).strip()
        return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None
    if not isinstance(value, str):
        return None
    text = "".join(c for c in value if c.isprintable()).strip()
    return text[:MAX_DICOM_TEXT] or None


@frozen
class FileFacts:
    sha256: str
    content_type: str
    dicom: DicomAttributes | None = None


class Fingerprint:
    """The SHA-256 of a file and its first bytes, taken as the bytes pass."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._head = bytearray()
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self._digest.update(chunk)
        self.size += len(chunk)
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    @property
    def head(self) -> bytes:
        return bytes(self._head)
