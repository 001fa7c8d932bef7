"""PUT and GET of the signed URLs of the stores tim serves itself (memory,
local files), at bootstrap.BLOB_ROUTE/{key} (declared in api.py).

Both directions stream. An upload is received on the event loop, paced (see
pacing), and written to the store a block at a time in a worker thread: a
thread is taken only to write bytes that have arrived, never to wait for
the client, so any number of slow uploads leave the threads to everyone
else. A download is sent as the store reads it.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import anyio
import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tim.domain.model.downloads import attachment, media_type
from tim.domain.model.images import ImageRecord
from tim.entrypoints.http.access_log import note
from tim.entrypoints.http.context import manager, options
from tim.entrypoints.http.pacing import paced
from tim.entrypoints.http.queries import query
from tim.entrypoints.http.responses import JSONResponse, image_json

# Threads that write arrived blocks to the store; kept apart from Starlette's
# threadpool so that uploads to a slow disk cannot hold up reads.
UPLOAD_THREADS = 16
# Arrived bytes are gathered into blocks of this size before a thread writes
# them: few thread hand-offs, and little held per upload.
WRITE_BLOCK_BYTES = 256 * 1024


async def put_file(request: Request) -> Response:
    """Store the body as the file of the image the URL was signed for:
    200 with the ImageRecord, now uploaded."""
    declared = request.headers.get("content-length")
    if declared is not None and not declared.isdigit():
        raise HTTPException(400, "Content-Length must be a whole number")
    tim = manager(request)
    incoming = await run_in_threadpool(
        tim.start_upload,
        request.path_params["key"],
        _signed(request),
        content_length=None if declared is None else int(declared),
    )
    note(request).image_id = incoming.image.id
    threads = _upload_threads(request)
    try:
        body = paced(request.stream(), options(request).body_floor)
        async for block in _blocks(body, WRITE_BLOCK_BYTES):
            await anyio.to_thread.run_sync(incoming.writer.write, block, limiter=threads)
        image = await anyio.to_thread.run_sync(tim.finish_upload, incoming, limiter=threads)
    except BaseException:
        # Slow, gone, too long or cancelled: whatever was written goes.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(incoming.writer.abort, limiter=threads)
        raise
    return JSONResponse(image_json(image))


async def get_file(request: Request) -> Response:
    """The file (200), or the one range a Range header asks for (206;
    416 when the file has no such bytes; several ranges get the whole
    file)."""
    key = request.path_params["key"]
    download = await run_in_threadpool(manager(request).open_download, key, _signed(request), _asked_range(request))
    note(request).image_id = download.image.id
    # Read the first chunk before answering, so that a store error still
    # becomes a JSON error response rather than a broken download.
    first = await run_in_threadpool(next, download.chunks, b"")
    headers, part = download_headers(download.image), download.byte_range
    if part is not None:
        headers |= {"Content-Length": str(part.length), "Content-Range": part.content_range}
    return StreamingResponse(
        itertools.chain([first], download.chunks),
        status_code=200 if part is None else 206,
        media_type=download.image.content_type or media_type(download.image.filename),
        headers=headers,
    )


def _asked_range(request: Request) -> str | None:
    """The Range asked for, unless If-Range names another version of the
    file than ours (RFC 9110 section 13.1.5): then the whole file is sent.
    Several Range headers are several ranges."""
    ranges, ours = request.headers.getlist("range"), _etag(request.path_params["key"])
    if not ranges or request.headers.get("if-range", ours) != ours:
        return None
    return ", ".join(ranges)


def _etag(key: str) -> str:
    # A stored file never changes and its key is never reused: the key is a strong validator.
    return f'"{key}"'


def _signed(request: Request) -> dict[str, str]:
    """The signed URL's parameters that came (the signature check decides
    which each method needs)."""
    return {name: value for name, value in query(request).items() if isinstance(value, str)}


async def _blocks(chunks: AsyncIterator[bytes], size: int) -> AsyncIterator[bytes]:
    """`chunks` gathered into blocks of at least `size` bytes (the last one
    shorter)."""
    block = bytearray()
    async for chunk in chunks:
        block += chunk
        if len(block) >= size:
            yield block
            block = bytearray()  # the one yielded is the writer's now
    if block:
        yield block


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
        "Accept-Ranges": "bytes",
        "ETag": _etag(image.blob_key),
        # The URL is a credential for a private file: no shared or stored copies.
        "Cache-Control": "private, no-store",
    }
