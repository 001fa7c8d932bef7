"""Request bodies must keep arriving: one slower than a floor is given up
with 408, so that a stalled or trickling client costs its own request and
nothing more.

The clock runs only while tim waits for the client, never while tim itself
works on what arrived (a slow disk is not the client's fault).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
from attrs import field, frozen, validators
from starlette.exceptions import HTTPException

DEFAULT_BYTES_PER_SECOND = 1024
DEFAULT_WINDOW_SECONDS = 30.0


@frozen(kw_only=True)
class BodyFloor:
    """The slowest a body may arrive: `bytes_per_second` on average over
    each `window_seconds` of waiting for it. A body that ends sooner is
    always fine."""

    bytes_per_second: int = field(default=DEFAULT_BYTES_PER_SECOND, validator=validators.gt(0))
    window_seconds: float = field(default=DEFAULT_WINDOW_SECONDS, validator=validators.gt(0))

    @property
    def bytes_per_window(self) -> float:
        return self.bytes_per_second * self.window_seconds


async def paced(chunks: AsyncIterator[bytes], floor: BodyFloor) -> AsyncIterator[bytes]:
    """`chunks` as they come, until a window passes without bringing
    `floor.bytes_per_window` bytes: then HTTPException 408."""
    owed, left = floor.bytes_per_window, floor.window_seconds
    while True:
        started = time.monotonic()
        with anyio.move_on_after(left) as waiting:
            chunk = await anext(chunks, None)
        if waiting.cancelled_caught:
            raise _too_slow(floor)
        if chunk is None:
            return
        left -= time.monotonic() - started
        owed -= len(chunk)
        if owed <= 0:  # the floor is met: a new window starts
            owed, left = floor.bytes_per_window, floor.window_seconds
        elif left <= 0:
            raise _too_slow(floor)
        yield chunk


def _too_slow(floor: BodyFloor) -> HTTPException:
    return HTTPException(
        408,
        f"the request body arrived slower than {floor.bytes_per_second} bytes per second"
        f" over {floor.window_seconds:g} s; nothing was stored",
        # The rest of the body is never read, so the connection cannot serve another request.
        headers={"Connection": "close"},
    )
