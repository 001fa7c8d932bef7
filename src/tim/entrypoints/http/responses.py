"""Domain values as the JSON bodies of the v1 API.

Written out field by field: what leaves the service is exactly the
documented shape (an ImageRecord never shows its blob key).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from starlette.responses import JSONResponse as StarletteJSONResponse

from tim.domain.model.history import Event
from tim.domain.model.images import ImageRecord
from tim.domain.model.paging import CursorPage, Page
from tim.domain.model.tags import Tag, TagCollision, TagRecord
from tim.domain.use_cases.images import CreatedImage

T = TypeVar("T")


class JSONResponse(StarletteJSONResponse):
    """JSON encoded by orjson: a page of a hundred records in a twentieth of
    the time the standard library takes (benchmarks/http_api.py)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def tag_json(tag: Tag) -> dict[str, Any]:
    return {"id": tag.id, "name": tag.name}


def tag_record_json(record: TagRecord) -> dict[str, Any]:
    """A tag as the tag routes show it (image records carry the short form, tag_json)."""
    return {"id": record.id, "name": record.name, "image_count": record.image_count, "aliases": list(record.aliases)}


def collisions_json(collisions: list[TagCollision]) -> dict[str, Any]:
    return {"results": [{"folded": c.folded, "tags": [tag_record_json(t) for t in c.tags]} for c in collisions]}


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


def image_json(image: ImageRecord) -> dict[str, Any]:
    return {
        "id": image.id,
        "created_by": image.created_by,
        "created_timestamp": image.created_timestamp,
        "filename": image.filename,
        "size": image.size,
        "tags": [tag_json(tag) for tag in image.tags],
        "uploaded_timestamp": image.uploaded_timestamp,
        "url": image.url,
    }


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


def created_image_json(created: CreatedImage) -> dict[str, Any]:
    return {"id": created.image.id, "upload_url": created.upload_url}


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
    """An image list's page: its meta has where the next page starts."""
    body = page_json(page, item_json)
    body["meta"]["next_cursor"] = page.next_cursor
    return body


def cursor_page_json(page: CursorPage[T], item_json: Callable[[T], Any]) -> dict[str, Any]:
    return {
        "results": [item_json(item) for item in page.results],
        "meta": {"has_more_pages": page.has_more_pages, "next_cursor": page.next_cursor},
    }
