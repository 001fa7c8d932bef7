from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    def now(self) -> int:
        """Whole seconds since the Unix epoch."""
