"""A test daemon (k0spy.daemon with pingpong components) and helpers to run it as a real process.

Entry: `python -m tests.support.supervisor SPEC.json` where the spec is
    {"data_dir": D, "run_dir": R, "ready_timeout": 10,
     "components": [{"name": "a", "args": [pingpong options...], "stop_timeout": 1,
                     "ready_file": F, "keep_env_prefix": false,
                     "backoff": {"first": 0, "initial": 0.1, ...}}]}
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[2]
PINGPONG = str(Path(__file__).with_name("pingpong.py"))


def file_probe(path: Path) -> Any:
    async def probe() -> None:
        from k0spy.components.base import NotReady

        if not path.exists():
            raise NotReady(f"{path.name} not there yet")

    return probe


def build_components(spec: dict[str, Any], paths: Any) -> list[Any]:
    from k0spy.components.process import ProcessComponent
    from k0spy.supervisor.backoff import BackoffPolicy

    out = []
    for c in spec["components"]:
        out.append(ProcessComponent(
            c["name"], sys.executable, [PINGPONG, *c.get("args", [])], paths,
            stop_timeout=c.get("stop_timeout", 2.0), keep_env_prefix=c.get("keep_env_prefix", False),
            probe=file_probe(Path(c["ready_file"])) if c.get("ready_file") else None,
            backoff=BackoffPolicy(**c.get("backoff", {})), user=c.get("user"),
            probe_interval=c.get("probe_interval", 10.0),
        ))
    return out


def main() -> int:
    from k0spy import daemon, log
    from k0spy.paths import Paths
    from k0spy.status.server import StatusInfo

    spec = json.loads(Path(sys.argv[1]).read_text())
    log.configure("debug" if spec.get("debug") else "info", stream=sys.stdout, json=True)
    paths = Paths.build(spec["data_dir"], run_dir=spec["run_dir"], etc_dir=spec.get("etc_dir"))
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    info = StatusInfo(version="v0.0.0-test", role="controller", k0s_vars=paths.as_k0s_vars(),
                      args=sys.argv)
    from k0spy.errors import K0spyError

    try:
        return daemon.run(paths, build_components(spec, paths), info,
                          ready_timeout=spec.get("ready_timeout", 10.0))
    except K0spyError as err:
        print(err.render(), file=sys.stderr, flush=True)
        return err.exit_code


# --- helpers for tests -----------------------------------------------------------------------------
@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    spec: dict[str, Any]
    log_path: Path

    @property
    def run_dir(self) -> Path:
        return Path(self.spec["run_dir"])

    @property
    def socket(self) -> Path:
        return self.run_dir / "status.sock"

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    def components(self) -> dict[str, dict[str, Any]]:
        from k0spy.status.client import get_json

        return {c["name"]: c for c in get_json(self.socket, "/components")}

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout)


def write_spec(tmp: Path, components: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    spec = {"data_dir": str(tmp / "data"), "run_dir": str(tmp / "run"), "etc_dir": str(tmp / "etc"),
            "components": components, **extra}
    return spec


def start_daemon(tmp: Path, spec: dict[str, Any], tag: str = "d") -> Daemon:
    spec_path = tmp / f"spec-{tag}.json"
    spec_path.write_text(json.dumps(spec))
    log_path = tmp / f"daemon-{tag}.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tests.support.supervisor", str(spec_path)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    return Daemon(proc, spec, log_path)


def wait_for(cond: Any, timeout: float = 20.0, interval: float = 0.02, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def wait_ready(d: Daemon, names: list[str], timeout: float = 20.0) -> dict[str, dict[str, Any]]:
    def ready() -> dict[str, dict[str, Any]] | None:
        if d.proc.poll() is not None:
            raise AssertionError(f"daemon exited {d.proc.returncode}: {d.log_path.read_text()[-3000:]}")
        try:
            comps = d.components()
        except Exception:
            return None
        return comps if all(comps.get(n, {}).get("state") == "ready" for n in names) else None

    result: dict[str, dict[str, Any]] = wait_for(ready, timeout, what=f"{names} ready")
    return result


def children_started(d: Daemon, names: list[str], timeout: float = 20.0) -> None:
    """Wait until each named child printed its start line (it writes nothing after that)."""
    def started() -> bool:
        seen = {e.get("component") for e in d.events() if e.get("event") == "pingpong started"}
        return set(names) <= seen

    wait_for(started, timeout, what=f"{names} printed their start line")


def kill_tree(pids: list[int]) -> None:
    """SIGKILL every pid given and everything below them (test clean-up; never PID 1 or ourselves)."""
    for pid in pids:
        if pid in (0, 1, os.getpid()):
            continue
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            for child in proc.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    child.kill()
            proc.kill()


def managed_processes(run_dir: Path) -> list[psutil.Process]:
    """Every live process whose environment names a pid file under `run_dir` (our children)."""
    out = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get("_K0SPY_PIDFILE", "").startswith(str(run_dir) + "/"):
                out.append(proc)
    return out


@contextlib.contextmanager
def running_daemon(tmp: Path, spec: dict[str, Any], tag: str = "d") -> Iterator[Daemon]:
    d = start_daemon(tmp, spec, tag)
    try:
        yield d
    finally:
        if d.proc.poll() is None:
            d.proc.send_signal(signal.SIGTERM)
            try:
                d.proc.wait(20)
            except subprocess.TimeoutExpired:
                d.proc.kill()
                d.proc.wait()
        leftovers = []
        for proc in managed_processes(Path(spec["run_dir"])):
            with contextlib.suppress(psutil.Error):
                if proc.ppid() in (d.proc.pid, 1) or not psutil.pid_exists(proc.ppid()):
                    leftovers.append(proc.pid)
        kill_tree(leftovers)


if __name__ == "__main__":
    sys.exit(main())


# --- in-process helpers ----------------------------------------------------------------------------
@contextlib.contextmanager
def pidfd_child_watcher() -> Iterator[None]:
    """Use the daemon's child watcher (pidfd, no threads) for the duration of a test, then restore."""
    import asyncio
    import warnings

    if sys.version_info >= (3, 12):
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = asyncio.get_event_loop_policy().get_child_watcher()
        asyncio.set_child_watcher(asyncio.PidfdChildWatcher())
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            asyncio.set_child_watcher(old)


