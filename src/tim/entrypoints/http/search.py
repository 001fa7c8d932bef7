"""/search/images."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tim.entrypoints.http.auth import Protected
from tim.entrypoints.http.context import manager
from tim.entrypoints.http.queries import IMAGE_SEARCH, query
from tim.entrypoints.http.responses import JSONResponse, image_json, page_json


class ImageSearch(Protected):
    parameters = {"get": IMAGE_SEARCH}

    def get(self, request: Request) -> Response:
        page = manager(request).search_images(**query(request))
        return JSONResponse(page_json(page, image_json))
