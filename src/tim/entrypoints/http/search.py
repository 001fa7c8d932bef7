"""/search/images."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tim.entrypoints.http.auth import Protected
from tim.entrypoints.http import context
from tim.entrypoints.http.context import manager, read
from tim.entrypoints.http.queries import IMAGE_SEARCH, query
from tim.entrypoints.http.responses import JSONResponse, image_page_json


class ImageSearch(Protected):
    parameters = {"get": IMAGE_SEARCH}

    async def get(self, request: Request) -> Response:
        page = await read(request, manager(request).search_images, **query(request))
        return JSONResponse(image_page_json(page, context.image_json(request)))
