"""`k0spy reset` on a populated node: a real containerd container, a tmpfs inside the data dir, a symlink
pointing out of it, a daemon holding the lock, an immutable file; and `--dry-run`.

Every test uses its own data/run/etc dirs and an install root under tmp_path (so users and service files
are looked up there, never in the machine's /etc). containerd 1.6 puts shim sockets in
/run/containerd/s whatever its paths: the fixture removes the ones a test created.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from k0spy.paths import Paths
from tests.support.cli import run_k0spy
from tests.support.service import IMAGE_NAME, busybox_image, containerd, ctr, kill_matching, make_root

SHIM_DIR = Path("/run/containerd/s")


def _mounted(path: Path) -> bool:
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        return any(line.split()[4] == str(path) for line in fh)


@pytest.fixture
def node(paths: Paths, tmp_path: Path) -> Iterator[Paths]:
    """Data dir with a tmpfs under the kubelet root and a symlink to a directory outside."""
    shims_before = set(SHIM_DIR.iterdir()) if SHIM_DIR.is_dir() else set()
    created = [d for d in (SHIM_DIR.parent, SHIM_DIR) if not d.exists()]
    volume = paths.kubelet_root_dir / "pods" / "p1" / "volumes" / "v"
    volume.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(volume)], check=True)
    (volume / "secret").write_text("in tmpfs")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep me")
    (paths.data_dir / "manifests").mkdir(parents=True)
    (paths.data_dir / "manifests" / "outside-link").symlink_to(outside)
    (paths.data_dir / "pki").mkdir()
    (paths.data_dir / "pki" / "ca.key").write_text("key")
    paths.run_dir.mkdir(parents=True)
    make_root(tmp_path / "root")
    try:
        yield paths
    finally:
        kill_matching(str(tmp_path))
        for path in sorted(tmp_path.rglob("*"), reverse=True):
            with contextlib.suppress(OSError):
                subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)
        for mountpoint in [volume]:
            while _mounted(mountpoint):
                subprocess.run(["umount", "-l", str(mountpoint)], check=False)
        if SHIM_DIR.is_dir():
            for shim in set(SHIM_DIR.iterdir()) - shims_before:
                with contextlib.suppress(OSError):
                    shim.unlink()
        for directory in reversed(created):  # the dirs containerd made for this test, if left empty
            with contextlib.suppress(OSError):
                directory.rmdir()


def _reset(paths: Paths, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_k0spy(["reset", "--data-dir", str(paths.data_dir), "--run-dir", str(paths.run_dir),
                      "--etc-dir", str(paths.etc_dir), "--root", str(tmp_path / "root"),
                      "--init-system", "systemd", *extra], timeout=180)


def _shim_pids(paths: Paths) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            needle = str(paths.containerd_socket).encode()
            if proc.name.isdigit() and needle in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
    return pids


def _start_container(paths: Paths, tmp_path: Path) -> None:
    """Run a busybox container detached, then stop containerd: the shim and the task outlive it."""
    image = busybox_image(tmp_path / "image.tar")
    with containerd(paths.data_dir, paths.run_dir, paths.containerd_config):
        sock = paths.containerd_socket
        imported = ctr(sock, "-n", "k8s.io", "images", "import", str(image))
        assert imported.returncode == 0, imported.stderr
        run = ctr(sock, "-n", "k8s.io", "run", "-d", "--null-io", "--fifo-dir", str(tmp_path / "fifo"),
                  "--runc-root", str(tmp_path / "runc"), IMAGE_NAME, "reset-test-c1")
        assert run.returncode == 0, run.stderr
        tasks = ctr(sock, "-n", "k8s.io", "tasks", "list")
        assert "reset-test-c1" in tasks.stdout and "RUNNING" in tasks.stdout, tasks.stdout
    assert _shim_pids(paths), "the shim should survive containerd"


def test_reset_removes_container_mount_and_data_but_not_symlink_target(node: Paths, tmp_path: Path) -> None:
    _start_container(node, tmp_path)
    volume = node.kubelet_root_dir / "pods" / "p1" / "volumes" / "v"
    proc = _reset(node, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "removed container k8s.io/reset-test-c1" in proc.stdout
    assert f"unmounted {volume}" in proc.stdout
    assert not _mounted(volume)
    assert not node.data_dir.exists() and not node.run_dir.exists()
    assert (tmp_path / "outside" / "keep.txt").read_text() == "keep me"
    deadline = time.monotonic() + 10
    while _shim_pids(node) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _shim_pids(node)


def test_reset_dry_run_lists_everything_and_changes_nothing(node: Paths, tmp_path: Path) -> None:
    before = sorted(str(p) for p in node.data_dir.rglob("*"))
    proc = _reset(node, tmp_path, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    volume = node.kubelet_root_dir / "pods" / "p1" / "volumes" / "v"
    assert f"unmount {volume} (tmpfs)" in lines
    assert f"link {node.data_dir / 'manifests' / 'outside-link'}" in lines
    assert f"file {node.data_dir / 'pki' / 'ca.key'}" in lines
    assert f"dir {node.data_dir}" in lines and f"dir {node.run_dir}" in lines
    assert not any("keep.txt" in line for line in lines)  # never looks through the link
    assert _mounted(volume)
    assert sorted(str(p) for p in node.data_dir.rglob("*")) == before


def test_reset_refused_while_daemon_holds_the_lock(node: Paths, tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(node.runtime_lock)!r}, os.O_RDWR | os.O_CREAT, 0o600)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(60)\n"
    )], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        before = sorted(str(p) for p in node.data_dir.rglob("*"))
        for extra in ((), ("--dry-run",)):
            proc = _reset(node, tmp_path, *extra)
            assert proc.returncode == 1
            assert "please stop k0spy before reset" in proc.stderr
        assert sorted(str(p) for p in node.data_dir.rglob("*")) == before
        assert _mounted(node.kubelet_root_dir / "pods" / "p1" / "volumes" / "v")
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_reset_reports_what_it_could_not_remove(node: Paths, tmp_path: Path) -> None:
    stuck = node.data_dir / "pki" / "ca.key"
    subprocess.run(["chattr", "+i", str(stuck)], check=True)
    proc = _reset(node, tmp_path)
    assert proc.returncode == 1
    assert "Left over (could not be removed):" in proc.stdout
    assert f"{stuck}: Operation not permitted (immutable" in proc.stdout
    assert "reset incomplete" in proc.stdout
    assert stuck.exists() and not (node.data_dir / "manifests").exists()
    subprocess.run(["chattr", "-i", str(stuck)], check=True)
    again = _reset(node, tmp_path)  # the half-done reset can be run again and finishes
    assert again.returncode == 0, again.stdout + again.stderr
    assert not node.data_dir.exists()
    assert os.path.exists(tmp_path / "outside" / "keep.txt")


def test_reset_with_containerd_still_running_uses_it(node: Paths, tmp_path: Path) -> None:
    image = busybox_image(tmp_path / "image.tar")
    with containerd(node.data_dir, node.run_dir, node.containerd_config) as daemon:
        sock = node.containerd_socket
        assert ctr(sock, "-n", "default", "images", "import", str(image)).returncode == 0
        run = ctr(sock, "-n", "default", "run", "-d", "--null-io", "--fifo-dir", str(tmp_path / "fifo"),
                  "--runc-root", str(tmp_path / "runc"), IMAGE_NAME, "reset-test-c2")
        assert run.returncode == 0, run.stderr
        dry = _reset(node, tmp_path, "--dry-run")
        assert "container default/reset-test-c2" in dry.stdout.splitlines(), dry.stdout + dry.stderr
        proc = _reset(node, tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "removed container default/reset-test-c2" in proc.stdout
        assert daemon.poll() is None  # reset used the running containerd and left it alone
    # the socket went with the run dir, so ask the processes: the container's shim has exited
    deadline = time.monotonic() + 10
    while _shim_pids(node) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _shim_pids(node)


def test_reset_empties_but_keeps_a_data_dir_that_is_a_mount_point(paths: Paths, tmp_path: Path) -> None:
    paths.data_dir.mkdir(parents=True)
    inner = paths.data_dir / "kubelet" / "pods" / "p" / "v"
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(paths.data_dir)], check=True)
    try:
        inner.mkdir(parents=True)
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(inner)], check=True)
        (paths.data_dir / "pki").mkdir()
        make_root(tmp_path / "root")
        proc = _reset(paths, tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "contents only: it is a mount point" in proc.stdout
        assert _mounted(paths.data_dir) and not _mounted(inner)
        assert list(paths.data_dir.iterdir()) == []
    finally:
        for mountpoint in (inner, paths.data_dir):
            while _mounted(mountpoint):
                subprocess.run(["umount", "-l", str(mountpoint)], check=False)
