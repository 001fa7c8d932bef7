"""Domain values as the JSON bodies of the v1 API.

Written out field by field: what leaves the service is exactly the
documented shape (an ImageRecord never shows its blob key).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from starlette.responses import JSONResponse as StarletteJSONResponse

from tim.domain.model.images import ImageRecord
from tim.domain.model.paging import Page
from tim.domain.model.tags import Tag
from tim.domain.use_cases.images import CreatedImage
from tim.entrypoints.shapes import image_json

T = TypeVar("T")


class JSONResponse(StarletteJSONResponse):
    """JSON encoded by orjson: a page of a hundred records in a twentieth of
    the time the standard library takes (benchmarks/http_api.py)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def tag_json(tag: Tag) -> dict[str, Any]:
    return {"id": tag.id, "name": tag.name}




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
    shown: dict[str, Any] = {"id": created.image.id, "upload_url": created.upload_url}
    if created.upload_headers:  # only for a declared sha256 on a store that checks it: v1 clients see v1's shape
        shown["upload_headers"] = created.upload_headers
    return shown


def page_json(page: Page[T], item_json: Callable[[T], Any]) -> dict[str, Any]:
    return {
        "results": [item_json(item) for item in page.results],
        "meta": {
            "current_page": page.current_page,
            "has_more_pages": page.has_more_pages,
            "total_results": page.total_results,
        },
    }
