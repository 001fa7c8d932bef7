"""The endpoint of /images/{image_id}/preview (declared in api.py): a PNG
thumbnail of the image's file.

Rendering decodes whole images: it runs in worker threads of its own, a
few at a time, so previews never hold up the event loop nor take every
thread from the other routes."""

from __future__ import annotations

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from tim.entrypoints.http.context import manager
from tim.entrypoints.http.queries import query

PREVIEW_THREADS = 2


async def get_preview(request: Request) -> Response:
    image_id, size = request.path_params["image_id"], query(request)["size"]
    png = await anyio.to_thread.run_sync(lambda: manager(request).preview(image_id, size=size), limiter=_threads(request))
    # Made once and kept: the same picture for as long as the image lives.
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


def _threads(request: Request) -> anyio.CapacityLimiter:
    state = request.app.state
    if getattr(state, "preview_threads", None) is None:  # made on the event loop, once
        state.preview_threads = anyio.CapacityLimiter(PREVIEW_THREADS)
    return state.preview_threads
