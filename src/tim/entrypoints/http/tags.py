"""/tags, /tags/collisions, /tags/{tag_id}, /tags/{tag_id}/images,
/tags/{tag_id}/merge and /tags/{tag_id}/aliases/{name}. Tags are shown as
tag records (with image_count and aliases), unlike the short {id, name}
inside image records."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tim.entrypoints.http.bodies import MergeInput, TagInput, read_json
from tim.entrypoints.http.access_log import note
from tim.entrypoints.http.auth import Protected
from tim.entrypoints.http import context
from tim.entrypoints.http.context import caller, manager, options, read
from tim.entrypoints.http.queries import IMAGE_LIST, TAG_LIST, query
from tim.entrypoints.http.responses import JSONResponse, collisions_json, image_page_json, page_json, tag_record_json


class Tags(Protected):
    parameters = {"get": TAG_LIST}

    async def get(self, request: Request) -> Response:
        page = await read(request, manager(request).list_tags, **query(request))
        return JSONResponse(page_json(page, tag_record_json))

    async def post(self, request: Request) -> Response:
        body = await read_json(request, TagInput, options(request).max_body_bytes)
        tag = await run_in_threadpool(manager(request).create_tag, body.name)
        note(request).tag_id = tag.id
        return JSONResponse(tag_record_json(tag), status_code=201)


class TagCollisions(Protected):
    def get(self, request: Request) -> Response:
        return JSONResponse(collisions_json(manager(request).tag_collisions()))


class Tag(Protected):
    def get(self, request: Request) -> Response:
        return JSONResponse(tag_record_json(manager(request).get_tag(request.path_params["tag_id"])))

    async def put(self, request: Request) -> Response:
        body = await read_json(request, TagInput, options(request).max_body_bytes)
        tag = await run_in_threadpool(
            manager(request).rename_tag, request.path_params["tag_id"], name=body.name, by=caller(request)
        )
        return JSONResponse(tag_record_json(tag))

    def delete(self, request: Request) -> Response:
        manager(request).delete_tag(request.path_params["tag_id"], by=caller(request))
        return Response(status_code=204)


class TagMerge(Protected):
    async def post(self, request: Request) -> Response:
        body = await read_json(request, MergeInput, options(request).max_body_bytes)
        kept = await run_in_threadpool(
            manager(request).merge_tags, request.path_params["tag_id"], into=body.into, by=caller(request)
        )
        return JSONResponse(tag_record_json(kept))


class TagAlias(Protected):
    def delete(self, request: Request) -> Response:
        manager(request).remove_alias(request.path_params["tag_id"], request.path_params["name"])
        return Response(status_code=204)


class TagImages(Protected):
    parameters = {"get": IMAGE_LIST}

    def get(self, request: Request) -> Response:
        page = manager(request).list_tag_images(request.path_params["tag_id"], **query(request))
        return JSONResponse(image_page_json(page, context.image_json(request)))
