"""Stale pid files: only a provably-ours process is ever signalled (PID 1, strangers, garbage are not)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from k0spy.paths import Paths
from k0spy.supervisor.env import build_env
from k0spy.supervisor.pidfile import PIDFILE_MARKER, judge, remove_pid, terminate_stale, write_pid
from tests.support.supervisor import PINGPONG, handles_signal, kill_tree, pidfd_child_watcher, wait_for


@pytest.fixture(autouse=True)
def _watcher() -> Iterator[None]:
    with pidfd_child_watcher():
        yield


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        yield procs
    finally:
        kill_tree([p.pid for p in procs])
        for p in procs:
            p.wait()


def _stale_child(paths: Paths, name: str, *args: str, marker_for: Path | None = None,
                 managed: bool = True) -> subprocess.Popen[bytes]:
    """A process like one a killed daemon left behind (own session, k0s environment)."""
    env = build_env(os.environ, paths.data_dir, name) if managed else dict(os.environ)
    if marker_for is not None:
        env[PIDFILE_MARKER] = str(marker_for)
    proc = subprocess.Popen([sys.executable, PINGPONG, *args], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while "_K0S_MANAGED" not in psutil.Process(proc.pid).environ() and managed:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return proc


@pytest.fixture
def pidfile(paths: Paths) -> Path:
    paths.run_dir.mkdir(parents=True)
    paths.data_dir.mkdir(parents=True)
    return paths.pid_file("etcd")


async def test_our_stale_child_is_terminated(paths: Paths, pidfile: Path,
                                             spawned: list[subprocess.Popen[bytes]]) -> None:
    proc = _stale_child(paths, "etcd", marker_for=pidfile)
    spawned.append(proc)
    write_pid(pidfile, proc.pid)
    verdict = await terminate_stale(pidfile, sys.executable, "etcd", timeout=5)
    assert verdict.ours and verdict.pid == proc.pid
    assert proc.wait(5) == -15
    assert not pidfile.exists()


async def test_stale_child_ignoring_sigterm_is_killed(paths: Paths, pidfile: Path,
                                                      spawned: list[subprocess.Popen[bytes]]) -> None:
    proc = _stale_child(paths, "etcd", "--ignore-term")
    spawned.append(proc)
    wait_for(lambda: handles_signal(proc.pid, signal.SIGTERM), what="child ignoring SIGTERM")
    write_pid(pidfile, proc.pid)
    t0 = time.monotonic()
    verdict = await terminate_stale(pidfile, sys.executable, "etcd", timeout=0.5)
    assert verdict.ours
    assert proc.wait(5) == -9
    assert 0.4 < time.monotonic() - t0 < 5


@pytest.mark.parametrize("content", ["garbage\n", "", "-5\n", "1.5\n"])
async def test_garbage_is_ignored(pidfile: Path, content: str) -> None:
    pidfile.write_text(content)
    verdict = await terminate_stale(pidfile, sys.executable, "etcd", timeout=1)
    assert not verdict.ours and verdict.reason == "garbage in pid file"


async def test_pid_1_is_never_signalled(pidfile: Path) -> None:
    write_pid(pidfile, 1)
    before = psutil.Process(1).create_time()
    verdict = await terminate_stale(pidfile, sys.executable, "etcd", timeout=1)
    assert not verdict.ours and psutil.Process(1).create_time() == before


async def test_dead_pid_is_ignored(pidfile: Path) -> None:
    proc = subprocess.Popen(["true"])
    proc.wait()
    write_pid(pidfile, proc.pid)
    verdict = await terminate_stale(pidfile, sys.executable, "etcd", timeout=1)
    assert not verdict.ours and verdict.reason in ("no such process", "different executable")


async def test_unrelated_process_is_left_alone(pidfile: Path, spawned: list[subprocess.Popen[bytes]]) -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    spawned.append(sleeper)
    write_pid(pidfile, sleeper.pid)
    verdict = await terminate_stale(pidfile, "sleep", "etcd", timeout=1)
    assert not verdict.ours and verdict.reason == "not a k0s-managed process"
    assert sleeper.poll() is None


async def test_same_binary_without_marker_is_left_alone(paths: Paths, pidfile: Path,
                                                        spawned: list[subprocess.Popen[bytes]]) -> None:
    proc = _stale_child(paths, "etcd", managed=False)
    spawned.append(proc)
    write_pid(pidfile, proc.pid)
    verdict = await terminate_stale(pidfile, sys.executable, "etcd", timeout=1)
    assert verdict.reason == "not a k0s-managed process" and proc.poll() is None


async def test_different_executable_is_left_alone(paths: Paths, pidfile: Path,
                                                  spawned: list[subprocess.Popen[bytes]]) -> None:
    proc = _stale_child(paths, "etcd")
    spawned.append(proc)
    write_pid(pidfile, proc.pid)
    verdict = await terminate_stale(pidfile, "/var/lib/k0s/bin/etcd", "etcd", timeout=1)
    assert verdict.reason == "different executable" and proc.poll() is None


async def test_sibling_component_reusing_the_pid_is_left_alone(
        paths: Paths, pidfile: Path, spawned: list[subprocess.Popen[bytes]]) -> None:
    proc = _stale_child(paths, "kine", marker_for=paths.pid_file("kine"))
    spawned.append(proc)
    write_pid(pidfile, proc.pid)
    verdict = await terminate_stale(pidfile, sys.executable, "etcd", timeout=1)
    assert verdict.reason == "managed for another pid file" and proc.poll() is None


async def test_this_process_is_never_signalled(pidfile: Path) -> None:
    write_pid(pidfile, os.getpid())
    assert judge(pidfile, sys.executable).reason == "pid is this process"


def test_remove_pid_only_removes_our_pid(pidfile: Path) -> None:
    write_pid(pidfile, 1234)
    assert not remove_pid(pidfile, 999) and pidfile.exists()
    assert remove_pid(pidfile, 1234) and not pidfile.exists()
    assert not remove_pid(pidfile, 1234)
