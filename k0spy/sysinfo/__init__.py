"""Pre-flight probes: does this machine look like it can run a k0s controller and/or worker?

`run_probes(paths, controller=, worker=, debug=)` runs every probe for the roles and returns a
`ProbeReport`; `preflight(...)` is the check `controller`/`worker` run before starting anything.
"""

from k0spy.sysinfo.model import ProbeReport, ProbeResult, Status
from k0spy.sysinfo.runner import PreflightFailed, preflight, run_probes

__all__ = ["PreflightFailed", "ProbeReport", "ProbeResult", "Status", "preflight", "run_probes"]
