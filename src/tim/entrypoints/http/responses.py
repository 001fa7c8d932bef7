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
from tim.domain.model.history import ACTIONS, Event
from tim.domain.model.paging import CursorPage, Page
from tim.domain.model.tags import MAX_TAG_NAME_LENGTH, Tag, TagCollision, TagRecord
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


TAG_RECORD = Named(
    "TagRecord",
    _record(
        id=schemas.ID,
        name={"type": "string", "minLength": 1, "maxLength": MAX_TAG_NAME_LENGTH},
        image_count=schemas.COUNT | {"description": "How many images carry the tag (exact, when read)"},
        aliases={
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": MAX_TAG_NAME_LENGTH},
            "description": "Names that mean this tag (those of tags merged into it), alphabetical",
        },
    ),
    identifies="tag_id",
)


def tag_record_json(record: TagRecord) -> dict[str, Any]:
    """A tag as the tag routes show it (image records carry the short form, tag_json)."""
    return {"id": record.id, "name": record.name, "image_count": record.image_count, "aliases": list(record.aliases)}


COLLISIONS = Named(
    "TagCollisions",
    _record(
        results={
            "type": "array",
            "items": _record(
                folded={"type": "string", "description": "The name they share, case-folded and NFC"},
                tags={"type": "array", "items": TAG_RECORD, "minItems": 2},
            ),
        }
    ),
)


def collisions_json(collisions: list[TagCollision]) -> dict[str, Any]:
    return {"results": [{"folded": c.folded, "tags": [tag_record_json(t) for t in c.tags]} for c in collisions]}


EVENT = Named(
    "Event",
    _record(
        id=schemas.ID,
        at=schemas.TIMESTAMP | {"description": "When, in seconds since the epoch"},
        by={"type": "string", "description": "Who made the change"},
        action={"type": "string", "enum": list(ACTIONS)},
        image_id=(schemas.ID | {"type": ["integer", "null"]}) | {"description": "Null for an event of a tag"},
        added={"type": "array", "items": {"type": "string"}, "description": "Tag names the image gained"},
        removed={"type": "array", "items": {"type": "string"}, "description": "Tag names the image lost"},
        details={"type": "object", "description": "What else there is to say (a tag's old name, a merge's tags...)"},
    ),
)


def event_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at,
        "by": event.by,
        "action": event.action,
        "image_id": event.image_id,
        "added": list(event.added),
        "removed": list(event.removed),
        "details": dict(event.details),
    }


IMAGE_HISTORY = Named("ImageHistory", _record(results={"type": "array", "items": EVENT}))
UPDATED = Named("BulkTagEditResult", _record(updated=schemas.COUNT | {"description": "How many images' tags changed"}))


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


_META = {
    "current_page": schemas.PAGE_NUMBER | {"description": "The page asked for (after a cursor: the page it is)"},
    "has_more_pages": {"type": "boolean", "description": "Whether a later page holds results"},
    "total_results": schemas.COUNT | {"description": "How many results there are on all pages"},
}
NEXT_CURSOR = {
    "type": ["string", "null"],
    "description": "Where the next page starts (pass it as `cursor`, with the same filters); null on the last page",
}
PAGE_META = Named("PageMeta", _record(**_META))
IMAGE_PAGE_META = Named("ImagePageMeta", _record(**_META, next_cursor=NEXT_CURSOR))


def page_of(name: str, item: Named, meta: Named = PAGE_META) -> Named:
    return Named(name, _record(results={"type": "array", "items": item}, meta=meta))


IMAGE_PAGE = page_of("ImageBrowsePage", IMAGE_RECORD, IMAGE_PAGE_META)
TAG_PAGE = page_of("TagBrowsePage", TAG_RECORD)
HISTORY_PAGE = Named(
    "HistoryPage",
    _record(
        results={"type": "array", "items": EVENT},
        meta=_record(has_more_pages=_META["has_more_pages"], next_cursor=NEXT_CURSOR),
    ),
)


def page_json(page: Page[T], item_json: Callable[[T], Any]) -> dict[str, Any]:
    return {
        "results": [item_json(item) for item in page.results],
        "meta": {
            "current_page": page.current_page,
            "has_more_pages": page.has_more_pages,
            "total_results": page.total_results,
        },
    }


def image_page_json(page: Page[T], item_json: Callable[[T], Any]) -> dict[str, Any]:
    """An image list's page: its meta says where the next page starts."""
    body = page_json(page, item_json)
    body["meta"]["next_cursor"] = page.next_cursor
    return body


def cursor_page_json(page: CursorPage[T], item_json: Callable[[T], Any]) -> dict[str, Any]:
    return {
        "results": [item_json(item) for item in page.results],
        "meta": {"has_more_pages": page.has_more_pages, "next_cursor": page.next_cursor},
    }
