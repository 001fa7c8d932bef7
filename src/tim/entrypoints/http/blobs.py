"""PUT and GET of the signed URLs of the stores tim serves itself (memory,
local files), at bootstrap.BLOB_ROUTE/{key}.

Both directions stream: an upload of gigabytes is passed on chunk by chunk
to the blob store (which runs in a worker thread), and a download is sent as
the store reads it.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from functools import partial

import anyio
import anyio.from_thread
import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.endpoints import HTTPEndpoint
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from tim.domain.model.downloads import attachment, media_type
from tim.domain.model.images import ImageRecord
from tim.entrypoints.http.access_log import note
from tim.entrypoints.http.context import manager
from tim.entrypoints.http.errors import error_response
from tim.entrypoints.http.responses import image_json


# An upload holds a worker thread while it waits for the client's bytes, so
# uploads get threads of their own: slow or stalled clients can never take
# the threads that every other endpoint runs on.
UPLOAD_THREADS = 16
# A body that sends nothing for this long is given up (nothing is stored).
BODY_IDLE_SECONDS = 60


class Blob(HTTPEndpoint):
    async def put(self, request: Request) -> Response:
        """Store the body as the file of the image the URL was signed for:
        200 with the ImageRecord, now uploaded."""
        declared = request.headers.get("content-length")
        if declared is not None and not declared.isdigit():
            raise HTTPException(400, "Content-Length must be a whole number")
        stream = request.stream()
        store = partial(
            manager(request).receive_upload,
            request.path_params["key"],
            dict(request.query_params),
            _chunks_from(stream),
            content_length=None if declared is None else int(declared),
        )
        try:
            image = await anyio.to_thread.run_sync(store, limiter=_upload_threads(request))
        except TimeoutError:
            return error_response(408, f"the upload sent nothing for {BODY_IDLE_SECONDS} s; nothing was stored")
        finally:
            await stream.aclose()
        note(request).image_id = image.id
        return JSONResponse(image_json(image))

    async def get(self, request: Request) -> Response:
        download = await run_in_threadpool(
            manager(request).open_download, request.path_params["key"], dict(request.query_params)
        )
        note(request).image_id = download.image.id
        # Read the first chunk before answering, so that a store error still
        # becomes a JSON error response rather than a broken download.
        first = await run_in_threadpool(next, download.chunks, b"")
        return StreamingResponse(
            itertools.chain([first], download.chunks),
            media_type=media_type(download.image.filename),
            headers=download_headers(download.image),
        )


def _chunks_from(stream: AsyncIterator[bytes]) -> Iterator[bytes]:
    """The request body as a sync iterator, for a worker thread: each chunk
    is awaited on the event loop, so at most one chunk is held at a time."""
    while True:
        chunk = anyio.from_thread.run(_next_chunk, stream)
        if chunk is None:
            return
        if chunk:
            yield chunk


async def _next_chunk(stream: AsyncIterator[bytes]) -> bytes | None:
    with anyio.fail_after(BODY_IDLE_SECONDS):
        return await anext(stream, None)


def _upload_threads(request: Request) -> anyio.CapacityLimiter:
    state = request.app.state
    if getattr(state, "upload_threads", None) is None:  # made on the event loop, once
        state.upload_threads = anyio.CapacityLimiter(UPLOAD_THREADS)
    return state.upload_threads


def download_headers(image: ImageRecord) -> dict[str, str]:
    return {
        "Content-Length": str(image.size),
        "Content-Disposition": attachment(image.filename),
        # Uploaded files are served as attachments, never sniffed into something runnable.
        "X-Content-Type-Options": "nosniff",
    }
