from __future__ import annotations

import time

from tim.domain.model.history import SYSTEM, Actor


class SystemClock:
    def now(self) -> int:
        return int(time.time())


def unattributed() -> Actor:
    """Who makes a change that no caller is named for: tim itself, now."""
    return Actor(SYSTEM, SystemClock().now())
