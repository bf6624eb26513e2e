"""The test knob K0SPY_DOUBLE_FAULT: make a double crash, hang or start slowly, for supervisor tests.

Value: a comma-separated list of `[component=]fault`, a bare fault applying to every double.
Faults:
  crash               exit 1 right after the flags and files are checked (never listens)
  crash-after:SECONDS run normally, then exit 1
  hang                run normally but ignore SIGTERM (only SIGKILL stops it)
  stall               never open its listeners (never ready), still exit on SIGTERM
  slow-start:SECONDS  wait that long before opening listeners
Example: K0SPY_DOUBLE_FAULT="kube-scheduler=crash,kubelet=slow-start:3"
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ENV = "K0SPY_DOUBLE_FAULT"
_KINDS = {"crash", "crash-after", "hang", "stall", "slow-start"}


@dataclass(frozen=True)
class Fault:
    kind: str
    seconds: float = 0.0


def parse_faults(raw: str, component: str) -> Fault | None:
    """The fault for `component` (component-specific entries win over bare ones); None if none."""
    general: Fault | None = None
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        target, eq, spec = item.partition("=")
        if not eq:
            target, spec = "", item
        kind, _, seconds = spec.partition(":")
        if kind not in _KINDS:
            raise ValueError(f"{ENV}: unknown fault {spec!r} (one of {', '.join(sorted(_KINDS))})")
        fault = Fault(kind, float(seconds) if seconds else 0.0)
        if target == component:
            return fault
        if not target:
            general = fault
    return general


def fault_for(component: str) -> Fault | None:
    return parse_faults(os.environ.get(ENV, ""), component)
