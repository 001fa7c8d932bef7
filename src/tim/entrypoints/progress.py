"""Progress of `tim import` and `tim export`, on stderr: a rich progress bar
(files, bytes, rate, time left) on a terminal; plain lines elsewhere (CI,
cron, a log file): one per file that did not go through and a status line
every few seconds. The summary goes to stdout either way."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from typing import TextIO

STATUS_EVERY_SECONDS = 5.0


class Progress:
    def __init__(self, what: str, *, stream: TextIO | None = None, terminal: bool | None = None):
        self._what = what
        self._stream = stream or sys.stderr
        self._terminal = self._stream.isatty() if terminal is None else terminal
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.problems: list[tuple[str, str]] = []  # (file, reason)
        self.bytes = 0
        self._files_total: int | None = None
        self._started = time.monotonic()
        self._last_status = self._started
        self._bar = None
        self._task = None

    def __enter__(self) -> Progress:
        if self._terminal:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                MofNCompleteColumn,
                Progress as Bar,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self._stream),
            )
            self._bar.start()
            self._task = self._bar.add_task(self._what, total=None)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def expect(self, files: int, size: int | None = None) -> None:
        """The work ahead: how many files (and bytes, when known)."""
        self._files_total = files
        if self._bar is not None:
            self._bar.update(self._task, total=size if size is not None else None)

    def done(self, outcome: str, size: int = 0, *, name: str = "", reason: str = "", listed: bool = True) -> None:
        """One file finished as `outcome` (imported, duplicate, failed...),
        for `reason`; `listed` ones are named again in the summary."""
        with self._lock:
            self.counts[outcome] += 1
            self.bytes += size
            if reason and listed:
                self.problems.append((name, reason))
            if self._bar is not None:
                self._bar.update(self._task, advance=size, description=self._description())
                if reason and listed:
                    self._bar.console.print(f"{outcome}: {name}: {reason}", markup=False, highlight=False)
                return
            if reason:
                print(f"{outcome}: {name}: {reason}", file=self._stream, flush=True)
            now = time.monotonic()
            if now - self._last_status >= STATUS_EVERY_SECONDS:
                self._last_status = now
                print(self.status(), file=self._stream, flush=True)

    def _description(self) -> str:
        files = sum(self.counts.values())
        total = "" if self._files_total is None else f"/{self._files_total}"
        return f"{self._what} {files}{total} files"

    def status(self) -> str:
        seconds = max(time.monotonic() - self._started, 1e-6)
        files = sum(self.counts.values())
        total = "" if self._files_total is None else f" of {self._files_total}"
        parts = ", ".join(f"{count} {outcome}" for outcome, count in sorted(self.counts.items()))
        return (
            f"{self._what}: {files}{total} files ({parts or 'none yet'}), {self.bytes / 1e6:.1f} MB, "
            f"{files / seconds:.0f} files/s, {self.bytes / 1e6 / seconds:.1f} MB/s"
        )

    @property
    def seconds(self) -> float:
        return time.monotonic() - self._started

    def print_summary(self, main: str) -> None:
        """On stdout: the counts, the speed of the `main` outcome, and every
        file that did not go through, with the reason."""
        seconds = max(self.seconds, 1e-6)
        done = self.counts[main]
        others = "; ".join(f"{count} {outcome}" for outcome, count in sorted(self.counts.items()) if outcome != main)
        print(
            f"{main} {done} files ({self.bytes / 1e6:.1f} MB) in {seconds:.1f} s: {done / seconds:.1f} files/s, "
            f"{self.bytes / 1e6 / seconds:.1f} MB/s" + (f"; {others}" if others else "")
        )
        for name, reason in self.problems:
            print(f"  {name}: {reason}")
