"""Removing a directory tree the way reset must: never through a symlink, never across a mount.

`shutil.rmtree` would not follow symlinks, but it does descend into a filesystem mounted inside the tree.
This walk stays on the tree's own filesystem, unlinks symlinks without looking at their targets, and
records every entry it could not remove with the reason, for the leftover report.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Leftover:
    path: Path
    reason: str


@dataclass
class Removal:
    removed: list[Path] = field(default_factory=list)
    leftovers: list[Leftover] = field(default_factory=list)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "link"
    return "dir" if stat.S_ISDIR(mode) else "file"


def list_tree(top: Path) -> list[tuple[str, Path]]:
    """Every entry reset would remove under `top`, children before parents, without crossing mounts."""
    try:
        st = top.lstat()
    except FileNotFoundError:
        return []
    if not stat.S_ISDIR(st.st_mode):
        return [(_kind(st.st_mode), top)]
    entries: list[tuple[str, Path]] = []
    _walk(top, st.st_dev, entries)
    entries.append(("dir", top))
    return entries


def _walk(directory: Path, dev: int, out: list[tuple[str, Path]]) -> None:
    try:
        children = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return
    for entry in children:
        path = Path(entry.path)
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            # Removed under us since the listing, e.g. a snapshot that a still-running containerd
            # collects after reset deleted its container: gone is what reset wants.
            continue
        if stat.S_ISDIR(st.st_mode) and st.st_dev == dev:
            _walk(path, dev, out)
        out.append(("mount" if stat.S_ISDIR(st.st_mode) and st.st_dev != dev else _kind(st.st_mode), path))


def _reason(err: OSError) -> str:
    text = err.strerror or str(err)
    if err.errno == 1:  # EPERM as root: the immutable or append-only attribute
        text += " (immutable or append-only? see lsattr; chattr -i removes it)"
    return text


def remove_tree(top: Path, *, keep_top: bool = False) -> Removal:
    """Remove `top` and everything below it on the same filesystem; report what stays and why."""
    result = Removal()
    for kind, path in list_tree(top):
        if keep_top and path == top:
            continue
        if kind == "mount":
            result.leftovers.append(Leftover(path, "a filesystem is still mounted here"))
            continue
        try:
            if kind == "dir":
                os.rmdir(path)
            else:
                os.unlink(path)
            result.removed.append(path)
        except FileNotFoundError:
            continue
        except OSError as err:
            if not (kind == "dir" and err.errno == 39 and _has_leftover_below(result, path)):
                result.leftovers.append(Leftover(path, _reason(err)))
    return result


def _has_leftover_below(result: Removal, directory: Path) -> bool:
    """A directory that stays only because something in it stayed is not reported a second time."""
    return any(directory in leftover.path.parents for leftover in result.leftovers)
