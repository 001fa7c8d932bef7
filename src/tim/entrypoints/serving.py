"""`tim serve`'s HTTP server: the app under uvicorn, on a port checked first.

uvicorn reports a port that is taken with a log line and exit status 3, and
in a single process only after the app has started; tim promises one line
and status 2 for every setting that cannot work, so it looks first.
"""

from __future__ import annotations

import errno
import logging
import socket

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from tim.entrypoints.bootstrap import ConfigError

APP_FACTORY = "tim.entrypoints.http.app:app_from_environment"


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
