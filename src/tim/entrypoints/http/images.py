"""/images, /images/tags, /images/{image_id}, /images/{image_id}/tags,
/images/{image_id}/complete and /upload."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tim.entrypoints.http.bodies import (
    BulkTagEditInput,
    ImageCreateInput,
    ImageUpdateInput,
    TagEditInput,
    UploadCreateInput,
    decode_image_data,
    read_json,
)
from tim.entrypoints.http.access_log import note
from tim.entrypoints.http.auth import Protected
from tim.entrypoints.http import context
from tim.entrypoints.http.context import caller, manager, options, read
from tim.entrypoints.http.queries import IMAGE_LIST, query
from tim.entrypoints.http.responses import JSONResponse, created_image_json, image_json, image_page_json

# Sync methods run in Starlette's threadpool; async ones read the body on the
# event loop and hand the blocking use case to the threadpool.


class Images(Protected):
    parameters = {"get": IMAGE_LIST}

    async def get(self, request: Request) -> Response:
        page = await read(request, manager(request).list_images, **query(request))
        return JSONResponse(image_page_json(page, context.image_json(request)))

    async def post(self, request: Request) -> Response:
        body = await read_json(request, ImageCreateInput, options(request).max_body_bytes)
        created = await run_in_threadpool(
            manager(request).create_image,
            created_by=caller(request),
            filename=body.filename,
            size=body.size,
            tags=body.tags,
        )
        note(request).image_id = created.image.id
        return JSONResponse(created_image_json(created), status_code=201)


class Image(Protected):
    def get(self, request: Request) -> Response:
        return JSONResponse(image_json(manager(request).get_image(request.path_params["image_id"])))

    async def put(self, request: Request) -> Response:
        body = await read_json(request, ImageUpdateInput, options(request).max_body_bytes)
        image = await run_in_threadpool(
            manager(request).update_image_tags, request.path_params["image_id"], tags=body.tags, by=caller(request)
        )
        return JSONResponse(image_json(image))

    def delete(self, request: Request) -> Response:
        manager(request).delete_image(request.path_params["image_id"], by=caller(request))
        return Response(status_code=204)


class ImageTags(Protected):
    async def patch(self, request: Request) -> Response:
        """Add and remove tags, leaving the others (no lost updates)."""
        body = await read_json(request, TagEditInput, options(request).max_body_bytes)
        image = await run_in_threadpool(
            manager(request).edit_image_tags,
            request.path_params["image_id"],
            add=body.add,
            remove=body.remove,
            by=caller(request),
        )
        return JSONResponse(image_json(image))


class ImagesTags(Protected):
    async def post(self, request: Request) -> Response:
        """Add and remove tags on up to 1,000 images: all or nothing."""
        body = await read_json(request, BulkTagEditInput, options(request).max_body_bytes)
        updated = await run_in_threadpool(
            manager(request).edit_tags_of_images, ids=body.ids, add=body.add, remove=body.remove, by=caller(request)
        )
        return JSONResponse({"updated": updated})


class ImageCompletion(Protected):
    def post(self, request: Request) -> Response:
        return JSONResponse(image_json(manager(request).complete_upload(request.path_params["image_id"])))


class Upload(Protected):
    async def post(self, request: Request) -> Response:
        body = await read_json(request, UploadCreateInput, options(request).max_body_bytes)
        image = await run_in_threadpool(
            manager(request).upload_image,
            created_by=caller(request),
            filename=body.filename,
            data=decode_image_data(body.image_data),
            tags=body.tags,
        )
        note(request).image_id = image.id
        return JSONResponse(image_json(image), status_code=201)
