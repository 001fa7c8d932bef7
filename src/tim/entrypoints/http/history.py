"""The endpoints of /images/{image_id}/history and /history (declared in
api.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tim.entrypoints.http.context import manager, read
from tim.entrypoints.http.queries import query
from tim.entrypoints.http.responses import JSONResponse, cursor_page_json, event_json


async def image_history(request: Request) -> Response:
    events = await read(request, manager(request).image_history, request.path_params["image_id"])
    return JSONResponse({"results": [event_json(event) for event in events]})


async def list_history(request: Request) -> Response:
    page = await read(request, manager(request).list_history, **query(request))
    return JSONResponse(cursor_page_json(page, event_json))
