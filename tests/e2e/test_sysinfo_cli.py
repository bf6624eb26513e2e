"""`k0spy sysinfo` as an operator runs it, on this machine, plus the probes that need real kernel objects.

This machine (environment.md): cgroup v1 hybrid, so k0s rejects it as a worker ("cgroup v1 is not
supported") and `sysinfo` exits 1 with both roles; as a controller alone it passes.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from k0spy.sysinfo import fsmagic
from k0spy.sysinfo.cgroups import detect_devices_v2, detect_freezer_v2, probe_cgroups
from k0spy.sysinfo.model import Status
from k0spy.sysinfo.mounts import read_mountinfo
from tests.support.cli import run_k0spy


def _dirs(tmp_path: Path, data_dir: Path | None = None) -> list[str]:
    return ["--data-dir", str(data_dir or tmp_path / "data"), "--etc-dir", str(tmp_path / "etc"),
            "--run-dir", str(tmp_path / "run")]


def _cgroup_v1_here() -> bool:
    return fsmagic.fs_type("/sys/fs/cgroup") in (fsmagic.TMPFS_MAGIC, fsmagic.CGROUP_SUPER_MAGIC)


def test_text_output_and_exit_code(tmp_path: Path) -> None:
    proc = run_k0spy(["sysinfo", *_dirs(tmp_path)])
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("Total memory: ")
    assert f"File system of {tmp_path}: " in proc.stdout  # the data dir does not exist yet: its parent
    assert "Operating system: Linux (pass)" in lines
    assert any(line.startswith("  Linux kernel release: ") for line in lines)
    assert "    cgroup controller \"memory\": available (pass)" in lines
    if _cgroup_v1_here():
        assert "  Control Groups: version 1 (rejected: cgroup v1 is not supported)" in lines
    failed = any("(rejected" in line or ": error" in line for line in lines)
    assert proc.returncode == (1 if failed else 0)
    if failed:
        assert proc.stderr.startswith("Error: sysinfo failed")
    assert "\x1b[" not in proc.stdout  # no colours when stdout is not a terminal


def test_controller_only_passes_here(tmp_path: Path) -> None:
    proc = run_k0spy(["sysinfo", "--worker=false", *_dirs(tmp_path)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Control Groups" not in proc.stdout
    assert "  CONFIG_NET: Networking support: built-in (pass)" in proc.stdout.splitlines()


def test_json_output(tmp_path: Path) -> None:
    proc = run_k0spy(["sysinfo", "-o", "json", *_dirs(tmp_path)])
    data = json.loads(proc.stdout)
    assert {tuple(sorted(entry)) for entry in data} == {
        ("category", "displayName", "error", "message", "path", "prop")}
    by_path = {"/".join(entry["path"]): entry for entry in data}
    assert by_path["os"]["prop"] == "Linux"
    assert by_path["memory"]["category"] == "pass"
    failed = any(entry["category"] in ("rejected", "error") for entry in data)
    assert proc.returncode == (1 if failed else 0)
    if _cgroup_v1_here():
        assert by_path["os/cgroups"] == {
            "path": ["os", "cgroups"], "displayName": "Control Groups", "prop": "version 1",
            "message": "cgroup v1 is not supported", "category": "rejected", "error": None}


def test_yaml_output_matches_json(tmp_path: Path) -> None:
    as_json = json.loads(run_k0spy(["sysinfo", "--worker=false", "-o", "json", *_dirs(tmp_path)]).stdout)
    as_yaml = yaml.safe_load(run_k0spy(["sysinfo", "--worker=false", "-o", "yaml", *_dirs(tmp_path)]).stdout)
    # values such as free disk space may move between the two runs; what was probed and the verdicts may not
    def shape(entries: list[dict[str, object]]) -> list[tuple[object, ...]]:
        return [(e["path"], e["displayName"], e["category"], e["message"]) for e in entries]

    assert shape(as_yaml) == shape(as_json)


def test_bad_output_format_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_k0spy(["sysinfo", "-o", "xml", *_dirs(tmp_path)])
    assert proc.returncode == 2
    assert "xml" in proc.stderr


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "k0spy-test", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_tiny_data_dir_warns_as_k0s_does(tmp_path: Path, tiny_tmpfs: Path) -> None:
    data_dir = tiny_tmpfs / "k0s"
    proc = run_k0spy(["sysinfo", "--worker=false", *_dirs(tmp_path, data_dir)])
    lines = proc.stdout.splitlines()
    assert f"File system of {tiny_tmpfs}: tmpfs (pass)" in lines
    # k0s only warns about free space (500 MiB for a controller); exit stays 0 when nothing else fails.
    assert f"Disk space available for {data_dir}: 1.0 MiB (warning: 500.0 MiB recommended)" in lines
    assert proc.returncode == 0

    proc = run_k0spy(["sysinfo", "--controller=false", *_dirs(tmp_path, data_dir)])
    lines = proc.stdout.splitlines()
    assert f"Disk space available for {data_dir}: 1.0 MiB (warning: 1.3 GiB recommended)" in lines
    assert f"Relative disk space available for {data_dir}: 100% (pass)" in lines


def test_unreadable_data_dir_fails_with_the_reason(tmp_path: Path) -> None:
    data_dir = tmp_path / "loop"
    data_dir.symlink_to(data_dir)
    proc = run_k0spy(["sysinfo", "--worker=false", *_dirs(tmp_path, data_dir)])
    assert proc.returncode == 1
    reason = f"statfs {data_dir}: too many levels of symbolic links"
    assert f"Disk space available for {data_dir}: error: {reason}" in proc.stdout.splitlines()
    assert "Error: sysinfo failed" in proc.stderr


def _cgroup2_mount() -> Path:
    for mount in read_mountinfo():
        if mount.fs_type == "cgroup2":
            return Path(mount.mount_point)
    raise AssertionError("this machine has no cgroup2 mount (environment.md says /sys/fs/cgroup/unified)")


def test_cgroup2_devices_and_freezer_on_the_real_mount() -> None:
    mount_point = _cgroup2_mount()
    before = set(os.listdir(mount_point))
    assert str(detect_devices_v2(mount_point)) == "available (device filters attachable)"
    assert str(detect_freezer_v2(mount_point, "/")) == "available (cgroup.freeze exists)"
    assert set(os.listdir(mount_point)) == before  # temporary cgroups removed
    results = probe_cgroups(("os",), mount_point)
    assert (results[0].status, results[0].value) == (Status.PASS, "version 2")
