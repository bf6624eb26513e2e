"""Probes k0spy shows on top of k0s's: /sys, time sync, the kernel modules a worker loads, iptables.

k0s does not check these, so they only ever pass, warn or inform (never fail), and they run only for the
`sysinfo` command (debug probes), so that pre-flight decides exactly as k0s does. The kernel-module facts
are the ones k0s's worker kernel set-up tests before it runs `modprobe`
(`pkg/component/worker/kernelsetup_linux.go`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
from functools import cache
from pathlib import Path

from k0spy.sysinfo.executables import probe_executable
from k0spy.sysinfo.model import ProbeResult, Status
from k0spy.sysinfo.mounts import probe_sysfs

EXTRAS_PATH = ("k0spy",)

# module -> (what shows it is there, relative to /proc; how that is checked)
WORKER_MODULES: dict[str, str] = {
    "overlay": "filesystems",
    "nf_conntrack": "net/nf_conntrack",
    "br_netfilter": "sys/net/bridge/bridge-nf-call-iptables",
    "ip_tables": "net/ip_tables_targets",
}

_TIME_ERROR = 5  # adjtimex(2): the clock is not synchronized


def has_filesystem(filesystems_text: str, name: str) -> bool:
    """Whether /proc/filesystems lists `name` (built in or loaded)."""
    return any(line.split()[-1:] == [name] for line in filesystems_text.splitlines())


def module_present(module: str, proc: Path = Path("/proc")) -> bool:
    evidence = WORKER_MODULES[module]
    if evidence == "filesystems":
        try:
            return has_filesystem((proc / "filesystems").read_text(), module)
        except OSError:
            return False
    return (proc / evidence).exists()


def assess_module(path: tuple[str, ...], module: str, present: bool, modprobe: str | None) -> ProbeResult:
    name = f"Kernel module: {module}"
    if present:
        return ProbeResult(path, name, Status.PASS, "loaded or built in")
    if modprobe is None:
        return ProbeResult(path, name, Status.WARN, "not loaded", "modprobe is not in PATH to load it")
    return ProbeResult(path, name, Status.WARN, "not loaded", f"the worker will try {modprobe} {module}")


@cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def clock_state() -> int:
    """adjtimex(2)'s return value: 0-4 synchronized states, 5 (TIME_ERROR) unsynchronized."""
    buf = ctypes.create_string_buffer(512)  # struct timex is 208 bytes on 64-bit; modes = 0 reads only
    ret = int(_libc().adjtimex(buf))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return ret


def assess_time_sync(path: tuple[str, ...], state: int) -> ProbeResult:
    name = "System clock synchronized"
    if state == _TIME_ERROR:
        return ProbeResult(path, name, Status.WARN, "no",
                           "no NTP or PTP daemon disciplines the clock; certificates and etcd need sane time")
    return ProbeResult(path, name, Status.PASS, "yes")


def probe_time_sync(path: tuple[str, ...]) -> ProbeResult:
    try:
        return assess_time_sync(path, clock_state())
    except (OSError, AttributeError) as err:
        return ProbeResult(path, "System clock synchronized", Status.INFO, "unknown", f"adjtimex: {err}")


def extra_probes(*, worker: bool, bin_dir: Path, proc: Path = Path("/proc")) -> list[ProbeResult]:
    """The header row, then each k0spy addition."""
    results = [ProbeResult(EXTRAS_PATH, "Additional checks (k0spy)", Status.INFO, "not part of k0s's checks")]
    results.append(probe_sysfs((*EXTRAS_PATH, "sysfs"), proc))
    results.append(probe_time_sync((*EXTRAS_PATH, "timeSync")))
    if not worker:
        return results
    search = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])
    results.append(probe_executable(EXTRAS_PATH, "iptables", search))
    modprobe = shutil.which("modprobe")
    for module in WORKER_MODULES:
        present = module_present(module, proc)
        results.append(assess_module((*EXTRAS_PATH, f"kernelModule:{module}"), module, present, modprobe))
    return results
