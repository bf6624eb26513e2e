"""Probes of the operating system itself: its name, kernel release, open-file limit and AppArmor.

Verdicts follow k0s (`internal/pkg/sysinfo/probes/linux/{linux,kernel,ulimit,apparmor}.go` and
`internal/pkg/sysinfo/host_linux.go`): a non-Linux OS is rejected, an old kernel or a low open-file
limit is only a warning, and AppArmor is reported, never judged.
"""

from __future__ import annotations

import os
import re
import resource
from pathlib import Path

from k0spy.sysinfo.model import ProbeResult, Status

OS_PATH = ("os",)

# k0s's pattern, kept as it is: the alternation is not anchored as a whole, so any release with a digit
# 4-9 or two adjacent digits anywhere passes ("2.6.32" does), and "3.2.0" does not.
_KERNEL_RELEASE_RE = re.compile(r"^3\.1[0-9]|[4-9]|[1-9][0-9]")
MIN_OPEN_FILES = 65536


def assess_os(sysname: str) -> ProbeResult:
    if sysname == "Linux":
        return ProbeResult(OS_PATH, "Operating system", Status.PASS, sysname)
    return ProbeResult(OS_PATH, "Operating system", Status.FAIL, sysname, "Linux required")


def kernel_release_problem(release: str) -> str:
    """Why k0s would warn about this kernel release, or "" when it is fine (3.10 and above)."""
    return "" if _KERNEL_RELEASE_RE.search(release) else "expected 3.10 and above"


def assess_kernel_release(release: str) -> ProbeResult:
    path = (*OS_PATH, "kernelRelease")
    problem = kernel_release_problem(release)
    if problem:
        return ProbeResult(path, "Linux kernel release", Status.WARN, release, problem)
    return ProbeResult(path, "Linux kernel release", Status.PASS, release)


def assess_open_files(soft: int, hard: int, minimum: int = MIN_OPEN_FILES) -> ProbeResult:
    path = (*OS_PATH, "RLIMIT_NOFILE")
    value = f"current: {_limit(soft)} / max: {_limit(hard)}"
    name = "Max. file descriptors per process"
    if soft != resource.RLIM_INFINITY and soft < minimum:
        return ProbeResult(path, name, Status.WARN, value, f"< {minimum}")
    return ProbeResult(path, name, Status.PASS, value)


def _limit(value: int) -> str:
    # Go prints RLIM_INFINITY as the unsigned 2^64-1.
    return str((1 << 64) - 1) if value == resource.RLIM_INFINITY else str(value)


def probe_open_files() -> ProbeResult:
    """The open-file limit k0s would see: Go (1.19+) raises its soft limit to the hard one at start-up.

    So a low soft limit under a high hard one passes in k0s, and does here; only the hard limit counts.
    """
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return assess_open_files(hard, hard)


def apparmor_state(security_dir: Path = Path("/sys/kernel/security")) -> str:
    """`active` when the AppArmor fs is there, `inactive` when it is a listed LSM only, else `unavailable`."""
    if (security_dir / "apparmor").is_dir():
        return "active"
    try:
        lsm = (security_dir / "lsm").read_text()
    except OSError:
        return "unavailable"
    return "inactive" if "apparmor" in lsm else "unavailable"


def probe_apparmor(security_dir: Path = Path("/sys/kernel/security")) -> ProbeResult:
    return ProbeResult((*OS_PATH, "AppArmor"), "AppArmor", Status.PASS, apparmor_state(security_dir))


def uname() -> os.uname_result:
    return os.uname()
