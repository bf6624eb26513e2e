"""cgroups: version detection, /proc/cgroups, cgroup.controllers, /proc/self/cgroup and verdicts."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from k0spy.sysinfo import fsmagic
from k0spy.sysinfo.cgroups import (
    Controller,
    DetectionFailed,
    assess_controller,
    detect_version,
    parse_proc_cgroups,
    parse_proc_self_cgroup,
    parse_root_controllers,
    probe_cgroups,
    unified_path,
)
from k0spy.sysinfo.model import Status

PROC_CGROUPS = """#subsys_name\thierarchy\tnum_cgroups\tenabled
cpuset\t3\t1\t1
cpu\t1\t1\t1
cpuacct\t2\t1\t1
blkio\t7\t1\t1
memory\t4\t24\t1
devices\t5\t1\t1
freezer\t6\t1\t1
net_cls\t0\t1\t1
hugetlb\t0\t1\t0
pids\t8\t1\t1
"""

HYBRID_SELF_CGROUP = """9:name=systemd:/
8:pids:/
4:memory:/process_api/1796039d95d2ba668246354cd90e8084
2:cpuacct:/
1:cpu:/
0::/
"""


def test_proc_cgroups_lists_enabled_controllers() -> None:
    found = parse_proc_cgroups(PROC_CGROUPS)
    assert set(found) == {
        "cpuset", "cpu", "cpuacct", "blkio", "memory", "devices", "freezer", "net_cls", "pids"}
    assert "hugetlb" not in found  # enabled = 0
    assert str(found["cpu"]) == "available"


def test_root_controllers_stand_in_for_v1_names() -> None:
    found = parse_root_controllers("cpuset cpu io memory hugetlb pids rdma misc\n")
    assert str(found["cpu"]) == "available (is a listed root controller)"
    assert str(found["cpuacct"]) == "available (via cpu in version 2)"
    assert str(found["blkio"]) == "available (via io in version 2)"
    assert "devices" not in found
    assert parse_root_controllers("") == {}


def test_proc_self_cgroup() -> None:
    entries = parse_proc_self_cgroup(HYBRID_SELF_CGROUP)
    assert entries[0].controllers == ("name=systemd",)
    assert entries[2].path == "/process_api/1796039d95d2ba668246354cd90e8084"
    assert unified_path(entries) == "/"
    scope = "/user.slice/session-1.scope"
    assert unified_path(parse_proc_self_cgroup(f"0::{scope}\n")) == scope
    assert unified_path(parse_proc_self_cgroup("1:cpu:/\n")) is None
    assert parse_proc_self_cgroup("garbage\n\n") == []


def test_detect_version_from_statfs_type() -> None:
    mp = Path("/sys/fs/cgroup")
    assert detect_version(fsmagic.CGROUP2_SUPER_MAGIC, mp) == 2
    assert detect_version(fsmagic.TMPFS_MAGIC, mp) == 1  # the v1 and hybrid layouts
    assert detect_version(fsmagic.CGROUP_SUPER_MAGIC, mp) == 1
    with pytest.raises(DetectionFailed, match='unexpected file system type of "/sys/fs/cgroup": 0xef53'):
        detect_version(0xEF53, mp)
    with pytest.raises(DetectionFailed, match='no file system mounted at "/sys/fs/cgroup"'):
        detect_version(None, mp, FileNotFoundError(errno.ENOENT, "No such file or directory"))
    with pytest.raises(OSError, match="failed to stat"):
        detect_version(None, mp, PermissionError(errno.EACCES, "Permission denied"))


def test_controller_text() -> None:
    assert str(Controller(False)) == "unavailable"
    no_file = "cgroup.freeze doesn't exist"
    assert str(Controller(False, no_file)) == f"unavailable ({no_file})"
    assert str(Controller(True, "unknown", "insufficient permissions")) == "unknown"


def test_controller_verdicts() -> None:
    path = ("os", "cgroups", "pids")
    assert assess_controller(path, "pids", Controller(True), require=True).status is Status.PASS
    missing = assess_controller(path, "pids", Controller(False), require=True)
    assert (missing.status, missing.value) == (Status.FAIL, "unavailable")
    assert missing.name == 'cgroup controller "pids"'
    assert assess_controller(path, "blkio", Controller(False), require=False).status is Status.WARN
    unsure = assess_controller(path, "devices", Controller(True, "unknown", "try as root"), require=True)
    assert (unsure.status, unsure.value, unsure.reason) == (Status.WARN, "unknown", "try as root")


def test_nothing_mounted_rejects_everything(tmp_path: Path) -> None:
    results = probe_cgroups(("os",), tmp_path / "missing", tmp_path)
    assert len(results) == 10
    assert results[0].path == ("os", "cgroups")
    assert all(r.status is Status.FAIL for r in results)
    assert results[0].value == f'no file system mounted at "{tmp_path / "missing"}"'
    assert results[1].name == 'cgroup controller "cpu"'


def test_plain_directory_is_not_a_cgroup_fs(tmp_path: Path) -> None:
    results = probe_cgroups(("os",), tmp_path, tmp_path)
    assert results[0].status is Status.FAIL
    assert results[0].value.startswith(f'unexpected file system type of "{tmp_path}": 0x')
