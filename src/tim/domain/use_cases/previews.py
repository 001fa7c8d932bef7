"""Use cases for previews: a PNG thumbnail of an image's file, made once per
image and size and kept in the blob store beside the file (a derived
object: it goes when the file goes)."""

from __future__ import annotations

import logging

from attrs import frozen

from tim.domain.model.errors import Conflict, NotFound, ObjectExists, StorageUnavailable, UnsupportedMediaType
from tim.domain.model.facts import OCTET_STREAM, RENDERABLE, sniff_media_type
from tim.domain.model.fields import parse_int
from tim.domain.model.images import derived_key
from tim.domain.use_cases.parts import Ports, Records

log = logging.getLogger(__name__)

MIN_PREVIEW_SIZE = 64
MAX_PREVIEW_SIZE = 1024
DEFAULT_PREVIEW_SIZE = 256
# Enough of a file's first bytes to tell its type (records stored before
# tim kept a content type).
SNIFFED_BYTES = 132


def parse_preview_size(value: object) -> int:
    if value is None:
        return DEFAULT_PREVIEW_SIZE
    return parse_int("size", value, minimum=MIN_PREVIEW_SIZE, maximum=MAX_PREVIEW_SIZE)


@frozen
class ImagePreviews:
    ports: Ports
    records: Records

    def preview(self, image_id: object, *, size: object = None) -> bytes:
        """A PNG of the image's file that fits in size x size pixels (64..1024,
        default 256). Conflict while the file is pending; UnsupportedMediaType
        for a file tim cannot render."""
        pixels = parse_preview_size(size)
        image = self.records.present(self.records.image(image_id))
        if not image.is_uploaded:
            raise Conflict(f"image {image.id} has no stored file yet: a preview needs the file")
        blobs, key = self.ports.blobs, derived_key(image.blob_key, f"preview{pixels}")
        try:
            return b"".join(blobs.get(key))
        except NotFound:
            pass  # not made yet
        content_type = image.content_type or self._sniffed(image.blob_key, image.size)
        if content_type not in RENDERABLE:
            shown = "a file of unknown type" if content_type == OCTET_STREAM else content_type
            raise UnsupportedMediaType(f"tim cannot render a preview of {shown}")
        png = self.ports.previews.render(blobs.get(image.blob_key), content_type, pixels)
        try:
            blobs.put(key, [png], len(png))
        except ObjectExists:
            pass  # another request made it meanwhile: the same picture
        except StorageUnavailable as error:
            log.warning("could not keep the preview of image %s: %s", image.id, error.message)
        return png

    def _sniffed(self, key: str, size: int) -> str:
        return sniff_media_type(b"".join(self.ports.blobs.get(key, 0, min(SNIFFED_BYTES, size))))
