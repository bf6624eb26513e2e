"""Which probes run for which roles, in k0s's order, and the pre-flight decision built on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from k0spy.paths import Paths
from k0spy.sysinfo import PreflightFailed, Status, preflight, run_probes


@pytest.fixture
def kroot(tmp_path: Path) -> Path:
    """A root with a kernel config where everything k0s asks for is built in."""
    import os

    root = tmp_path / "root"
    (root / "boot").mkdir(parents=True)
    names = ["CGROUPS", "CGROUP_SCHED", "FAIR_GROUP_SCHED", "CFS_BANDWIDTH", "BLK_CGROUP", "NAMESPACES",
             "UTS_NS", "IPC_NS", "PID_NS", "NET_NS", "NET", "INET", "NETFILTER", "NETFILTER_ADVANCED",
             "NF_CONNTRACK", "NETFILTER_XTABLES", "NETFILTER_XT_TARGET_REDIRECT",
             "NETFILTER_XT_MATCH_COMMENT", "EXT4_FS", "PROC_FS"]
    text = "".join(f"CONFIG_{n}=y\n" for n in names)
    (root / "boot" / f"config-{os.uname().release}").write_text(text)
    return root


def _top(paths: Paths, **roles: bool) -> list[str]:
    report = run_probes(paths, debug=False, root=Path("/nonexistent"), **roles)
    return [r.path[0] for r in report if len(r.path) == 1]


def test_both_roles_order(paths: Paths) -> None:
    d = str(paths.data_dir)
    assert _top(paths, controller=True, worker=True) == [
        "memory", f"filesystem:{d}", f"disk:{d}", f"reldisk:{d}", "nameResolution:localhost",
        "containerd:configSnippets", "os",
    ]


def test_controller_only_skips_worker_probes(paths: Paths) -> None:
    d = str(paths.data_dir)
    report = run_probes(paths, controller=True, worker=False, debug=False, root=Path("/nonexistent"))
    assert [r.path[0] for r in report if len(r.path) == 1] == [
        "memory", f"filesystem:{d}", f"disk:{d}", "nameResolution:localhost", "os"]
    os_children = [r.path[1] for r in report if len(r.path) == 2 and r.path[0] == "os"]
    assert os_children == ["kernelRelease", "RLIMIT_NOFILE", "AppArmor", "NET"]
    # no kernel config under this root: NET warns and INET below it is not looked at
    net = report.find("os", "NET")
    assert net is not None and (net.status, net.value) == (Status.WARN, "no kernel config found")


def test_no_role_has_no_memory_probe_and_no_disk_minimum(paths: Paths) -> None:
    report = run_probes(paths, controller=False, worker=False, debug=False)
    assert report.find("memory") is None
    disk = report.find(f"disk:{paths.data_dir}")
    assert disk is not None and disk.status is Status.PASS


def test_worker_os_group(paths: Paths, kroot: Path) -> None:
    report = run_probes(paths, controller=False, worker=True, debug=False, root=kroot)
    os_children = [r.path[1] for r in report if len(r.path) == 2 and r.path[0] == "os"]
    assert os_children == [
        "kernelRelease", "RLIMIT_NOFILE", "AppArmor", "executableInPath:modprobe", "executableInPath:mount",
        "executableInPath:umount", "procfs", "cgroups", "CGROUPS", "NAMESPACES", "NET", "EXT4_FS", "PROC_FS"]
    assert [r.path[-1] for r in report if r.path[:2] == ("os", "cgroups")][1:] == [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "pids", "hugetlb", "blkio"]
    kconfig = [r for r in report if r.name.startswith("CONFIG_")]
    assert kconfig and all(r.status is Status.PASS for r in kconfig)
    memory = report.find("memory")
    assert memory is not None and "500.0 MiB" not in memory.value


def test_debug_adds_k0s_optional_options_and_k0spy_extras(paths: Paths, kroot: Path) -> None:
    report = run_probes(paths, controller=True, worker=True, debug=True, root=kroot)
    ipvs = report.find("os", "NET", "NETFILTER", "IP_VS")
    # not in the fixture config: asserted, not required
    assert ipvs is not None and ipvs.status is Status.WARN
    extras = [r.path for r in report if r.path[0] == "k0spy"]
    assert extras[:3] == [("k0spy",), ("k0spy", "sysfs"), ("k0spy", "timeSync")]
    assert ("k0spy", "kernelModule:overlay") in extras
    assert all(not r.status.failed for r in report if r.path[0] == "k0spy")


def test_containerd_dropins_come_from_the_etc_dir(paths: Paths) -> None:
    paths.containerd_dropin_dir.mkdir(parents=True)
    (paths.containerd_dropin_dir / "old.toml").write_text("version = 2\n")
    report = run_probes(paths, controller=False, worker=True, debug=False)
    bad = report.find("containerd:configSnippets", "file:old.toml")
    assert bad is not None and bad.status is Status.FAIL
    assert report.failed


def test_preflight_raises_exactly_when_the_report_failed(paths: Paths) -> None:
    lenient = preflight(paths, controller=True, worker=True, lenient=True)
    paths.containerd_dropin_dir.mkdir(parents=True)
    (paths.containerd_dropin_dir / "old.toml").write_text("version = 2\n")
    with pytest.raises(PreflightFailed) as caught:
        preflight(paths, controller=True, worker=True)
    assert "containerd:configSnippets/file:old.toml" in caught.value.message
    assert caught.value.hint is not None and "k0spy sysinfo" in caught.value.hint
    assert all(r.path[0] != "k0spy" for r in lenient)  # pre-flight runs without the debug probes