def pingpong_spec(paths: Any, name: str, *args: str, **kw: Any) -> Any:
    """A ProcessSpec running pingpong with `args`."""
    from k0spy.supervisor.process import ProcessSpec

    paths.data_dir.mkdir(parents=True, exist_ok=True)
    paths.run_dir.mkdir(parents=True, exist_ok=True)
    return ProcessSpec(name=name, argv=(sys.executable, PINGPONG, *args), data_dir=paths.data_dir,
                       pid_file=paths.pid_file(name), **kw)


class Capture:
    """A BatchRenderer target that keeps every rendered record (JSON) for assertions."""

    def __init__(self) -> None:
        import io

        from k0spy.supervisor.output import BatchRenderer

        self.buf = io.BytesIO()
        self.renderer = BatchRenderer(self.buf, json=True)

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.buf.getvalue().splitlines()]

    def events(self) -> list[str]:
        return [r["event"] for r in self.records()]


async def until(cond: Any, timeout: float = 10.0, interval: float = 0.01, what: str = "condition") -> Any:
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


def handles_signal(pid: int, signum: int) -> bool:
    """The process has installed a handler for (or ignores) signum, read from /proc/PID/status.

    Tests that send a signal to a child which must survive it wait for this rather than sleeping:
    a signal that arrives before the child's handler would kill it on a busy machine.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    masks = {k: int(v, 16) for k, v in (line.split(":\t", 1) for line in status.splitlines()
                                         if line.startswith(("SigCgt:", "SigIgn:")))}
    bit = 1 << (signum - 1)
    return bool((masks.get("SigCgt", 0) | masks.get("SigIgn", 0)) & bit)


def all_gone(processes: list[Any]) -> bool:
    """Every psutil.Process given has exited (a zombie counts: only its parent's reap is left)."""
    import psutil

    for proc in processes:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


@contextlib.contextmanager
def captured_events() -> Iterator[list[dict[str, Any]]]:
    """Every structlog event (debug included) emitted in the block, as dicts; restores the config."""
    import logging

    import structlog
    from structlog.testing import LogCapture

    old = structlog.get_config()
    cap = LogCapture()
    structlog.configure(processors=[cap], wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
                        cache_logger_on_first_use=False)
    try:
        yield cap.entries
    finally:
        structlog.configure(**old)
