"""/search/images."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tim.entrypoints.http.auth import Protected
from tim.entrypoints.http.context import manager
from tim.entrypoints.http.queries import image_filters, search_terms
from tim.entrypoints.http.responses import image_json, page_json


class ImageSearch(Protected):
    def get(self, request: Request) -> Response:
        query = request.query_params
        page = manager(request).search_images(**search_terms(query), **image_filters(query))
        return JSONResponse(page_json(page, image_json))
