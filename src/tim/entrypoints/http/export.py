"""The endpoint of /export/images (declared in api.py): every match as NDJSON, one ImageRecord a line.

The records are read a batch at a time after the last one's key (see
Records.every) in a worker thread, and each batch is sent before the next
is read, so memory stays flat however many match. When the client goes
away Starlette cancels the stream, and no further batch is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tim.domain.model.images import ImageRecord
from tim.entrypoints.http.context import manager
from tim.entrypoints.http.queries import query
from tim.entrypoints.http.responses import image_json

NDJSON = "application/x-ndjson"


async def export_images(request: Request) -> Response:
    # The use case checks the parameters first, so bad ones get a 400 before any line.
    batches = await run_in_threadpool(manager(request).export_batches, **query(request))
    return StreamingResponse(_lines(batches), media_type=NDJSON)


async def _lines(batches: Iterator[list[ImageRecord]]) -> AsyncIterator[bytes]:
    while True:
        chunk = await run_in_threadpool(_next_lines, batches)
        if chunk is None:
            return
        if chunk:
            yield chunk


def _next_lines(batches: Iterator[list[ImageRecord]]) -> bytes | None:
    """The next batch as NDJSON; None after the last."""
    batch = next(batches, None)
    return None if batch is None else b"".join(orjson.dumps(image_json(image)) + b"\n" for image in batch)
