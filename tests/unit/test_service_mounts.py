"""mountinfo parsing, the reverse mount order reset unmounts in, and the tree walk that never follows
a symlink or crosses into another filesystem."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from k0spy.service.mounts import mounts_under, parse_mountinfo
from k0spy.service.remove import list_tree, remove_tree

MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 22 0:40 / /var/lib/k0s/kubelet/pods/a rw - tmpfs tmpfs rw
31 30 0:41 / /var/lib/k0s/kubelet/pods/a/vol\\040x rw shared:7 master:2 - tmpfs tmpfs rw
32 22 0:42 / /var/lib/k0sother rw - tmpfs tmpfs rw
33 22 0:43 / /run/k0s/containerd/x/rootfs rw - overlay overlay rw,lowerdir=/a
"""


def test_parse_mountinfo_unescapes_and_reads_fstype() -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    assert [m.mount_id for m in mounts] == [22, 30, 31, 32, 33]
    assert mounts[2].mountpoint == Path("/var/lib/k0s/kubelet/pods/a/vol x")
    assert mounts[2].fstype == "tmpfs" and mounts[4].fstype == "overlay"


def test_mounts_under_is_innermost_first_and_exact_about_prefixes() -> None:
    found = mounts_under(parse_mountinfo(MOUNTINFO), [Path("/var/lib/k0s"), Path("/run/k0s")])
    assert [m.mount_id for m in found] == [33, 31, 30]  # /var/lib/k0sother is not under /var/lib/k0s


def test_list_tree_never_follows_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    top = tmp_path / "data"
    (top / "sub").mkdir(parents=True)
    (top / "sub" / "f").write_text("y")
    (top / "link").symlink_to(outside)
    assert list_tree(top) == [("link", top / "link"), ("file", top / "sub" / "f"), ("dir", top / "sub"),
                              ("dir", top)]
    result = remove_tree(top)
    assert not result.leftovers and not top.exists()
    assert (outside / "keep").read_text() == "x"


def test_remove_tree_tolerates_entries_vanishing_under_it(tmp_path: Path, monkeypatch: Any) -> None:
    """A still-running containerd collects snapshots while reset walks its directory."""
    top = tmp_path / "data"
    (top / "snapshots" / "2" / "work").mkdir(parents=True)
    (top / "snapshots" / "3").mkdir()
    real_scandir = os.scandir

    def racing_scandir(path: Any) -> list[os.DirEntry[str]]:
        entries = list(real_scandir(path))
        if Path(path) == top / "snapshots":  # listed, then collected before reset looks at it
            (top / "snapshots" / "2" / "work").rmdir()
            (top / "snapshots" / "2").rmdir()
        return entries

    monkeypatch.setattr("k0spy.service.remove.os.scandir", racing_scandir)
    result = remove_tree(top)
    assert result.leftovers == [] and not top.exists()


def test_remove_tree_keeps_top_when_asked(tmp_path: Path) -> None:
    top = tmp_path / "data"
    (top / "a").mkdir(parents=True)
    assert remove_tree(top, keep_top=True).removed == [top / "a"]
    assert top.is_dir() and os.listdir(top) == []


def test_mounts_under_leaves_the_kept_roots_mounted() -> None:
    mounts = parse_mountinfo(MOUNTINFO + "34 22 0:44 / /var/lib/k0s rw - ext4 /dev/vdb rw\n")
    found = mounts_under(mounts, [Path("/var/lib/k0s")], keep=[Path("/var/lib/k0s")])
    assert [m.mount_id for m in found] == [31, 30]

