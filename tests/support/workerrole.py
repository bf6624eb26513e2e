"""Network namespaces for the worker-role tests: a hub namespace with a bridge, one namespace per node.

Every address lives inside the namespaces (10.99.<net>.x/24), so the root namespace gains no interface,
route or sysctl change (kernel set-up writes net.ipv4 forwarding: per namespace). `netns_lab` creates the
namespaces for a test and deletes them in a finally, after killing anything still running inside them.
Processes are started with `ip netns exec NS ...` (exec, so the pid is the program's own).
"""

from __future__ import annotations

import contextlib
import os
import secrets
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

from tests.support.controller import (
    PORT_NAMES,
    Node,
    free_ports,
    node_config,
    read_log_from,
    stop_daemon,
    wait_daemon_ready,
)
from tests.support.worker import remove_new_shim_sockets, shim_sockets


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass
class Lab:
    """A hub namespace with bridge br0 and the node namespaces attached to it."""

    prefix: str
    net: int
    namespaces: list[str] = field(default_factory=list)

    @property
    def hub(self) -> str:
        return f"{self.prefix}-hub"

    def add(self, name: str, host: int) -> tuple[str, str]:
        """A namespace `<prefix>-<name>` with eth0 = 10.99.<net>.<host>; returns (namespace, address)."""
        ns = f"{self.prefix}-{name}"
        veth = f"v{self.prefix[-6:]}{host}"
        address = f"10.99.{self.net}.{host}"
        ip("netns", "add", ns)
        self.namespaces.append(ns)
        ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        ip("link", "set", veth, "netns", self.hub)
        ip("-n", self.hub, "link", "set", veth, "master", "br0", "up")
        ip("-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
        ip("-n", ns, "link", "set", "lo", "up")
        return ns, address

    def kill_inside(self) -> None:
        """SIGKILL whatever still runs in the node namespaces (a last resort in teardown)."""
        for ns in self.namespaces[1:]:
            found = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, check=False)
            for pid in found.stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)

    def delete(self) -> None:
        self.kill_inside()
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


@pytest.fixture
def netns_lab() -> Iterator[Lab]:
    """A fresh lab (unique names and subnet) whose namespaces, processes and shim sockets are removed."""
    shims = shim_sockets()
    lab = Lab(prefix="wr" + secrets.token_hex(3), net=secrets.randbelow(200) + 20)
    try:
        ip("netns", "add", lab.hub)
        lab.namespaces.append(lab.hub)
        ip("-n", lab.hub, "link", "add", "br0", "type", "bridge")
        ip("-n", lab.hub, "link", "set", "br0", "up")
        yield lab
    finally:
        lab.delete()
        remove_new_shim_sockets(shims)


class NsNode(Node):
    """A controller node (tests.support.controller.Node) whose daemon and commands run inside `ns`."""

    ns: str = ""

    def k0spy(self, *args: str, timeout: float = 60, input: str | None = None
              ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(k0spy_argv(self.ns, *self.global_args(), *args), env=self.env(),
                              capture_output=True, text=True, timeout=timeout, input=input, check=False)

    def start(self, *args: str) -> None:
        argv = k0spy_argv(self.ns, *self.global_args(), *self.controller_args(), *args)
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)


@pytest.fixture
def make_ns_node(dev_bundle: Path) -> Iterator[Any]:
    """Like make_node, for a controller inside a namespace; `extra` merges into the config's spec."""
    nodes: list[NsNode] = []

    def factory(ns: str, storage: str = "etcd", extra: dict[str, Any] | None = None) -> NsNode:
        root = Path(tempfile.mkdtemp(prefix="k0w", dir="/tmp"))
        root.chmod(0o755)
        ports = free_ports(PORT_NAMES)
        node = NsNode(root, dev_bundle, ports, node_config(ports, storage=storage, extra=extra))
        node.ns = ns
        nodes.append(node)
        return node

    yield factory
    for node in nodes:
        node.kill_all()
        shutil.rmtree(node.root, ignore_errors=True)


def k0spy_argv(ns: str | None, *args: str) -> list[str]:
    prefix = ["ip", "netns", "exec", ns] if ns else []
    return [*prefix, sys.executable, "-m", "k0spy", *args]


@dataclass
class WorkerNode:
    """A pure worker's dirs and process (a `k0spy worker` run inside a namespace)."""

    root: Path
    bundle: Path
    ns: str
    proc: subprocess.Popen[bytes] | None = None
    log_offset: int = 0

    def __post_init__(self) -> None:
        (self.root / "etc").mkdir(parents=True, exist_ok=True)

    log_path = property(lambda self: self.root / "worker.log")
    data = property(lambda self: self.root / "data")
    run = property(lambda self: self.root / "run")

    def global_args(self) -> list[str]:
        return ["--data-dir", str(self.data), "--run-dir", str(self.run), "--etc-dir", str(self.root / "etc")]

    def env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if k != "K0S_TOKEN"}
        return {**base, "K0SPY_BUNDLE": str(self.bundle), "HOME": str(self.root), **extra}

    def argv(self, *args: str) -> list[str]:
        return k0spy_argv(self.ns, *self.global_args(), *args)

    def start(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv("worker", "--ignore-pre-flight-checks", *args),
                                         env=env or self.env(), stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def run_once(self, *args: str, env: dict[str, str] | None = None, timeout: float = 60
                 ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv("worker", "--ignore-pre-flight-checks", *args), env=env or self.env(),
                              capture_output=True, text=True, timeout=timeout, check=False)

    def current_log(self) -> str:
        return read_log_from(self.log_path, self.log_offset)

    def wait_ready(self, timeout: float = 60) -> None:
        wait_daemon_ready(self.proc, self.current_log, "worker", timeout)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.current_log().splitlines()[-lines:])

    def stop(self, timeout: float = 30) -> int:
        code = stop_daemon(self.proc, timeout, self.log_path)
        self.proc = None
        return code


def wait_for(check: Any, timeout: float = 30, interval: float = 0.3) -> Any:
    """Poll `check()` until it returns something truthy; the last value (or AssertionError) otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


@pytest.fixture
def make_worker(dev_bundle: Path) -> Iterator[Any]:
    """Factory of WorkerNodes (dirs under /tmp); stops each and removes its dirs afterwards."""
    workers: list[WorkerNode] = []

    def factory(ns: str) -> WorkerNode:
        root = Path(tempfile.mkdtemp(prefix="k0v", dir="/tmp"))
        root.chmod(0o755)
        worker = WorkerNode(root, dev_bundle, ns)
        workers.append(worker)
        return worker

    yield factory
    for worker in workers:
        worker.stop()
        import psutil

        for proc in psutil.process_iter(["cmdline"]):
            if str(worker.root) in " ".join(proc.info["cmdline"] or []):
                with contextlib.suppress(psutil.Error):
                    proc.kill()
        shutil.rmtree(worker.root, ignore_errors=True)


def node_json(node: Node, name: str | None = None) -> dict[str, Any]:
    """`kubectl get nodes -o json` through the controller's `k0spy kubectl`: name -> Node."""
    import json

    got = node.k0spy("kubectl", "get", "nodes", "-o", "json")
    assert got.returncode == 0, got.stderr
    nodes = {item["metadata"]["name"]: item for item in json.loads(got.stdout)["items"]}
    return nodes if name is None else nodes.get(name, {})


def is_ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
