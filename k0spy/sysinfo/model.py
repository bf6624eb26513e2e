"""What a probe reports, and the report of a whole run.

k0s's probes report to one of four reporter methods: Pass, Warn, Reject and Error. Rejected and Error both
make `k0s sysinfo` exit 1 and abort start-up in pre-flight; a warning never does. k0spy keeps those four
outcomes (as `PASS`, `WARN`, `FAIL`, `ERROR`) and adds `INFO` for facts that k0spy shows on top of k0s's
probes and that carry no verdict. Results are flat and ordered as k0s prints them; the `path` of each one
says where it sits in the probe tree (its length gives the indentation).
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

KI = 1 << 10
MI = 1 << 20
GI = 1 << 30


class Status(enum.Enum):
    """The outcome of one probe; the value is k0s's JSON `category` except for `INFO`."""

    PASS = "pass"
    WARN = "warning"
    FAIL = "rejected"
    ERROR = "error"
    INFO = "info"

    @property
    def failed(self) -> bool:
        return self in (Status.FAIL, Status.ERROR)


@dataclass(frozen=True)
class ProbeResult:
    """One probe's outcome: where it sits, what it looked at, what it found and why it is not a pass."""

    path: tuple[str, ...]
    name: str
    status: Status
    value: str = ""
    reason: str = ""

    @property
    def group(self) -> str:
        """The top of the probe tree this result belongs to (`os`, `memory`, `disk:/var/lib/k0s`...)."""
        return self.path[0] if self.path else ""

    def as_k0s_dict(self) -> dict[str, Any]:
        """The shape of one entry of `k0s sysinfo -o json`, so that scripts written for k0s keep working.

        k0s puts an error's text nowhere useful (a Go error marshals to `{}`); k0spy puts it in `error`.
        """
        error = self.reason if self.status is Status.ERROR else None
        return {
            "path": list(self.path) or None,
            "displayName": self.name,
            "prop": "" if self.status is Status.ERROR else self.value,
            "message": "" if self.status is Status.ERROR else self.reason,
            "category": self.status.value,
            "error": error,
        }


@dataclass
class ProbeReport:
    """Every result of one run, in order."""

    results: list[ProbeResult] = field(default_factory=list)

    def __iter__(self) -> Iterator[ProbeResult]:
        return iter(self.results)

    def add(self, result: ProbeResult) -> ProbeResult:
        self.results.append(result)
        return result

    @property
    def failed(self) -> bool:
        """Whether a probe rejected what it saw or could not look: `k0s sysinfo` exits 1 on this."""
        return any(r.status.failed for r in self.results)

    @property
    def failures(self) -> list[ProbeResult]:
        return [r for r in self.results if r.status.failed]

    @property
    def warnings(self) -> list[ProbeResult]:
        return [r for r in self.results if r.status is Status.WARN]

    def find(self, *path: str) -> ProbeResult | None:
        """The result at exactly this path, if that probe ran."""
        for result in self.results:
            if result.path == path:
                return result
        return None


def _float32(value: float) -> float:
    return float(struct.unpack("f", struct.pack("f", value))[0])


def iec_bytes(size: int) -> str:
    """A byte count as k0s prints it: `512 B`, `1.5 GiB` (one decimal, computed in float32 as k0s does)."""
    prefixes = "KMGTPE"
    for i in range(len(prefixes) + 1):
        scaled = _float32(_float32(size) / _float32(1 << (i * 10)))
        if scaled < 1024 or i == len(prefixes):
            if i == 0:
                return f"{size} B"
            return f"{scaled:.1f} {prefixes[i - 1]}iB"
    raise AssertionError("unreachable")
