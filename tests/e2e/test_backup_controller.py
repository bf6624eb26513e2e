"""Backup and restore end to end: `k0spy controller` (real etcd 3.4, apiserver double), 2,000 objects
written through kubectl and a join token, `k0spy backup`, `k0spy reset`, `k0spy restore`, start again:
every object, the token and the CA are back, and etcd's cluster id is new.
"""

from __future__ import annotations

import http.client
import json
import ssl
from pathlib import Path

import yaml

from tests.support.controller import Node

COUNT = 2000


def _objects() -> str:
    docs = []
    for i in range(COUNT):
        kind = "Secret" if i % 2 else "ConfigMap"
        data = {"value": "cGF5bG9hZA=="} if kind == "Secret" else {"value": f"payload-{i}"}
        meta = {"name": f"obj-{i}", "namespace": "default"}
        docs.append({"apiVersion": "v1", "kind": kind, "metadata": meta, "data": data})
    return yaml.safe_dump_all(docs)


def _names(node: Node, kind: str) -> set[str]:
    got = node.k0spy("kubectl", "get", kind, "-n", "default", "-o", "json")
    assert got.returncode == 0, got.stderr
    return {item["metadata"]["name"] for item in json.loads(got.stdout)["items"]}


def _cluster_id(node: Node) -> str:
    pki = node.data / "pki"
    ctx = ssl.create_default_context(cafile=str(pki / "etcd" / "ca.crt"))
    ctx.load_cert_chain(pki / "apiserver-etcd-client.crt", pki / "apiserver-etcd-client.key")
    conn = http.client.HTTPSConnection("127.0.0.1", node.ports["etcd"], context=ctx, timeout=10)
    try:
        conn.request("POST", "/v3/maintenance/status", body="{}")
        return str(json.loads(conn.getresponse().read())["header"]["cluster_id"])
    finally:
        conn.close()


def _tokens(node: Node) -> list[str]:
    listed = node.k0spy("token", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    return sorted(json.dumps(row, sort_keys=True) for row in json.loads(listed.stdout))


def test_controller_backup_reset_restore_start(make_node, tmp_path: Path) -> None:
    node: Node = make_node()
    node.start()
    node.wait_ready()
    applied = node.k0spy("kubectl", "apply", "-f", "-", input=_objects(), timeout=600)
    assert applied.returncode == 0, applied.stderr
    token = node.k0spy("token", "create", "--role", "worker")
    assert token.returncode == 0, token.stderr
    configmaps, secrets, tokens = _names(node, "configmaps"), _names(node, "secrets"), _tokens(node)
    assert {f"obj-{i}" for i in range(0, COUNT, 2)} <= configmaps and len(tokens) == 1
    ca = (node.data / "pki" / "ca.crt").read_bytes(), (node.data / "pki" / "ca.key").read_bytes()
    cluster = _cluster_id(node)

    save = tmp_path / "save"
    save.mkdir()
    backup = node.k0spy("backup", "--save-path", str(save), timeout=120)
    assert backup.returncode == 0, backup.stderr
    (archive,) = save.glob("k0s_backup_*.tar.gz")
    assert node.stop() == 0

    reset = node.k0spy("reset", "--root", str(tmp_path / "root"), "--init-system", "systemd", timeout=180)
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert not node.data.exists()
    restored = node.k0spy("restore", str(archive), "--config-out", str(tmp_path / "k0s.yaml"), timeout=120)
    assert restored.returncode == 0, restored.stderr

    node.start()
    node.wait_ready()
    assert ((node.data / "pki" / "ca.crt").read_bytes(), (node.data / "pki" / "ca.key").read_bytes()) == ca
    assert _names(node, "configmaps") == configmaps
    assert _names(node, "secrets") == secrets
    assert _tokens(node) == tokens
    assert _cluster_id(node) != cluster
    assert node.stop() == 0
