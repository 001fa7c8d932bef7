"""The endpoints of /tags, /tags/{tag_id} and /tags/{tag_id}/images
(declared in api.py)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tim.entrypoints.http import context
from tim.entrypoints.http.access_log import note
from tim.entrypoints.http.bodies import TagInput
from tim.entrypoints.http.context import manager, read
from tim.entrypoints.http.queries import query
from tim.entrypoints.http.responses import JSONResponse, page_json, tag_json


def list_tags(request: Request) -> Response:
    return JSONResponse(page_json(manager(request).list_tags(**query(request)), tag_json))


async def create_tag(request: Request, body: TagInput) -> Response:
    tag = await run_in_threadpool(manager(request).create_tag, body.name)
    note(request).tag_id = tag.id
    return JSONResponse(tag_json(tag), status_code=201)


def get_tag(request: Request) -> Response:
    return JSONResponse(tag_json(manager(request).get_tag(request.path_params["tag_id"])))


async def rename_tag(request: Request, body: TagInput) -> Response:
    tag = await run_in_threadpool(manager(request).rename_tag, request.path_params["tag_id"], name=body.name)
    return JSONResponse(tag_json(tag))


def delete_tag(request: Request) -> Response:
    manager(request).delete_tag(request.path_params["tag_id"])
    return Response(status_code=204)


async def list_tag_images(request: Request) -> Response:
    page = await read(request, manager(request).list_tag_images, request.path_params["tag_id"], **query(request))
    return JSONResponse(page_json(page, context.image_json(request)))
