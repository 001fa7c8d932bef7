"""/tags, /tags/{tag_id} and /tags/{tag_id}/images."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tim.entrypoints.http.bodies import TagInput, read_json
from tim.entrypoints.http.access_log import note
from tim.entrypoints.http.auth import Protected
from tim.entrypoints.http import context
from tim.entrypoints.http.context import manager, options, read
from tim.entrypoints.http.queries import IMAGE_LIST, PAGING, query
from tim.entrypoints.http.responses import JSONResponse, image_json, page_json, tag_json


class Tags(Protected):
    parameters = {"get": PAGING}

    def get(self, request: Request) -> Response:
        return JSONResponse(page_json(manager(request).list_tags(**query(request)), tag_json))

    async def post(self, request: Request) -> Response:
        body = await read_json(request, TagInput, options(request).max_body_bytes)
        tag = await run_in_threadpool(manager(request).create_tag, body.name)
        note(request).tag_id = tag.id
        return JSONResponse(tag_json(tag), status_code=201)


class Tag(Protected):
    def get(self, request: Request) -> Response:
        return JSONResponse(tag_json(manager(request).get_tag(request.path_params["tag_id"])))

    async def put(self, request: Request) -> Response:
        body = await read_json(request, TagInput, options(request).max_body_bytes)
        tag = await run_in_threadpool(manager(request).rename_tag, request.path_params["tag_id"], name=body.name)
        return JSONResponse(tag_json(tag))

    def delete(self, request: Request) -> Response:
        manager(request).delete_tag(request.path_params["tag_id"])
        return Response(status_code=204)


class TagImages(Protected):
    parameters = {"get": IMAGE_LIST}

    async def get(self, request: Request) -> Response:
        page = await read(request, manager(request).list_tag_images, request.path_params["tag_id"], **query(request))
        return JSONResponse(page_json(page, context.image_json(request)))
