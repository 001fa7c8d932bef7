"""Domain values as the JSON bodies of the v1 API, each beside the schema
the OpenAPI document gives it.

Written out field by field: what leaves the service is exactly the
documented shape (an ImageRecord never shows its blob key).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from starlette.responses import JSONResponse as StarletteJSONResponse

from tim.domain.model.facts import DICOM_ALLOWLIST
from tim.domain.model.images import MAX_FILENAME_LENGTH, ImageRecord
from tim.domain.model.paging import Page
from tim.domain.model.tags import MAX_TAG_NAME_LENGTH, Tag
from tim.domain.use_cases.images import CreatedImage
from tim.entrypoints.http import schemas
from tim.entrypoints.http.schemas import Named
from tim.entrypoints.shapes import image_json

T = TypeVar("T")


class JSONResponse(StarletteJSONResponse):
    """JSON encoded by orjson: a page of a hundred records in a twentieth of
    the time the standard library takes (benchmarks/http_api.py)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _record(**properties: Any) -> dict[str, Any]:
    """An object with all of `properties` (more may be added, never removed)."""
    return {"type": "object", "required": list(properties), "properties": properties}


TAG = Named(
    "Tag",
    _record(id=schemas.ID, name={"type": "string", "minLength": 1, "maxLength": MAX_TAG_NAME_LENGTH}),
    identifies="tag_id",
)


def tag_json(tag: Tag) -> dict[str, Any]:
    return {"id": tag.id, "name": tag.name}


IMAGE_RECORD = Named(
    "ImageRecord",
    _record(
        id=schemas.ID,
        created_by={"type": "string", "description": "Who created the record"},
        created_timestamp=schemas.TIMESTAMP | {"description": "Seconds since the epoch"},
        filename={"type": "string", "minLength": 1, "maxLength": MAX_FILENAME_LENGTH},
        size={"type": "integer", "minimum": 1, "description": "Bytes"},
        tags={"type": "array", "items": TAG, "description": "In tag order (see GET /tags)"},
        uploaded_timestamp={"type": ["integer", "null"], "minimum": 0, "description": "Null until the file is stored"},
        url={
            "type": ["string", "null"],
            "description": "Null until the file is stored; then a time-limited download URL",
        },
        sha256=(schemas.SHA256 | {"type": ["string", "null"]})
        | {"description": "SHA-256 of the stored bytes, in lower-case hex; null until the file is stored"},
        content_type={
            "type": ["string", "null"],
            "description": "Sniffed from the stored bytes (application/dicom, image/png...); null until stored",
        },
        dicom={
            "type": ["object", "null"],
            "additionalProperties": False,
            "properties": {name: {"type": "integer" if kind is int else "string"} for name, kind in DICOM_ALLOWLIST.items()},
            "description": "For DICOM files, the allowlisted header attributes (none that identify a patient)",
        },
    ),
    identifies="image_id",
)
# Written by entrypoints.shapes.image_json, which tim import and tim export share.


class ImageJson:
    """image_json, remembered by record: a page shows the same record objects
    again within a second (see Records.present), and then each costs a
    lookup instead of being written out again."""

    KEPT = 20_000

    def __init__(self) -> None:
        self._written: dict[ImageRecord, orjson.Fragment] = {}

    def __call__(self, image: ImageRecord) -> orjson.Fragment:
        written = self._written.get(image)
        if written is None:
            if len(self._written) >= self.KEPT:
                self._written.clear()
            written = self._written[image] = orjson.Fragment(orjson.dumps(image_json(image)))
        return written


IMAGE_CREATED = Named(
    "ImageCreatedResponse",
    _record(
        id=schemas.ID,
        upload_url={"type": "string", "description": "Absolute, time-limited URL to PUT exactly `size` bytes to"},
    )
    | {
        "properties": {
            "id": schemas.ID,
            "upload_url": {"type": "string", "description": "Absolute, time-limited URL to PUT exactly `size` bytes to"},
            "upload_headers": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "Headers the PUT must carry, when there are any (S3's signed checksum of a "
                "declared sha256)",
            },
        }
    },
    identifies="image_id",
)


def created_image_json(created: CreatedImage) -> dict[str, Any]:
    shown: dict[str, Any] = {"id": created.image.id, "upload_url": created.upload_url}
    if created.upload_headers:  # only for a declared sha256 on a store that checks it: v1 clients see v1's shape
        shown["upload_headers"] = created.upload_headers
    return shown


PAGE_META = Named(
    "PageMeta",
    _record(
        current_page=schemas.PAGE_NUMBER | {"description": "The page asked for"},
        has_more_pages={"type": "boolean", "description": "Whether a later page holds results"},
        total_results=schemas.COUNT | {"description": "How many results there are on all pages"},
    ),
)


def page_of(name: str, item: Named) -> Named:
    return Named(name, _record(results={"type": "array", "items": item}, meta=PAGE_META))


IMAGE_PAGE = page_of("ImageBrowsePage", IMAGE_RECORD)
TAG_PAGE = page_of("TagBrowsePage", TAG)


def page_json(page: Page[T], item_json: Callable[[T], Any]) -> dict[str, Any]:
    return {
        "results": [item_json(item) for item in page.results],
        "meta": {
            "current_page": page.current_page,
            "has_more_pages": page.has_more_pages,
            "total_results": page.total_results,
        },
    }
