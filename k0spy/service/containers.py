"""Stopping and removing every container of the node through containerd, with `ctr`.

If a containerd already answers on RUN/containerd.sock, reset uses it. Otherwise, as k0s does, reset
starts a temporary containerd on k0spy's own paths (root DATA/containerd, state RUN/containerd, socket
RUN/containerd.sock): it reconnects to the shims of containers that outlived the daemon, so their
tasks can be killed and deleted, and their rootfs mounts go with them.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from k0spy.errors import K0spyError
from k0spy.fsutil import OWNER_ONLY_MODE, atomic_write
from k0spy.paths import Paths

START_TIMEOUT = 15.0
MINIMAL_CONFIG = "version = 2\n"


@dataclass
class ContainerResult:
    removed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    note: str = ""


def ctr(socket: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("ctr")
    if binary is None:
        raise K0spyError("ctr not found", hint="install containerd's ctr to let reset remove containers")
    return subprocess.run([binary, "--address", str(socket), *args], capture_output=True, text=True,
                          check=False, timeout=timeout)


def answers(socket: Path) -> bool:
    if not socket.exists():
        return False
    try:
        return ctr(socket, "version", timeout=5).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def has_state(paths: Paths) -> bool:
    """Whether a containerd ever ran on these paths (else there is nothing to stop)."""
    return paths.containerd_root.is_dir() or paths.containerd_state.is_dir()


@contextlib.contextmanager
def containerd_on(paths: Paths) -> Iterator[Path]:
    """A containerd answering on RUN/containerd.sock: the running one, or a temporary one."""
    socket = paths.containerd_socket
    if answers(socket):
        yield socket
        return
    binary = shutil.which("containerd")
    if binary is None:
        raise K0spyError("containerd not found: cannot stop the node's containers",
                         hint="install containerd, or stop the containers by hand")
    config = paths.containerd_config
    if not config.exists():
        config = paths.run_dir / "reset-containerd.toml"
        paths.run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(config, MINIMAL_CONFIG.encode(), OWNER_ONLY_MODE)
    argv = [binary, f"--root={paths.containerd_root}", f"--state={paths.containerd_state}",
            f"--address={socket}", f"--config={config}", "--log-level=error"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        _wait_ready(proc, socket)
        yield socket
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


def _wait_ready(proc: subprocess.Popen[bytes], socket: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
            raise K0spyError(f"temporary containerd exited with code {proc.returncode}: {err[-400:]}")
        if answers(socket):
            return
        time.sleep(0.1)
    raise K0spyError(f"temporary containerd did not answer on {socket} within {START_TIMEOUT:.0f}s")


def _lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


def list_containers(socket: Path) -> list[tuple[str, str]]:
    """(namespace, container id) for every container containerd knows."""
    found = []
    for namespace in _lines(ctr(socket, "namespaces", "list", "-q")):
        ids = _lines(ctr(socket, "-n", namespace, "containers", "list", "-q"))
        found += [(namespace, cid) for cid in ids]
    return found


def remove_container(socket: Path, namespace: str, cid: str) -> str | None:
    """Kill the task (SIGKILL: a container's PID 1 ignores SIGTERM), delete it, delete the container."""
    ctr(socket, "-n", namespace, "tasks", "kill", "-s", "SIGKILL", cid)
    ctr(socket, "-n", namespace, "tasks", "delete", "--force", cid)
    proc = ctr(socket, "-n", namespace, "containers", "delete", cid)
    if proc.returncode != 0:
        return (proc.stderr or proc.stdout).strip() or f"ctr exit code {proc.returncode}"
    return None


def remove_all(paths: Paths) -> ContainerResult:
    result = ContainerResult()
    if not answers(paths.containerd_socket) and not has_state(paths):
        result.note = "no containerd state on this node"
        return result
    with containerd_on(paths) as socket:
        for namespace, cid in list_containers(socket):
            error = remove_container(socket, namespace, cid)
            if error:
                result.failures.append(f"{namespace}/{cid}: {error}")
            else:
                result.removed.append(f"{namespace}/{cid}")
    return result


def describe_plan(paths: Paths) -> list[str]:
    """For --dry-run: the containers a running containerd reports, or what reset would start."""
    socket = paths.containerd_socket
    if answers(socket):
        return [f"container {ns}/{cid}" for ns, cid in list_containers(socket)]
    if has_state(paths):
        return [f"containers: would start a temporary containerd on {socket} and remove every container"]
    return []
