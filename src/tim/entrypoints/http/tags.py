"""The endpoints of /tags, /tags/collisions, /tags/{tag_id},
/tags/{tag_id}/images, /tags/{tag_id}/merge and
/tags/{tag_id}/aliases/{name} (declared in api.py). Tags are shown as tag
records (with image_count and aliases), unlike the short {id, name} inside
image records."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tim.entrypoints.http import context
from tim.entrypoints.http.access_log import note
from tim.entrypoints.http.bodies import MergeInput, TagInput
from tim.entrypoints.http.context import caller, manager, read
from tim.entrypoints.http.queries import query
from tim.entrypoints.http.responses import JSONResponse, collisions_json, image_page_json, page_json, tag_record_json


async def list_tags(request: Request) -> Response:
    page = await read(request, manager(request).list_tags, **query(request))
    return JSONResponse(page_json(page, tag_record_json))


async def create_tag(request: Request, body: TagInput) -> Response:
    tag = await run_in_threadpool(manager(request).create_tag, body.name)
    note(request).tag_id = tag.id
    return JSONResponse(tag_record_json(tag), status_code=201)


def tag_collisions(request: Request) -> Response:
    return JSONResponse(collisions_json(manager(request).tag_collisions()))


def get_tag(request: Request) -> Response:
    return JSONResponse(tag_record_json(manager(request).get_tag(request.path_params["tag_id"])))


async def rename_tag(request: Request, body: TagInput) -> Response:
    tag = await run_in_threadpool(
        manager(request).rename_tag, request.path_params["tag_id"], name=body.name, by=caller(request)
    )
    return JSONResponse(tag_record_json(tag))


def delete_tag(request: Request) -> Response:
    manager(request).delete_tag(request.path_params["tag_id"], by=caller(request))
    return Response(status_code=204)


async def merge_tag(request: Request, body: MergeInput) -> Response:
    kept = await run_in_threadpool(
        manager(request).merge_tags, request.path_params["tag_id"], into=body.into, by=caller(request)
    )
    return JSONResponse(tag_record_json(kept))


def remove_alias(request: Request) -> Response:
    manager(request).remove_alias(request.path_params["tag_id"], request.path_params["name"])
    return Response(status_code=204)


async def list_tag_images(request: Request) -> Response:
    page = await read(request, manager(request).list_tag_images, request.path_params["tag_id"], **query(request))
    return JSONResponse(image_page_json(page, context.image_json(request)))
