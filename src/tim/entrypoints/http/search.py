"""The endpoint of /search/images (declared in api.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tim.entrypoints.http import context
from tim.entrypoints.http.context import manager, read
from tim.entrypoints.http.queries import query
from tim.entrypoints.http.responses import JSONResponse, image_page_json


async def search_images(request: Request) -> Response:
    page = await read(request, manager(request).search_images, **query(request))
    return JSONResponse(image_page_json(page, context.image_json(request)))
