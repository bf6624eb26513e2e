"""mountinfo parsing and the /proc and /sys verdicts."""

from __future__ import annotations

import errno
from pathlib import Path

from k0spy.sysinfo import fsmagic
from k0spy.sysinfo.model import Status
from k0spy.sysinfo.mounts import assess_procfs, assess_sysfs, mount_at, parse_mountinfo, probe_sysfs

MOUNTINFO = r"""22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:2 - proc proc rw
24 22 0:22 / /sys ro,nosuid,nodev,noexec,relatime shared:3 - sysfs sysfs ro
25 24 0:23 / /sys/fs/cgroup rw,nosuid shared:4 - tmpfs tmpfs rw,mode=755
26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid shared:5 - cgroup2 cgroup2 rw
27 22 0:25 / /mnt/with\040space rw - tmpfs my\134dev rw
broken line without separator
"""


def test_parse_mountinfo() -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    assert len(mounts) == 6
    assert mounts[0].mount_point == "/" and mounts[0].fs_type == "ext4" and mounts[0].source == "/dev/vda"
    assert mounts[5].mount_point == "/mnt/with space"
    assert mounts[5].source == "my\\dev"
    unified = mount_at(mounts, "/sys/fs/cgroup/unified")
    assert unified is not None and unified.fs_type == "cgroup2"
    assert mount_at(mounts, "/nope") is None


def test_last_mount_at_a_point_wins() -> None:
    text = MOUNTINFO + "28 24 0:26 / /sys rw - tmpfs none rw\n"
    found = mount_at(parse_mountinfo(text), "/sys")
    assert found is not None and found.fs_type == "tmpfs"


def test_sysfs_verdicts() -> None:
    ok = assess_sysfs(("k0spy", "sysfs"), parse_mountinfo(MOUNTINFO))
    assert (ok.status, ok.value) == (Status.PASS, "sysfs (read-only)")
    missing = assess_sysfs(("k0spy", "sysfs"), [])
    assert (missing.status, missing.value) == (Status.WARN, "not mounted")
    wrong = assess_sysfs(("x",), parse_mountinfo("1 0 0:1 / /sys rw - tmpfs none rw\n"))
    assert (wrong.status, wrong.reason) == (Status.WARN, "expected sysfs")


def test_sysfs_probe_reads_a_proc_tree(tmp_path: Path) -> None:
    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "mountinfo").write_text(MOUNTINFO)
    assert probe_sysfs(("k0spy", "sysfs"), tmp_path).value == "sysfs (read-only)"
    assert probe_sysfs(("k0spy", "sysfs"), tmp_path / "absent").status is Status.WARN


def test_procfs_verdicts() -> None:
    path = ("os", "procfs")
    ok = assess_procfs(path, fsmagic.PROC_SUPER_MAGIC)
    assert (ok.status, ok.value, ok.name) == (Status.PASS, "mounted (0x9fa0)", "/proc file system")
    wrong = assess_procfs(path, fsmagic.TMPFS_MAGIC)
    assert (wrong.status, wrong.value, wrong.reason) == (
        Status.FAIL, "mounted (0x1021994)", "unexpected file system type")
    gone = assess_procfs(path, None, FileNotFoundError(errno.ENOENT, "No such file or directory"))
    assert (gone.status, gone.value) == (Status.FAIL, "no such file or directory")
    denied = assess_procfs(path, None, PermissionError(errno.EACCES, "Permission denied"))
    assert (denied.status, denied.reason) == (Status.ERROR, 'failed to statfs "/proc": permission denied')
