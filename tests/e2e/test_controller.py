"""`k0spy controller` end to end with the offline dev bundle: real etcd 3.4, doubles for the rest.

Each test runs the real CLI in its own process on private dirs and free loopback ports, and stops what it
started (the `make_node` fixture kills anything left under the node's directory).
"""

from __future__ import annotations

import json
import os
import socket
import zipfile
from pathlib import Path

import psutil
from cryptography import x509

from tests.support.controller import Node
from tests.support.net import free_port as node_port

CONTROL_PLANE = ["etcd", "konnectivity", "kube-apiserver", "worker-config", "k0s-control-api",
                 "kube-scheduler", "kube-controller-manager", "etcd-learner-promoter", "csr-approver",
                 "cert-renewer"]
NOT_PROCESSES = ("worker-config", "etcd-learner-promoter", "csr-approver", "cert-renewer")
PROCESSES = [name for name in CONTROL_PLANE if name not in NOT_PROCESSES]
# what --dry-run shows: the rendered control plane (the k0s-api child re-executes k0spy itself)
RENDERED = [name for name in PROCESSES if name != "k0s-control-api"]


def components(node: Node) -> dict[str, dict[str, object]]:
    result = node.k0spy("status", "components", "-o", "json")
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def stop_order(node: Node) -> list[str]:
    return [e["component"] for e in node.events() if e.get("event") == "process.stopped"]


def assert_nothing_left(node: Node) -> None:
    assert not list(node.run.glob("*.pid"))
    assert not (node.run / "k0s.yaml").exists()
    leftovers = [p.pid for p in psutil.process_iter(["cmdline"])
                 if str(node.root) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []


def test_controller_with_etcd_runs_serves_kubectl_and_stops_in_reverse(make_node) -> None:
    node: Node = make_node()
    node.start()
    node.wait_ready()
    rows = components(node)
    assert list(rows) == CONTROL_PLANE
    assert all(row["state"] in ("ready", "running") for row in rows.values())
    assert all(rows[name]["state"] == "ready" and rows[name]["pid"] for name in PROCESSES)
    got = node.k0spy("kubectl", "get", "namespaces", "-o", "name")
    assert got.returncode == 0, got.stderr
    assert "namespace/kube-system" in got.stdout.split()
    assert node.stop() == 0
    assert stop_order(node) == list(reversed(PROCESSES))
    assert_nothing_left(node)


def test_kine_storage_keeps_objects_in_its_sqlite_file(make_node) -> None:
    node: Node = make_node(storage="kine", extra={"storage": {
        "kine": {"extraArgs": {"metrics-bind-address": f"127.0.0.1:{node_port()}"}}}})
    node.start()
    node.wait_ready()
    assert [name for name in components(node) if name not in NOT_PROCESSES] == [
        "kine", "konnectivity", "kube-apiserver", "kube-scheduler", "kube-controller-manager"]
    created = node.k0spy("kubectl", "create", "namespace", "kine-test")
    assert created.returncode == 0, created.stderr
    assert (node.data / "db" / "state.db").stat().st_size > 0
    assert node.stop() == 0
    assert_nothing_left(node)


def serials(node: Node) -> dict[str, int]:
    pki = node.data / "pki"
    return {p.name: x509.load_pem_x509_certificate(p.read_bytes()).serial_number
            for p in [pki / "server.crt", pki / "admin.crt", pki / "etcd" / "server.crt"]}


def test_restart_keeps_ca_binaries_and_data_and_renews_leaves(make_node) -> None:
    node: Node = make_node()
    node.start()
    node.wait_ready()
    made = node.k0spy("kubectl", "create", "configmap", "kept", "--from-literal=k=v", "-n", "default")
    assert made.returncode == 0, made.stderr
    assert node.stop() == 0
    ca = (node.data / "pki" / "ca.crt").read_bytes(), (node.data / "pki" / "ca.key").read_bytes()
    before = serials(node)
    etcd_bin = (node.data / "bin" / "etcd").stat()

    node.start()
    node.wait_ready()
    assert ((node.data / "pki" / "ca.crt").read_bytes(), (node.data / "pki" / "ca.key").read_bytes()) == ca
    after = serials(node)
    assert all(after[name] != before[name] for name in before)
    now = (node.data / "bin" / "etcd").stat()
    assert (now.st_ino, now.st_mtime_ns) == (etcd_bin.st_ino, etcd_bin.st_mtime_ns)
    got = node.k0spy("kubectl", "get", "configmap", "kept", "-n", "default", "-o", "jsonpath={.data.k}")
    assert got.returncode == 0 and got.stdout == "v", got.stderr
    assert node.stop() == 0


def test_init_only_prepares_and_starts_nothing(make_node) -> None:
    node: Node = make_node()
    result = node.k0spy("controller", "-c", str(node.config_path), "--init-only")
    assert result.returncode == 0, result.stderr
    for name in ["ca.crt", "ca.key", "server.crt", "admin.conf", "etcd/server.crt", "sa.key"]:
        assert (node.data / "pki" / name).exists(), name
    assert os.access(node.data / "bin" / "kube-apiserver", os.X_OK)
    assert not list(node.run.glob("*.pid"))
    assert not (node.run / "k0s.yaml").exists()


def test_dry_run_writes_nothing_then_shows_the_difference_with_the_running_children(make_node) -> None:
    node: Node = make_node()
    shown = node.k0spy(*node.controller_args(), "--dry-run")
    assert shown.returncode == 0, shown.stderr
    docs = json.loads(shown.stdout)
    assert [d["name"] for d in docs] == RENDERED
    assert {"name", "binary", "args", "user", "files"} <= set(docs[0])
    assert not node.data.exists()

    node.start()
    node.wait_ready()
    unchanged = json.loads(node.k0spy(*node.controller_args(), "--dry-run").stdout)
    assert all(d["running"] == {"added": [], "removed": []} for d in unchanged)
    changed_cfg = node.root / "changed.yaml"
    cfg = dict(node.config)
    cfg["spec"] = {**cfg["spec"], "scheduler": {"extraArgs": {**cfg["spec"]["scheduler"]["extraArgs"],
                                                               "v": "4"}}}
    import yaml

    changed_cfg.write_text(yaml.safe_dump(cfg))
    diff = {d["name"]: d["running"] for d in json.loads(
        node.k0spy(*node.controller_args(changed_cfg), "--dry-run").stdout)}
    assert diff["kube-scheduler"] == {"added": ["--v=4"], "removed": ["--v=1"]}
    assert diff["etcd"] == {"added": [], "removed": []}
    assert node.stop() == 0


def test_port_in_use_is_named_and_nothing_starts(make_node) -> None:
    node: Node = make_node()
    with socket.socket() as squatter:
        squatter.bind(("0.0.0.0", node.ports["api"]))
        squatter.listen()
        result = node.k0spy(*node.controller_args(), timeout=120)
    assert result.returncode == 1
    assert f"kube-apiserver: port {node.ports['api']}" in result.stderr + result.stdout
    assert "--secure-port" in result.stderr + result.stdout
    assert not list(node.run.glob("*.pid"))


def test_component_that_never_becomes_ready_fails_the_start_and_stops_the_rest(make_node) -> None:
    node: Node = make_node()
    env = {**node.env(), "K0SPY_DOUBLE_FAULT": "kube-scheduler=stall"}
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "k0spy", *node.global_args(), *node.controller_args(),
         "--ready-timeout", "3s"],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "kube-scheduler" in result.stdout and "ready" in result.stdout
    stopped = [json.loads(line)["component"] for line in result.stdout.splitlines()
               if '"process.stopped"' in line]
    assert stopped == ["kube-scheduler", "k0s-control-api", "kube-apiserver", "konnectivity", "etcd"]
    assert_nothing_left(node)


