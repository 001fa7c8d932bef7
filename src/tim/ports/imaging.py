"""Reading image files: the header of a DICOM file, and previews of what
tim can render. Libraries for image formats stay behind these ports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol


class DicomHeaders(Protocol):
    def read(self, head: bytes) -> Mapping[str, object] | None:
        """Attributes of the DICOM header at the start of `head` (the first
        bytes of a file), read without the pixels; only the allowlisted ones
        need be read (see tim.domain.model.facts). None when `head` does
        not parse as DICOM; never raises for bad input."""


class Previews(Protocol):
    def render(self, chunks: Iterable[bytes], content_type: str, size: int) -> bytes:
        """A PNG that fits in size x size pixels, of the file whose bytes are
        `chunks` and whose sniffed type is `content_type`. Raises
        UnsupportedMediaType for a file it cannot render (saying why, e.g.
        naming a compressed transfer syntax no installed decoder reads).
        Never holds more than one copy of the file's bytes in memory."""
