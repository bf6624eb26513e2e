"""`k0spy controller --enable-worker` and `--single`: the embedded worker end to end.

Each controller runs inside its own network namespace (tests.support.workerrole), so kubelet's healthz
port and the kernel set-up's forwarding sysctls stay out of the host's way. containerd and runc are real;
kubelet and the control plane are the contract doubles.
"""

from __future__ import annotations

import json
import os
import socket
import stat

from tests.support.workerrole import Lab, NsNode, is_ready, node_json, wait_for

WORKER_COMPONENTS = ["containerd", "ocibundle", "iptables", "kubelet"]
ROLE_LABEL = "node.k0sproject.io/role"
CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def component_rows(node: NsNode) -> dict[str, dict[str, object]]:
    result = node.k0spy("status", "components", "-o", "json")
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def mode(path: object) -> int:
    return stat.S_IMODE(path.stat().st_mode)  # type: ignore[attr-defined]


def test_enable_worker_runs_containerd_and_a_tainted_ready_control_plane_node(netns_lab: Lab,
                                                                                make_ns_node) -> None:
    ns, _ = netns_lab.add("cp", 1)
    node: NsNode = make_ns_node(ns)
    node.start("--enable-worker", "--ignore-pre-flight-checks")
    node.wait_ready(timeout=90)
    rows = component_rows(node)
    names = list(rows)
    assert names.index("worker-config") == names.index("kube-apiserver") + 1
    assert names[-4:] == WORKER_COMPONENTS
    # the node's own namespace has no rules yet: the mode comes from the host's iptables or the kernel,
    # and DATA/bin/iptables* lead to that backend
    backend = rows["iptables"]["iptablesMode"]
    assert backend in ("nft", "legacy") and rows["iptables"]["iptablesWhy"]
    assert os.readlink(node.data / "bin" / "iptables").endswith(f"xtables-{backend}-multi")
    assert all(rows[name]["state"] == "ready" and rows[name]["pid"] for name in ("containerd", "kubelet"))

    version = node.k0spy("ctr", "version")
    assert version.returncode == 0, version.stderr
    assert "Server:" in version.stdout

    hostname = socket.gethostname().lower()
    me = wait_for(lambda: (n := node_json(node, hostname)) and is_ready(n) and n, timeout=30)
    assert me["metadata"]["labels"][ROLE_LABEL] == "control-plane"
    assert CP_TAINT in [{k: t[k] for k in ("key", "effect")} for t in me["spec"].get("taints", [])]

    maps = node.k0spy("kubectl", "get", "configmaps", "-n", "kube-system", "-o", "name")
    assert {"configmap/worker-config-default-1.35", "configmap/worker-config-default-windows-1.35"} <= set(
        maps.stdout.split())
    assert mode(node.run / "kubelet" / "config.yaml") == 0o600
    assert mode(node.run / "kubelet-direct.conf") == 0o640
    assert mode(node.data / "kubelet.conf") == 0o600
    assert mode(node.data / "kubelet" / "pki" / "kubelet-client-current.pem") == 0o600
    assert "127.0.0.1" in (node.run / "kubelet-direct.conf").read_text()
    assert (node.run / "kubelet" / "ca.crt").read_bytes() == (node.data / "pki" / "ca.crt").read_bytes()

    # serverTLSBootstrap: the kubelet's serving CSR is approved by k0spy's csr-approver, signed by the
    # controller-manager, and stored by the kubelet
    assert rows["csr-approver"]["state"] == "running"  # in-process: no pid of its own
    wait_for(lambda: (node.data / "kubelet" / "pki" / "kubelet-server-current.pem").exists(), timeout=30)
    csrs = node.k0spy("kubectl", "get", "csr", "-o", "json")
    assert csrs.returncode == 0, csrs.stderr
    serving = [c for c in json.loads(csrs.stdout)["items"]
               if c["spec"]["signerName"] == "kubernetes.io/kubelet-serving"]
    assert serving and serving[0]["spec"]["username"] == f"system:node:{hostname}"
    assert [c["reason"] for c in serving[0]["status"]["conditions"]] == ["Autoapproved by K0s CSRApprover"]
    assert any(e.get("event") == "csr.approved" and e.get("node") == hostname for e in node.events())

    assert node.stop() == 0
    stopped = [e["component"] for e in node.events() if e.get("event") == "process.stopped"]
    assert stopped[:2] == ["kubelet", "containerd"]


def test_single_node_is_labelled_not_tainted_and_restarts_without_a_new_bootstrap(netns_lab: Lab,
                                                                                   make_ns_node) -> None:
    ns, _ = netns_lab.add("single", 1)
    node: NsNode = make_ns_node(ns, storage="kine")
    node.start("--single", "--ignore-pre-flight-checks")
    node.wait_ready(timeout=90)
    hostname = socket.gethostname().lower()
    me = wait_for(lambda: (n := node_json(node, hostname)) and is_ready(n) and n, timeout=30)
    assert me["metadata"]["labels"][ROLE_LABEL] == "control-plane"
    assert not me["spec"].get("taints")
    assert node.stop() == 0

    pem = (node.data / "kubelet" / "pki" / "kubelet-client-current.pem").read_bytes()
    node.start("--single", "--ignore-pre-flight-checks")
    node.wait_ready(timeout=90)
    assert any(e.get("event") == "bootstrap.skipped" for e in node.events())
    assert (node.data / "kubelet" / "pki" / "kubelet-client-current.pem").read_bytes() == pem
    assert node.stop() == 0
