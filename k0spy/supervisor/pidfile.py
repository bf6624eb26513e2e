"""PID files, and the children a previous, killed daemon left behind.

A pid file is written atomically after each spawn and removed after the child is reaped, only if it still
names that child. On start-up a pid file may name anything: our orphaned child (the daemon was SIGKILLed,
or died on SIGHUP as k0s does), PID 1, an unrelated process that reused the PID, a dead PID, or garbage.
Only a process that psutil proves is ours is ever signalled:

* same executable as argv[0] (k0s's test, `/proc/<pid>/cmdline`), and
* `_K0S_MANAGED=yes` in its environment, and
* if it carries k0spy's `_K0SPY_PIDFILE` variable, that variable names this very pid file (so a sibling
  component that happens to reuse the PID is not taken for this one), and
* it is not this process.

The signal goes through a pidfd opened after the checks and re-validated by start time, so a PID that is
reused between the check and the kill cannot be hit. Unlike k0s (which gives up with an error), a stale
child that ignores SIGTERM is SIGKILLed, with its process group, after the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from k0spy.fsutil import PID_FILE_MODE, atomic_write
from k0spy.log import get_logger
from k0spy.supervisor.env import MANAGED_MARKER, MANAGED_VALUE

PIDFILE_MARKER = "_K0SPY_PIDFILE"

def log() -> Any:
    """Bound at call time: the daemon configures structlog after this module is imported."""
    return get_logger(component="supervisor")


def write_pid(path: Path, pid: int) -> None:
    """Atomic but not fsynced: a pid file is stale after a machine crash anyway, and two fsyncs per
    spawn cost milliseconds on a busy disk when /run is not a tmpfs."""
    atomic_write(path, f"{pid}\n", PID_FILE_MODE, durable=False)


def read_pid(path: Path) -> int | None:
    """The PID in `path`; None when absent. Raises ValueError on garbage."""
    try:
        text = path.read_text(errors="replace").strip()
    except FileNotFoundError:
        return None
    pid = int(text)
    if pid <= 0:
        raise ValueError(f"not a PID: {text!r}")
    return pid


def remove_pid(path: Path, pid: int) -> bool:
    """Remove `path` only if it still names `pid` (a newer child may already have replaced it)."""
    try:
        if read_pid(path) != pid:
            return False
        path.unlink()
        return True
    except (FileNotFoundError, ValueError):
        return False


@dataclass(frozen=True)
class Verdict:
    """Whether a pid file's process is ours, and why (logged, and asserted on by tests)."""

    ours: bool
    reason: str
    pid: int | None = None


def judge(path: Path, binary: str) -> Verdict:
    """Decide, without signalling anything, whether the pid file names our stale child."""
    try:
        pid = read_pid(path)
    except ValueError:
        return Verdict(False, "garbage in pid file")
    if pid is None:
        return Verdict(False, "no pid file")
    if pid == os.getpid():
        return Verdict(False, "pid is this process", pid)
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return Verdict(False, "process is a zombie", pid)
        cmdline = proc.cmdline()
        environ = proc.environ()
    except psutil.NoSuchProcess:
        return Verdict(False, "no such process", pid)
    except psutil.AccessDenied:
        return Verdict(False, "process not inspectable", pid)
    if not cmdline or cmdline[0] != binary:
        return Verdict(False, "different executable", pid)
    if environ.get(MANAGED_MARKER) != MANAGED_VALUE:
        return Verdict(False, "not a k0s-managed process", pid)
    owner = environ.get(PIDFILE_MARKER)
    if owner is not None and owner != str(path):
        return Verdict(False, "managed for another pid file", pid)
    return Verdict(True, "stale child", pid)


async def _wait_pidfd(fd: int, timeout: float) -> bool:
    """Wait until the process behind pidfd `fd` exits; False on timeout."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not done.done():
            done.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await asyncio.wait_for(done, timeout)
        return True
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(fd)


async def terminate_stale(path: Path, binary: str, name: str, timeout: float) -> Verdict:
    """Terminate the stale child named by `path` if it is provably ours; leave anything else alone."""
    verdict = judge(path, binary)
    if not verdict.ours:
        if verdict.pid is not None or verdict.reason == "garbage in pid file":
            log().info("pidfile.ignored", component=name, pid=verdict.pid, reason=verdict.reason)
        return verdict
    assert verdict.pid is not None
    pid = verdict.pid
    try:
        created = psutil.Process(pid).create_time()
        fd = os.pidfd_open(pid)
    except (psutil.NoSuchProcess, ProcessLookupError):
        return Verdict(False, "no such process", pid)
    try:
        if psutil.Process(pid).create_time() != created:
            return Verdict(False, "pid reused", pid)
        log().warning("pidfile.stale_terminating", component=name, pid=pid)
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(fd, signal.SIGTERM)
        if not await _wait_pidfd(fd, timeout):
            log().warning("pidfile.stale_killing", component=name, pid=pid, timeout=timeout)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(fd, signal.SIGKILL)
            await _wait_pidfd(fd, timeout)
    except psutil.NoSuchProcess:
        return Verdict(False, "no such process", pid)
    finally:
        os.close(fd)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return verdict
