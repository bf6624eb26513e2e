"""Kernel set-up before containerd and kubelet start: modules and sysctls, best effort with warnings.

As k0s's KernelSetup (§7 step 5): `modprobe` overlay, nf_conntrack, br_netfilter and ip_tables when their
/proc marker is missing, then write `1` to the forwarding and bridge-netfilter sysctls. Nothing here is
fatal: a container host may have everything built in, no modprobe, or a read-only /proc/sys, and the
operator gets one warning per step that did not work.

`plan(proc)` decides purely from what /proc shows; `apply(plan, proc)` does it. Both take the /proc root,
so tests run them against a fake tree and never change the machine's sysctls.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
SYSCTLS = (
    "net/ipv4/conf/all/forwarding",
    "net/ipv4/conf/default/forwarding",
    "net/ipv6/conf/all/forwarding",
    "net/ipv6/conf/default/forwarding",
    "net/bridge/bridge-nf-call-iptables",
    "net/bridge/bridge-nf-call-ip6tables",
)


@dataclass(frozen=True)
class KernelPlan:
    modules: tuple[str, ...]
    sysctls: tuple[str, ...] = SYSCTLS


def has_filesystem(filesystems: str, name: str) -> bool:
    """Whether /proc/filesystems lists `name` (lines are `nodev\tname` or `\tname`)."""
    return any(line.split()[-1:] == [name] for line in filesystems.splitlines())


def plan(proc: Path = PROC) -> KernelPlan:
    """The modules to load: those whose /proc marker is missing."""
    try:
        filesystems = (proc / "filesystems").read_text()
    except OSError:
        filesystems = ""
    modules = []
    if not has_filesystem(filesystems, "overlay"):
        modules.append("overlay")
    if not (proc / "net/nf_conntrack").exists():
        modules.append("nf_conntrack")
    if not (proc / "sys/net/bridge/bridge-nf-call-iptables").exists():
        modules.append("br_netfilter")
    if not (proc / "net/ip_tables_targets").exists():
        modules.append("ip_tables")
    return KernelPlan(tuple(modules))


def modprobe(module: str, modprobe_bin: str | None) -> str | None:
    """Load one module; the warning text when that did not work."""
    if modprobe_bin is None:
        return f"cannot load kernel module {module}: modprobe not found"
    try:
        done = subprocess.run([modprobe_bin, module], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"cannot load kernel module {module}: {err}"
    if done.returncode != 0:
        return f"cannot load kernel module {module}: {(done.stderr or done.stdout).strip()}"
    return None


def enable_sysctl(entry: str, proc: Path) -> str | None:
    """Write `1`; the warning text when that did not work (a value already 1 is left alone)."""
    path = proc / "sys" / entry
    try:
        if path.read_text().strip() == "1":
            return None
        path.write_text("1")
    except OSError as err:
        return f"cannot enable {path}: {err.strerror or err}"
    return None


def apply(kernel_plan: KernelPlan, proc: Path = PROC, modprobe_bin: str | None = None) -> list[str]:
    """Carry out the plan; returns the warnings (the caller logs them), never raises."""
    binary = modprobe_bin or shutil.which("modprobe")
    warnings = [w for w in (modprobe(m, binary) for m in kernel_plan.modules) if w]
    warnings += [w for w in (enable_sysctl(s, proc) for s in kernel_plan.sysctls) if w]
    return warnings


def kernel_setup(proc: Path = PROC) -> list[str]:
    """Plan and apply, logging each warning; returns them for status and tests."""
    from k0spy.log import get_logger

    warnings = apply(plan(proc), proc)
    log = get_logger(component="kernel")
    for warning in warnings:
        log.warning("kernel.setup", problem=warning)
    return warnings
