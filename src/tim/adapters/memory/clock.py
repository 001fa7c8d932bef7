from __future__ import annotations

import threading


class ManualClock:
    """A clock that moves only when told to: for tests and simulations."""

    def __init__(self, now: int = 1_700_000_000):
        self._now = now
        self._lock = threading.Lock()

    def now(self) -> int:
        return self._now

    def set(self, now: int) -> None:
        with self._lock:
            self._now = now

    def advance(self, seconds: int = 1) -> int:
        with self._lock:
            self._now += seconds
            return self._now
