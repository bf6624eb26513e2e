"""The start-up timeline: when each component was initialised, spawned and became ready.

Times are kept on the monotonic clock relative to the daemon's start, so a slow start can be read
directly ("kube-apiserver took 4.1 s from spawn to ready"). `render_waterfall` draws it as text:

    component    init    start  spawned    ready  |0 ......................... 2.31s|
    etcd         0.000   0.004    0.009    0.512  |=#####                           |
    kube-api..   0.000   0.513    0.519    2.310  |      =#########################|

`=` is the time from start to spawn (stale-child take-over, exec), `#` from spawn to ready, `*` the span
of one of k0spy's own phases (`k0spy:pki`, `k0spy:staging`, ...), which have no process.
"""

from __future__ import annotations

import time
from typing import Any

EVENTS = ("init", "initialised", "start", "spawned", "ready", "stopped")


class Timeline:
    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.wall0 = time.time()
        self.marks: dict[str, dict[str, float]] = {}

    def mark(self, component: str, event: str) -> None:
        """Record `event` for `component` now; the first occurrence wins (a restart is not a start)."""
        self.marks.setdefault(component, {}).setdefault(event, time.monotonic() - self.t0)

    def since(self, component: str, event: str) -> float | None:
        return self.marks.get(component, {}).get(event)

    def to_json(self) -> dict[str, Any]:
        return {
            "startedAt": self.wall0,
            "components": [
                {"name": name, **{e: round(t, 6) for e, t in events.items()}}
                for name, events in self.marks.items()
            ],
        }


def _cell(value: Any) -> str:
    return f"{value:8.3f}" if isinstance(value, int | float) else f"{'-':>8}"


def render_waterfall(data: dict[str, Any], width: int = 40) -> str:
    """Text waterfall of a `Timeline.to_json()` document."""
    rows = data.get("components", [])
    if not rows:
        return "no components recorded\n"
    end = max((max(v for k, v in r.items() if k in EVENTS and k != "stopped") for r in rows
               if any(k in EVENTS for k in r)), default=0.0) or 1e-9
    name_w = max(9, *(len(r["name"]) for r in rows))
    scale = width / end
    head = f"{'component':<{name_w}} {'init':>8} {'start':>8} {'spawned':>8} {'ready':>8}  "
    lines = [head + f"|0 {'.' * (width - 9)} {end:5.2f}s|"]
    for r in rows:
        bar = [" "] * width
        start, spawned, ready = r.get("start"), r.get("spawned"), r.get("ready")
        spans: tuple[tuple[Any, Any, str], ...] = ((start, spawned, "="), (spawned, ready, "#"))
        if start is None:  # a k0spy phase (pki, staging, ...): one span from its beginning to its end
            spans = ((r.get("init"), ready, "*"),)
        for lo, hi, ch in spans:
            if lo is None or hi is None:
                continue
            a = min(width - 1, int(lo * scale))
            b = max(a + 1, min(width, round(hi * scale)))
            for i in range(a, b):
                bar[i] = ch
        cells = " ".join(_cell(r.get(k)) for k in ("init", "start", "spawned", "ready"))
        lines.append(f"{r['name']:<{name_w}} {cells}  |{''.join(bar)}|")
    return "\n".join(lines) + "\n"