def test_missing_binary_is_a_clear_error(make_node, tmp_path: Path) -> None:
    node: Node = make_node()
    partial = tmp_path / "partial.zip"
    with zipfile.ZipFile(node.bundle) as src, zipfile.ZipFile(partial, "w") as dst:
        for item in src.infolist():
            if item.filename != "kube-scheduler":
                dst.writestr(item, src.read(item.filename))
    node.bundle = partial
    result = node.k0spy(*node.controller_args())
    assert result.returncode == 1
    assert "kube-scheduler" in result.stderr + result.stdout
    assert not list(node.run.glob("*.pid"))


def test_second_controller_on_the_same_data_dir_is_refused(make_node) -> None:
    node: Node = make_node()
    node.start()
    node.wait_ready()
    again = node.k0spy(*node.controller_args(), timeout=60)
    assert again.returncode == 1
    assert "another k0spy process is still running" in again.stderr + again.stdout
    assert node.stop() == 0


def test_external_etcd_runs_no_storage_process_and_stores_in_it(make_node, tmp_path: Path) -> None:
    from tests.support.doubles import start_etcd, stop_process
    from tests.support.doubles_pki import make_pki

    ext_pki = make_pki(tmp_path / "ext-pki")
    etcd = start_etcd(tmp_path / "ext-etcd", ext_pki)
    try:
        node: Node = make_node(extra={"storage": {"type": "etcd", "etcd": {"externalCluster": {
            "endpoints": [etcd.url], "etcdPrefix": "k0spy-ext",
            "caFile": ext_pki.path("etcd/ca.crt"),
            "clientCertFile": ext_pki.path("apiserver-etcd-client.crt"),
            "clientKeyFile": ext_pki.path("apiserver-etcd-client.key")}}}})
        node.start()
        node.wait_ready()
        assert "etcd" not in components(node)
        assert not (node.data / "pki" / "etcd").exists()
        made = node.k0spy("kubectl", "create", "namespace", "ext-test")
        assert made.returncode == 0, made.stderr
        import base64
        import ssl

        ctx = ssl.create_default_context(cafile=ext_pki.path("etcd/ca.crt"))
        ctx.load_cert_chain(ext_pki.path("apiserver-etcd-client.crt"),
                            ext_pki.path("apiserver-etcd-client.key"))
        body = json.dumps({"key": base64.b64encode(b"\0").decode(),
                           "range_end": base64.b64encode(b"\0").decode(), "keys_only": True})
        import urllib.request

        with urllib.request.urlopen(urllib.request.Request(etcd.url + "/v3/kv/range", data=body.encode()),
                                    context=ctx, timeout=5) as resp:
            keys = [base64.b64decode(kv["key"]) for kv in json.loads(resp.read()).get("kvs", [])]
        # --etcd-prefix=k0spy-ext: every object the apiserver stored is under the prefix
        assert keys and all(key.lstrip(b"/").startswith(b"k0spy-ext/") for key in keys), keys
        assert any(key.endswith(b"/namespaces/ext-test") for key in keys), keys
        assert node.stop() == 0
    finally:
        stop_process(etcd.proc)
