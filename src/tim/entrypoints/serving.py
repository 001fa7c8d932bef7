"""`tim serve`'s HTTP server: the app under uvicorn, on a port checked
first, with limits on request heads.

uvicorn reports a port that is taken with a log line and exit status 3, and
in a single process only after the app has started; tim promises one line
and status 2 for every setting that cannot work, so it looks first.

uvicorn gives a request head as long as the client likes: its keep-alive
timeout stops at the first byte of a request, and httptools (unlike h11)
buffers a head of any size. A slow head blocks nothing (each connection is
an asyncio task), but each one held open costs a socket and its buffer, so
`GuardedHttp` gives a head HEAD_TIMEOUT_SECONDS and MAX_HEAD_BYTES. The body
has limits of its own, in the app (see http.pacing).
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import socket
from http import HTTPStatus
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.h11_impl import H11Protocol

from tim.entrypoints.bootstrap import ConfigError

APP_FACTORY = "tim.entrypoints.http.app:app_from_environment"
# From a connection's start or the end of its previous response, the request
# head (request line and headers) must be complete within this time...
HEAD_TIMEOUT_SECONDS = 10.0
# ...and this size (room for large bearer tokens).
MAX_HEAD_BYTES = 64 * 1024


def serve(host: str, port: int, workers: int) -> None:
    """Run the app built by APP_FACTORY (in each worker) until stopped.
    Raises ConfigError when `host` and `port` cannot be listened on."""
    check_port(host, port)
    logging.getLogger("uvicorn.error").addFilter(_bind_failure_told_by_tim)
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            lifespan="on",
            http=GuardedHttp,
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            ws="none",  # tim has no WebSocket routes
            # uvicorn's access log would print signed URLs, signatures and all.
            access_log=False,
        )
    except SystemExit as exit:
        if exit.code == STARTUP_FAILURE:
            check_port(host, port)  # taken since the check above: say so as tim does
        raise


def check_port(host: str, port: int) -> None:
    """Bind every address `host` resolves to, as uvicorn (asyncio's
    create_server) will, and let go at once. Raises ConfigError."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise ConfigError(f"cannot listen on {host}: {error.strerror}") from None
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    raise ConfigError(f"port {port} on {host} is in use") from None
                raise ConfigError(f"cannot listen on port {port} of {host}: {error.strerror or error}") from None


def _bind_failure_told_by_tim(record: logging.LogRecord) -> bool:
    """Drop uvicorn's own line about a port taken in the meantime: serve()
    reports it as a ConfigError."""
    return not (isinstance(record.msg, OSError) and record.msg.errno == errno.EADDRINUSE)


class HeadLimits:
    """Mixed into a uvicorn HTTP protocol: a request head that is not
    complete within `head_timeout` seconds gets 408, one larger than
    `max_head_bytes` gets 431; either way the connection is closed. A
    connection that sent nothing of a new request is just closed."""

    head_timeout: float = HEAD_TIMEOUT_SECONDS
    max_head_bytes: int = MAX_HEAD_BYTES
    # What the uvicorn protocol provides:
    cycle: Any
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)  # type: ignore[misc]
        self._start_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        if not self._waiting_for_head() or self._answered_body_arriving():
            self._head_bytes = 0
            return
        self._head_bytes += len(data)
        if self._head_bytes > self.max_head_bytes:
            too_large = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
            self._refuse(too_large, f"a request head is at most {self.max_head_bytes} bytes")

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._head_bytes = 0
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)  # type: ignore[misc]

    def _waiting_for_head(self) -> bool:
        # uvicorn makes a request's cycle once its head is complete.
        return self.cycle is None or self.cycle.response_complete

    def _answered_body_arriving(self) -> bool:
        # An early answer (a 413 by Content-Length, say) leaves the rest of
        # the body to come; uvicorn reads and drops it. It is no head, and
        # the head's deadline bounds it.
        return self.cycle is not None and self.cycle.more_body

    def _start_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _head_timed_out(self) -> None:
        if not self._waiting_for_head() or self.transport.is_closing():
            return  # a request is being served: its body has its own limits
        if self._head_bytes == 0:
            self.transport.close()  # idle, or still sending an answered body: no request to answer
            return
        self._refuse(HTTPStatus.REQUEST_TIMEOUT, f"the request head did not arrive within {self.head_timeout:g} s")

    def _refuse(self, status: HTTPStatus, message: str) -> None:
        if self.transport.is_closing():
            return
        body = json.dumps({"code": status.value, "message": message}).encode()
        head = (
            f"HTTP/1.1 {status.value} {status.phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self.transport.close()


class GuardedH11(HeadLimits, H11Protocol):
    pass


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is not installed: h11 it is, as uvicorn would choose
    GuardedHttp: type[asyncio.Protocol] = GuardedH11
else:

    class GuardedHttpTools(HeadLimits, HttpToolsProtocol):
        pass

    GuardedHttp = GuardedHttpTools
