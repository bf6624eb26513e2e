"""The recent probe results and state changes of one supervised process, for `status components
--max-count N` (k0s's `GET /components?maxCount=N`).

Why keep them: the status table shows only the latest probe, and a component that flaps between ready and
failing, or was restarted twice in the night, leaves only log lines behind. k0s keeps the last 3 probes
and events; k0spy keeps the last 16 of each, in memory, newest first when read.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

KEPT = 16


@dataclass
class History:
    probes: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=KEPT))
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=KEPT))

    def probe(self, ok: bool, message: str, at: float) -> None:
        self.probes.append({"at": at, "ok": ok, "message": message})

    def event(self, at: float, event: str, **fields: Any) -> None:
        """`state` (from, to, and why: the failing probe, the backoff delay) or `exited` (pid, how)."""
        self.events.append({"at": at, "event": event, **{k: v for k, v in fields.items() if v is not None}})

    def latest(self, count: int) -> dict[str, list[dict[str, Any]]]:
        """The last `count` of each (at most KEPT), newest first."""
        count = max(0, min(count, KEPT))
        return {"probes": list(self.probes)[::-1][:count], "events": list(self.events)[::-1][:count]}
