"""Three controllers in three network namespaces joined into one etcd cluster (the cjoin tests).

Each controller runs in its own namespace (tests.support.workerrole's lab), so every one of them keeps
k0s's default etcd ports (2379 on its own loopback, 2380 on its 10.99.<net>.<n> address) while the other
ports stay on free numbers. Member names are set through `storage.etcd.extraArgs.name`: the namespaces
share one UTS namespace, hence one host name.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from typing import Any

from tests.support.workerrole import Lab, NsNode, wait_for


def controller_extra(address: str, name: str) -> dict[str, Any]:
    return {"api": {"address": address},
            "storage": {"type": "etcd", "etcd": {"peerAddress": address, "extraArgs": {"name": name}}}}


def add_controller(lab: Lab, make_ns_node: Any, index: int) -> tuple[NsNode, str]:
    ns, address = lab.add(f"cp{index}", index)
    node: NsNode = make_ns_node(ns, extra=controller_extra(address, f"cp{index}"))
    return node, address


def members(node: NsNode) -> dict[str, str]:
    got = node.k0spy("etcd", "member-list")
    assert got.returncode == 0, got.stderr
    return dict(json.loads(got.stdout)["members"])


def learners(node: NsNode) -> list[bool]:
    """isLearner of each member, straight from etcd (etcdctl inside the node's namespace)."""
    certs = node.data / "pki"
    got = subprocess.run(
        ["ip", "netns", "exec", node.ns, "etcdctl", "--endpoints=https://127.0.0.1:2379",
         f"--cacert={certs / 'etcd' / 'ca.crt'}", f"--cert={certs / 'apiserver-etcd-client.crt'}",
         f"--key={certs / 'apiserver-etcd-client.key'}", "-w", "json", "member", "list"],
        capture_output=True, text=True, timeout=20, check=False, env={**os.environ, "ETCDCTL_API": "3"})
    assert got.returncode == 0, got.stderr
    return [bool(m.get("isLearner")) for m in json.loads(got.stdout)["members"]]


def all_voters(node: NsNode, count: int) -> bool:
    states = learners(node)
    return len(states) == count and not any(states)


def kubectl(node: NsNode, *args: str) -> subprocess.CompletedProcess[str]:
    return node.k0spy("kubectl", *args, timeout=30)


def get_configmap(node: NsNode, name: str) -> dict[str, Any] | None:
    got = kubectl(node, "get", "configmap", name, "-n", "default", "-o", "json")
    return json.loads(got.stdout) if got.returncode == 0 else None


def kill_namespace(node: NsNode) -> None:
    """SIGKILL the daemon and every child: everything running in the node's namespace."""
    found = subprocess.run(["ip", "netns", "pids", node.ns], capture_output=True, text=True, check=False)
    for pid in found.stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    if node.proc is not None:
        node.proc.wait(10)
        node.proc = None
    wait_for(lambda: not subprocess.run(["ip", "netns", "pids", node.ns], capture_output=True, text=True,
                                        check=False).stdout.strip(), timeout=10)


def leave(node: NsNode, peer_address: str, timeout: float = 30) -> str:
    """`k0spy etcd leave --peer-address`, retried while etcd refuses for quorum's sake."""
    def attempt() -> str | None:
        got = node.k0spy("etcd", "leave", "--peer-address", peer_address)
        if got.returncode == 0:
            return got.stdout
        assert "quorum" in got.stderr or "unhealthy cluster" in got.stderr, got.stderr
        return None

    return str(wait_for(attempt, timeout=timeout, interval=1.0))
