"""How a stored file is presented when downloaded: its media type and a
Content-Disposition that carries the original filename safely. Shared by
every store, whether tim serves the download or S3 does."""

from __future__ import annotations

import mimetypes
import unicodedata
from pathlib import PurePosixPath
from urllib.parse import quote

# Types that mimetypes may not know on every machine.
MEDIA_TYPES = {".dcm": "application/dicom"}
# A compressed file is served as what it is, not as what it unpacks to.
COMPRESSED_TYPES = {"gzip": "application/gzip", "bzip2": "application/x-bzip2", "xz": "application/x-xz"}
# RFC 8187 attr-char, less ALPHA / DIGIT which quote() always keeps.
ATTR_CHAR_PUNCTUATION = "!#$&+-.^_`|~"


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
