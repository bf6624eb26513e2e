"""klog-style (and, for kine, logrus-style) lines on stderr, so k0spy's log forwarding sees what it would see.

klog's text format: `Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg key="value" ...`, L in I/W/E/F.
Structured calls (InfoS/ErrorS) quote the message; `-v`/`--v` gates verbose lines.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from typing import Any


def _fmt_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, BaseException):
        return json.dumps(str(value))
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


class Klog:
    """One logger per process; `source` stands in for the Go file name of the real component."""

    def __init__(self, source: str, verbosity: int = 0, style: str = "klog") -> None:
        self.source = source
        self.verbosity = verbosity
        self.style = style

    def _emit(self, severity: str, msg: str, kv: dict[str, Any]) -> None:
        now = datetime.datetime.now()
        if self.style == "logrus":
            level = {"I": "info", "W": "warning", "E": "error", "F": "fatal"}[severity]
            stamp = now.astimezone().isoformat(timespec="seconds")
            extra = "".join(f" {k}={_fmt_value(v)}" for k, v in kv.items())
            line = f'time="{stamp}" level={level} msg={json.dumps(msg)}{extra}'
        else:
            frame = sys._getframe(2)
            where = f"{os.path.basename(frame.f_code.co_filename).removesuffix('.py')}.go:{frame.f_lineno}"
            extra = "".join(f" {k}={_fmt_value(v)}" for k, v in kv.items())
            line = f"{severity}{now:%m%d %H:%M:%S.%f} {os.getpid():7d} {where}] {json.dumps(msg)}{extra}"
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def info(self, msg: str, **kv: Any) -> None:
        self._emit("I", msg, kv)

    def v(self, level: int, msg: str, **kv: Any) -> None:
        if self.verbosity >= level:
            self._emit("I", msg, kv)

    def warning(self, msg: str, **kv: Any) -> None:
        self._emit("W", msg, kv)

    def error(self, msg: str, **kv: Any) -> None:
        self._emit("E", msg, kv)
