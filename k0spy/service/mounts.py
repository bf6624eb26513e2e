"""Mounts under the node's directories: found in /proc/self/mountinfo, unmounted innermost first.

k0s unmounts everything under the data dir and the kubelet root before removing them, in reverse mount
order, falling back to a lazy unmount. Removing a directory tree with a filesystem still mounted inside
it would delete that filesystem's contents (or a host path bind-mounted into a pod), so reset only
removes a tree once nothing is mounted below it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MNT_DETACH = 2
_OCTAL = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Mount:
    mount_id: int
    mountpoint: Path
    fstype: str
    source: str


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as \\ooo."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[Mount]:
    """Mounts in the kernel's order (parents before children); see proc(5) for the field layout."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 10 or "-" not in fields:
            continue
        sep = fields.index("-", 6)
        mounts.append(Mount(
            mount_id=int(fields[0]), mountpoint=Path(_unescape(fields[4])),
            fstype=fields[sep + 1], source=_unescape(fields[sep + 2]),
        ))
    return mounts


def read_mounts() -> list[Mount]:
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        return parse_mountinfo(fh.read())


def is_under(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def mounts_under(mounts: list[Mount], roots: Iterable[Path], keep: Iterable[Path] = ()) -> list[Mount]:
    """Mounts at or below any of `roots` (resolved), innermost (most recent) first, except those at
    the `keep` paths themselves: a data dir on its own volume was mounted by the operator, not by k0spy,
    and is emptied, not unmounted (as in k0s)."""
    resolved = [Path(os.path.realpath(root)) for root in roots]
    kept = {Path(os.path.realpath(path)) for path in keep}
    return [m for m in reversed(mounts) if is_under(m.mountpoint, resolved) and m.mountpoint not in kept]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def unmount(path: Path) -> str:
    """Unmount `path`, lazily if a plain unmount fails; returns how, raises OSError if both fail."""
    libc = _libc()
    target = os.fsencode(path)
    if libc.umount2(target, 0) == 0:
        return "unmounted"
    first = ctypes.get_errno()
    if libc.umount2(target, MNT_DETACH) == 0:
        return f"lazily unmounted ({os.strerror(first)})"
    err = ctypes.get_errno()
    raise OSError(err, os.strerror(err), str(path))
