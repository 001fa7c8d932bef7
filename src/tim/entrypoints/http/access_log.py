"""The audit trail: one line per request, as text or JSON.

Each line has the time the request arrived (UTC), the principal (none for
signed blob URLs and public routes), method, path, status, duration in
milliseconds, and the image or tag the request was about where there is
one. The path is the raw, percent-encoded path without the query string:
signed URLs carry their signature in the query, and credentials never
appear in either. uvicorn's own access log stays off for the same reason.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from datetime import datetime, timezone
from typing import IO, Any
from urllib.parse import quote_from_bytes

from attrs import define
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tim.domain.model.access import Principal
from tim.domain.model.images import parse_image_id

log = logging.getLogger(__name__)

STDERR = "-"
_NOTE = "tim.access"
# Characters kept as they are in a logged path; the rest is percent-encoded,
# so a path can never break a line or forge a field.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


@define
class AccessNote:
    """What endpoints learn about a request for its log line."""

    principal: Principal | None = None
    image_id: int | None = None
    tag_id: int | None = None


def note(request: Request) -> AccessNote:
    return request.scope.setdefault(_NOTE, AccessNote())


class AccessLogSink:
    """Where lines go: stderr, or a file opened for appending while the
    app's lifespan lasts (one write per line, so worker processes sharing
    the file do not interleave within lines)."""

    def __init__(self, destination: str = STDERR, format: str = "text"):  # noqa: A002
        if format not in ("text", "json"):
            raise ValueError(f"an access log format is text or json, not {format!r}")
        self.destination = destination
        self.format = format
        self._file: IO[str] | None = None
        self._lock = threading.Lock()

    def open(self) -> None:
        if self.destination != STDERR:
            self._file = open(self.destination, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def close(self) -> None:
        opened, self._file = self._file, None
        if opened is not None:
            opened.close()

    def write(self, fields: dict[str, Any]) -> None:
        line = json.dumps(fields) if self.format == "json" else _text(fields)
        stream = self._file or sys.stderr
        with self._lock:
            try:
                stream.write(line + "\n")
                stream.flush()
            except (OSError, ValueError) as error:  # a full disk, a closed file: the request itself went fine
                log.warning("could not write the access log (%s): %s", error, line)


class AccessLogMiddleware:
    """Pure ASGI, so it sees the status of every response, streamed
    downloads and errors included, and times the whole exchange."""

    def __init__(self, app: ASGIApp, sink: AccessLogSink):
        self.app = app
        self.sink = sink

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at, started = time.time(), time.perf_counter()
        scope[_NOTE] = access = AccessNote()
        status = 500  # unless a response starts: an error escaped every handler
        written = False

        def write_line() -> None:
            nonlocal written
            if not written:
                written = True
                self.sink.write(_fields(scope, access, status, started_at, time.perf_counter() - started))

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                # Before the last of the answer goes out: a client that has
                # its answer finds the line already logged.
                write_line()
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            write_line()


def _fields(scope: Scope, access: AccessNote, status: int, started_at: float, seconds: float) -> dict[str, Any]:
    path_params = scope.get("path_params", {})
    image_id = access.image_id or parse_image_id(path_params.get("image_id"))
    tag_id = access.tag_id or parse_image_id(path_params.get("tag_id"))  # the same rule: a positive integer
    raw = scope.get("raw_path") or scope["path"].encode("utf-8")
    return {
        "time": datetime.fromtimestamp(started_at, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "principal": None if access.principal is None else access.principal.name,
        "method": scope["method"],
        "path": quote_from_bytes(raw.partition(b"?")[0], safe=_PATH_SAFE),
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
        "image_id": image_id,
        "tag_id": tag_id,
    }


def _text(fields: dict[str, Any]) -> str:
    """`key=value` pairs; text values as JSON strings (quoted, escaped) where
    they could hold spaces, absent ones left out."""
    pairs = [fields["time"]]
    for key, value in fields.items():
        if key == "time" or value is None:
            continue
        pairs.append(f"{key}={json.dumps(value) if key == 'principal' else value}")
    return " ".join(pairs)
