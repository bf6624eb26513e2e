"""Progress for large databases: a byte counter on stderr, rewritten in place, only on a terminal.

A backup of a 1 GB etcd runs for tens of seconds; an operator at a terminal wants to see it move, a
script or journald does not want carriage returns. A plain counter needs no dependency (rich would cost
an import and a package for one line of output).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


class ByteProgress:
    """Callable with a byte count; prints `<label>: 512.0 MiB (120.3 MiB/s)` at most 5 times a second."""

    def __init__(self, label: str, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label = label
        self.total = 0
        self.started = time.monotonic()
        self.shown = 0.0

    def __call__(self, count: int) -> None:
        self.total += count
        now = time.monotonic()
        if self.enabled and now - self.shown >= 0.2:
            self.shown = now
            self._show(now)

    def _show(self, now: float) -> None:
        rate = self.total / max(now - self.started, 1e-6)
        self.stream.write(f"\r{self.label}: {human(self.total)} ({human(rate)}/s)   ")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self._show(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
