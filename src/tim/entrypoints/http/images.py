"""The endpoints of /images, /images/tags, /images/{image_id},
/images/{image_id}/tags, /images/{image_id}/complete and /upload (declared
in api.py)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tim.entrypoints.http import context
from tim.entrypoints.http.access_log import note
from tim.entrypoints.http.bodies import (
    BulkTagEditInput,
    ImageCreateInput,
    ImageUpdateInput,
    TagEditInput,
    UploadCreateInput,
    decode_image_data,
)
from tim.entrypoints.http.context import caller, manager, read
from tim.entrypoints.http.queries import query
from tim.entrypoints.http.responses import JSONResponse, created_image_json, image_json, image_page_json

# Sync endpoints run in Starlette's threadpool; async ones read on the event
# loop and hand the blocking use case to the threadpool.


async def list_images(request: Request) -> Response:
    page = await read(request, manager(request).list_images, **query(request))
    return JSONResponse(image_page_json(page, context.image_json(request)))


async def create_image(request: Request, body: ImageCreateInput) -> Response:
    created = await run_in_threadpool(
        manager(request).create_image,
        created_by=caller(request),
        filename=body.filename,
        size=body.size,
        tags=body.tags,
        sha256=body.sha256,
    )
    note(request).image_id = created.image.id
    return JSONResponse(created_image_json(created), status_code=201)


def get_image(request: Request) -> Response:
    return JSONResponse(image_json(manager(request).get_image(request.path_params["image_id"])))


async def update_image(request: Request, body: ImageUpdateInput) -> Response:
    image = await run_in_threadpool(
        manager(request).update_image_tags, request.path_params["image_id"], tags=body.tags, by=caller(request)
    )
    return JSONResponse(image_json(image))


async def edit_image_tags(request: Request, body: TagEditInput) -> Response:
    image = await run_in_threadpool(
        manager(request).edit_image_tags,
        request.path_params["image_id"],
        add=body.add,
        remove=body.remove,
        by=caller(request),
    )
    return JSONResponse(image_json(image))


async def edit_tags_of_images(request: Request, body: BulkTagEditInput) -> Response:
    updated = await run_in_threadpool(
        manager(request).edit_tags_of_images, ids=body.ids, add=body.add, remove=body.remove, by=caller(request)
    )
    return JSONResponse({"updated": updated})


def delete_image(request: Request) -> Response:
    manager(request).delete_image(request.path_params["image_id"], by=caller(request))
    return Response(status_code=204)


def complete_upload(request: Request) -> Response:
    return JSONResponse(image_json(manager(request).complete_upload(request.path_params["image_id"])))


async def upload_image(request: Request, body: UploadCreateInput) -> Response:
    image = await run_in_threadpool(
        manager(request).upload_image,
        created_by=caller(request),
        filename=body.filename,
        data=decode_image_data(body.image_data),
        tags=body.tags,
    )
    note(request).image_id = image.id
    return JSONResponse(image_json(image), status_code=201)
