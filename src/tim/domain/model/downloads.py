"""How a stored file is presented when downloaded: its media type, a
Content-Disposition that carries the original filename safely (shared by
every store, whether tim serves the download or S3 does), and the part of
it a Range header asks for (when tim serves it)."""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from pathlib import PurePosixPath
from urllib.parse import quote

from attrs import frozen

from tim.domain.model.errors import RangeNotSatisfiable

# Types that mimetypes may not know on every machine.
MEDIA_TYPES = {".dcm": "application/dicom"}
# A compressed file is served as what it is, not as what it unpacks to.
COMPRESSED_TYPES = {"gzip": "application/gzip", "bzip2": "application/x-bzip2", "xz": "application/x-xz"}
# RFC 8187 attr-char, less ALPHA / DIGIT which quote() always keeps.
ATTR_CHAR_PUNCTUATION = "!#$&+-.^_`|~"
# RFC 9110's int-range (first "-" [last]) or suffix-range ("-" length).
_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")
# Numbers longer than this are past the end of any file (and are not converted).
_MAX_DIGITS = 19


def media_type(filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()
    guessed, encoding = mimetypes.guess_type(filename, strict=False)
    if encoding is not None:
        return COMPRESSED_TYPES.get(encoding, "application/octet-stream")
    return MEDIA_TYPES.get(suffix) or guessed or "application/octet-stream"


def attachment(filename: str) -> str:
    """`attachment` with the filename twice: a plain ASCII fallback for old
    clients and the exact UTF-8 name (RFC 6266) for everyone else."""
    encoded = quote(filename, safe=ATTR_CHAR_PUNCTUATION)
    return f"attachment; filename=\"{ascii_fallback(filename)}\"; filename*=UTF-8''{encoded}"


def ascii_fallback(filename: str) -> str:
    """Accents dropped ("é" -> "e"), anything else outside printable ASCII,
    and the quote and backslash that would end or escape the quoted string,
    replaced by "_"."""
    decomposed = unicodedata.normalize("NFKD", filename)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in kept)


@frozen
class ByteRange:
    """The bytes `start` up to, not including, `end` of a file of `size` bytes."""

    start: int
    end: int
    size: int

    @classmethod
    def parse(cls, header: object, size: int) -> ByteRange | None:
        """The one range a Range header (RFC 9110 section 14.2) asks of a file
        of `size` bytes, or None for the whole file: no header, a unit other
        than bytes (ignored, as the RFC requires), or several ranges (served
        whole, as the RFC allows: simpler for every client than a multipart
        answer, and never less than was asked). Raises RangeNotSatisfiable for
        a malformed range or one that starts past the end of the file."""
        if not isinstance(header, str):
            return None
        unit, equals, ranges = header.partition("=")
        if not equals or unit.strip(" \t").lower() != "bytes":
            return None
        specs = [spec.strip(" \t") for spec in ranges.split(",") if spec.strip(" \t")]
        if len(specs) > 1:
            return None
        found = _RANGE_SPEC.fullmatch(specs[0]) if specs else None
        if found is None or found.groups() == ("", ""):
            raise RangeNotSatisfiable(size)
        first, last = found.groups()
        if not first:  # the last `last` bytes, or the whole of a shorter file
            length = _number(last)
            if length == 0:
                raise RangeNotSatisfiable(size)
            return cls(max(0, size - length), size, size)
        start = _number(first)
        if start >= size or (last and _number(last) < start):
            raise RangeNotSatisfiable(size)
        return cls(start, size if not last else min(_number(last) + 1, size), size)

    @property
    def length(self) -> int:
        return self.end - self.start

    @property
    def content_range(self) -> str:
        """The Content-Range of a 206 answer: the last byte counts in."""
        return f"bytes {self.start}-{self.end - 1}/{self.size}"


def _number(digits: str) -> int:
    significant = digits.lstrip("0") or "0"
    return int(significant) if len(significant) <= _MAX_DIGITS else 2**63
