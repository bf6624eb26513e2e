"""Probes of the machine's resources: memory, the data dir's file system and free space, name resolution.

Each probe takes what it measures as arguments where that is cheap to fake (a total, a statvfs result) so
that the verdicts are tested without the machine; the `probe_*` functions do the measuring. Thresholds
and wording follow k0s (`internal/pkg/sysinfo/probes/{memory,disk,filesystem,network}.go`): too little
memory or disk is a warning, never a failure; only a probe that cannot look at all is an error.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

from k0spy.sysinfo import fsmagic
from k0spy.sysinfo.model import ProbeResult, Status, iec_bytes


def assess_total_memory(path: tuple[str, ...], total: int, minimum: int) -> ProbeResult:
    if total >= minimum:
        return ProbeResult(path, "Total memory", Status.PASS, iec_bytes(total))
    reason = f"{iec_bytes(minimum)} recommended"
    return ProbeResult(path, "Total memory", Status.WARN, iec_bytes(total), reason)


def total_memory() -> int:
    """Total RAM as sysinfo(2) reports it (glibc computes `_SC_PHYS_PAGES` from it)."""
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def probe_total_memory(path: tuple[str, ...], minimum: int) -> ProbeResult:
    try:
        total = total_memory()
    except (OSError, ValueError) as err:
        return ProbeResult(path, "Total memory", Status.ERROR, reason=f"sysinfo syscall failed: {err}")
    return assess_total_memory(path, total, minimum)


def probe_file_system(path: tuple[str, ...], fs_path: str) -> ProbeResult:
    """The type of the file system holding `fs_path`, or its nearest existing parent (then named instead)."""
    try:
        probed, magic = fsmagic.statfs_walking_up(fs_path)
    except OSError as err:
        reason = _os_error_text("statfs", err)
        return ProbeResult(path, f"File system of {fs_path}", Status.ERROR, reason=reason)
    name = f"File system of {probed}"  # k0s names the directory it could look at
    fs = fsmagic.fs_name(magic)
    if fs is None:
        return ProbeResult(path, name, Status.WARN, "unknown")
    return ProbeResult(path, name, Status.PASS, fs)


def assess_free_disk(
    path: tuple[str, ...], fs_path: str, free: int, total: int, minimum: int, *, relative: bool
) -> ProbeResult:
    """k0s's verdict on free space: bytes against a minimum, or whole percent against a minimum percent."""
    if relative:
        name = f"Relative disk space available for {fs_path}"
        percent = 100 * free // total if total else 0
        if percent >= minimum:
            return ProbeResult(path, name, Status.PASS, f"{percent}%")
        return ProbeResult(path, name, Status.WARN, f"{percent}%", f"{minimum}% recommended")
    name = f"Disk space available for {fs_path}"
    if free >= minimum:
        return ProbeResult(path, name, Status.PASS, iec_bytes(free))
    return ProbeResult(path, name, Status.WARN, iec_bytes(free), f"{iec_bytes(minimum)} recommended")


def probe_free_disk(path: tuple[str, ...], fs_path: str, minimum: int, *, relative: bool) -> ProbeResult:
    """Free space for unprivileged users (f_bavail) on the file system of `fs_path`."""
    try:
        st = _statvfs_walking_up(fs_path)
    except OSError as err:
        prefix = "Relative disk" if relative else "Disk"
        name = f"{prefix} space available for {fs_path}"
        return ProbeResult(path, name, Status.ERROR, reason=_os_error_text("statfs", err))
    free = st.f_bavail * st.f_bsize
    total = st.f_blocks * st.f_bsize
    return assess_free_disk(path, fs_path, free, total, minimum, relative=relative)


def _statvfs_walking_up(fs_path: str) -> os.statvfs_result:
    current = fs_path
    while True:
        try:
            return os.statvfs(current)
        except FileNotFoundError:
            parent = os.path.dirname(current)
            if parent == current:
                raise
            current = parent


Resolver = Callable[[str], list[str]]


def lookup_ip(host: str) -> list[str]:
    """The distinct addresses `host` resolves to, in resolver order (Go's net.LookupIP)."""
    seen: list[str] = []
    for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP):
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


def probe_name_resolution(path: tuple[str, ...], host: str, resolve: Resolver = lookup_ip) -> ProbeResult:
    name = f"Name resolution: {host}"
    try:
        addresses = resolve(host)
    except OSError as err:
        return ProbeResult(path, name, Status.ERROR, reason=f"lookup {host}: {err}")
    if not addresses:
        return ProbeResult(path, name, Status.ERROR, reason="no IP addresses")
    return ProbeResult(path, name, Status.PASS, "[" + " ".join(addresses) + "]")


def _os_error_text(op: str, err: OSError) -> str:
    reason = (err.strerror or str(err)).lower()
    return f"{op} {err.filename}: {reason}" if err.filename else f"{op}: {reason}"
