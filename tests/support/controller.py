"""Run `k0spy controller` as an operator does, on private dirs and free loopback ports.

The offline dev bundle (Debian's etcd/containerd/runc + the contract doubles) is built once per test session
with the real bundle builder; each node gets a short directory under /tmp (unix socket paths must stay under
108 bytes, which pytest's tmp_path does not guarantee) and a config that moves every port k0s would bind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.net import free_port

REPO = Path(__file__).resolve().parents[2]


def build_dev_bundle(out: Path) -> Path:
    subprocess.run([sys.executable, str(REPO / "packaging" / "build.py"), "dev-bundle", "-o", str(out),
                    "--no-artifact", "--compression", "stored"], check=True, capture_output=True, timeout=300)
    (bundle,) = out.glob("k0spy-dev-bundle-*.zip")
    return bundle


@pytest.fixture(scope="session")
def dev_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dev_bundle(tmp_path_factory.mktemp("bundle"))


def free_ports(names: list[str]) -> dict[str, int]:
    ports: dict[str, int] = {}
    while len(ports) < len(names):
        port = free_port()
        if port not in ports.values():
            ports[names[len(ports)]] = port
    return ports


PORT_NAMES = ["api", "k0s_api", "etcd", "etcd_peer", "agent", "admin", "health", "scheduler", "kcm"]


def node_config(ports: dict[str, int], *, storage: str = "etcd", extra: dict[str, Any] | None = None
                ) -> dict[str, Any]:
    """A k0s.yaml that keeps every listener of the control plane on 127.0.0.1 and on free ports."""
    spec: dict[str, Any] = {
        "api": {"address": "127.0.0.1", "port": ports["api"], "k0sApiPort": ports["k0s_api"]},
        "storage": {"type": storage},
        "konnectivity": {"agentPort": ports["agent"], "adminPort": ports["admin"]},
        "scheduler": {"extraArgs": {"secure-port": str(ports["scheduler"])}},
        "controllerManager": {"extraArgs": {"secure-port": str(ports["kcm"])}},
    }
    if storage == "etcd":
        client = f"https://127.0.0.1:{ports['etcd']}"
        peer = f"https://127.0.0.1:{ports['etcd_peer']}"
        spec["storage"]["etcd"] = {"peerAddress": "127.0.0.1", "extraArgs": {
            "listen-client-urls": client, "advertise-client-urls": client,
            "listen-peer-urls": peer, "initial-advertise-peer-urls": peer}}
    for key, value in (extra or {}).items():
        spec[key] = {**spec.get(key, {}), **value}
    return {"apiVersion": "k0s.k0sproject.io/v1beta1", "kind": "ClusterConfig", "spec": spec}


def read_log_from(path: Path, offset: int) -> str:
    """A daemon's log from `offset` on: the output of its latest start only."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read().decode(errors="replace")


def wait_daemon_ready(proc: subprocess.Popen[bytes] | None, log: Any, what: str, timeout: float) -> None:
    """Until `log()` shows daemon.ready; fails with the log's tail if the daemon exits or times out."""
    def tail() -> str:
        return "\n".join(log().splitlines()[-40:])

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if '"daemon.ready"' in log():
            return
        assert proc is not None
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited {proc.returncode}:\n{tail()}")
        time.sleep(0.2)
    raise AssertionError(f"{what} not ready after {timeout}s:\n{tail()}")


def stop_daemon(proc: subprocess.Popen[bytes] | None, timeout: float, log_path: Path | None = None) -> int:
    """SIGTERM a daemon started in its own session and wait; SIGKILL its group if it does not stop.

    When it has to SIGKILL, the daemon log's last lines go to stderr, which pytest shows with the failure:
    they say which component's stop was still pending.
    """
    if proc is None:
        return 0
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            if log_path is not None and log_path.exists():
                tail = log_path.read_text(errors="replace").splitlines()[-40:]
                print(f"daemon still running {timeout:g}s after SIGTERM; its last log lines:",
                      *tail, sep="\n", file=sys.stderr)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


@dataclass
class Node:
    """One controller's directories, config, ports and (while running) process."""

    root: Path
    bundle: Path
    ports: dict[str, int]
    config: dict[str, Any]
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)
    log_offset: int = 0

    def __post_init__(self) -> None:
        self.log_path = self.root / "controller.log"
        (self.root / "etc").mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(self.config))

    data = property(lambda self: self.root / "data")
    run = property(lambda self: self.root / "run")
    etc = property(lambda self: self.root / "etc")
    config_path = property(lambda self: self.root / "etc" / "k0s.yaml")

    def global_args(self) -> list[str]:
        return ["--data-dir", str(self.data), "--run-dir", str(self.run), "--etc-dir", str(self.etc)]

    def env(self) -> dict[str, str]:
        return {**os.environ, "K0SPY_BUNDLE": str(self.bundle), "HOME": str(self.root)}

    def k0spy(self, *args: str, timeout: float = 60, input: str | None = None
              ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "k0spy", *self.global_args(), *args], env=self.env(),
                              capture_output=True, text=True, timeout=timeout, input=input, check=False)

    def controller_args(self, config: Path | None = None) -> list[str]:
        """`controller` with this node's config and its (moved) konnectivity health port."""
        return ["controller", "-c", str(config or self.config_path),
                "--konnectivity-health-port", str(self.ports["health"])]

    def start(self, *args: str) -> None:
        argv = [sys.executable, "-m", "k0spy", *self.global_args(), *self.controller_args(), *args]
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def wait_ready(self, timeout: float = 90) -> None:
        wait_daemon_ready(self.proc, self.current_log, "controller", timeout)

    def current_log(self) -> str:
        """The log of the latest start only."""
        return read_log_from(self.log_path, self.log_offset)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.current_log().splitlines()[-lines:])

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.current_log().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def stop(self, timeout: float = 60) -> int:
        code = stop_daemon(self.proc, timeout, self.log_path)
        self.proc = None
        return code

    def kill_all(self) -> None:
        """Last resort in teardown: whatever still runs from this node's dirs is killed."""
        self.stop()
        import psutil

        for proc in psutil.process_iter(["cmdline"]):
            cmdline = " ".join(proc.info["cmdline"] or [])
            if str(self.root) in cmdline:
                proc.kill()


@pytest.fixture
def make_node(dev_bundle: Path) -> Iterator[Any]:
    nodes: list[Node] = []

    def factory(storage: str = "etcd", extra: dict[str, Any] | None = None) -> Node:
        root = Path(tempfile.mkdtemp(prefix="k0e", dir="/tmp"))
        root.chmod(0o755)  # component users (etcd, ...) must traverse it, as /var/lib would allow
        ports = free_ports(PORT_NAMES)
        node = Node(root, dev_bundle, ports, node_config(ports, storage=storage, extra=extra))
        nodes.append(node)
        return node

    yield factory
    for node in nodes:
        node.kill_all()
        shutil.rmtree(node.root, ignore_errors=True)
