"""Pseudo file systems: /proc (a k0s worker requirement) and /sys (a k0spy addition), and mountinfo.

k0s decides on /proc by statfs: missing is a rejection, any other type than procfs is a rejection. k0spy
also shows what is mounted at /sys, read from /proc/self/mountinfo, as a debug probe that only warns:
kubelet and containerd read cgroup and device information there.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

from k0spy.sysinfo import fsmagic
from k0spy.sysinfo.model import ProbeResult, Status


def assess_procfs(path: tuple[str, ...], magic: int | None, error: OSError | None = None) -> ProbeResult:
    """k0s's verdict on /proc given its statfs type (or the error statfs gave)."""
    name = "/proc file system"
    if error is not None:
        if error.errno == errno.ENOENT:
            return ProbeResult(path, name, Status.FAIL, _errno_text(error))
        return ProbeResult(path, name, Status.ERROR, reason=f'failed to statfs "/proc": {_errno_text(error)}')
    assert magic is not None
    value = f"mounted (0x{magic:x})"
    if magic != fsmagic.PROC_SUPER_MAGIC:
        return ProbeResult(path, name, Status.FAIL, value, "unexpected file system type")
    return ProbeResult(path, name, Status.PASS, value)


def _errno_text(error: OSError) -> str:
    """The errno text as Go prints a bare syscall error ("no such file or directory")."""
    return (error.strerror or str(error)).lower()


def probe_procfs(path: tuple[str, ...], mount_point: str = "/proc") -> ProbeResult:
    try:
        return assess_procfs(path, fsmagic.fs_type(mount_point))
    except OSError as err:
        return assess_procfs(path, None, err)


@dataclass(frozen=True)
class Mount:
    """One line of /proc/<pid>/mountinfo (the fields the probes need)."""

    mount_point: str
    root: str
    fs_type: str
    source: str
    options: str


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo octal.
    out: list[str] = []
    i = 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[Mount]:
    """Parse mountinfo text; lines that do not have the " - " separator are skipped."""
    mounts = []
    for line in text.splitlines():
        before, sep, after = line.partition(" - ")
        if not sep:
            continue
        left = before.split()
        right = after.split()
        if len(left) < 6 or len(right) < 2:
            continue
        mounts.append(Mount(
            mount_point=_unescape(left[4]), root=_unescape(left[3]), fs_type=right[0],
            source=_unescape(right[1]), options=left[5],
        ))
    return mounts


def mount_at(mounts: list[Mount], mount_point: str) -> Mount | None:
    """The mount visible at exactly `mount_point` (the last one mounted there wins)."""
    found = None
    for mount in mounts:
        if mount.mount_point == mount_point:
            found = mount
    return found


def assess_sysfs(path: tuple[str, ...], mounts: list[Mount]) -> ProbeResult:
    name = "/sys file system"
    mount = mount_at(mounts, "/sys")
    if mount is None:
        return ProbeResult(path, name, Status.WARN, "not mounted", "kubelet and containerd read /sys")
    value = f"{mount.fs_type} ({'read-only' if 'ro' in mount.options.split(',') else 'read-write'})"
    if mount.fs_type != "sysfs":
        return ProbeResult(path, name, Status.WARN, value, "expected sysfs")
    return ProbeResult(path, name, Status.PASS, value)


def read_mountinfo(proc: Path = Path("/proc")) -> list[Mount]:
    return parse_mountinfo((proc / "self" / "mountinfo").read_text())


def probe_sysfs(path: tuple[str, ...], proc: Path = Path("/proc")) -> ProbeResult:
    try:
        mounts = read_mountinfo(proc)
    except OSError as err:
        return ProbeResult(path, "/sys file system", Status.WARN, "unknown", f"reading mountinfo: {err}")
    return assess_sysfs(path, mounts)
