"""The kube-apiserver double against real etcd 3.4 and real kubectl."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import time
from pathlib import Path

import pytest

from tests.support.doubles import (
    CSRS,
    ApiServer,
    Procs,
    api,
    apiserver,
    apiserver_args,
    bootstrap_secret,
    client_ssl,
    csr_pem,
    doubles_bin,
    etcd,
    http_get,
    kubectl,
    pki,
    procs,
    start_apiserver,
    start_etcd,
    stop_process,
    wait_until,
)
from tests.support.doubles_pki import DoublesPki, make_ca, make_leaf
from tests.support.net import free_port

__all__ = ["apiserver", "doubles_bin", "etcd", "pki", "procs"]


def test_health_version_and_authentication(apiserver: ApiServer, pki: DoublesPki) -> None:
    admin = client_ssl(pki)
    status, body = http_get(apiserver.url + "/readyz?verbose", admin)
    assert status == 200
    assert "[+]etcd ok" in body and body.endswith("readyz check passed\n")
    assert http_get(apiserver.url + "/livez", admin) == (200, "ok")
    assert http_get(apiserver.url + "/healthz", admin) == (200, "ok")
    assert http_get(apiserver.url + "/readyz/etcd", admin) == (200, "ok")
    version = json.loads(http_get(apiserver.url + "/version", admin)[1])
    assert version["gitVersion"].startswith("v1.35.")
    status, body = http_get(apiserver.url + "/readyz", client_ssl(pki, client=None))
    assert status == 401 and json.loads(body)["reason"] == "Unauthorized"


def test_client_cert_from_another_ca_is_refused(
    apiserver: ApiServer, pki: DoublesPki, tmp_path: Path
) -> None:
    stranger = make_leaf(make_ca("someone-else"), "kubernetes-admin", ("system:masters",))
    cert, key = stranger.write(tmp_path, "stranger")
    ctx = ssl.create_default_context(cafile=pki.path("ca.crt"))
    ctx.load_cert_chain(str(cert), str(key))
    # The real apiserver answers 401 here; Python's ssl verifies client certificates in the handshake, so the
    # double refuses the connection instead (documented deviation).  Either way the stranger gets nothing.
    with pytest.raises(OSError):
        http_get(apiserver.url + "/readyz", ctx)


def test_kubectl_round_trip(apiserver: ApiServer, tmp_path: Path) -> None:
    home = tmp_path / "home"

    def k(*args: str, input: str | None = None) -> str:
        result = kubectl(list(args), apiserver.admin_conf, home, input)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "namespace/demo created" in k("create", "namespace", "demo")
    assert "secret/s1 created" in k("-n", "demo", "create", "secret", "generic", "s1", "--from-literal=a=b")
    assert "configmap/c1 created" in k("-n", "demo", "create", "configmap", "c1", "--from-literal=x=y")
    secret = json.loads(k("-n", "demo", "get", "secret", "s1", "-o", "json"))
    assert base64.b64decode(secret["data"]["a"]) == b"b" and secret["type"] == "Opaque"
    assert "configmap/c1 labeled" in k("-n", "demo", "label", "configmap", "c1", "tier=x")
    assert "c1" in k("-n", "demo", "get", "cm", "-l", "tier=x", "-o", "name")
    manifests = {
        "node/n1": {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}},
        "lease.coordination.k8s.io/l1": {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "l1", "namespace": "demo"},
            "spec": {"holderIdentity": "me"},
        },
        "event/e1": {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "e1", "namespace": "demo"},
            "involvedObject": {"kind": "Node", "name": "n1"},
            "reason": "Test",
            "message": "hello",
        },
        "certificatesigningrequest.certificates.k8s.io/csr1": {
            "apiVersion": "certificates.k8s.io/v1",
            "kind": "CertificateSigningRequest",
            "metadata": {"name": "csr1"},
            "spec": {
                "request": csr_pem("system:node:n1", ("system:nodes",)),
                "usages": ["client auth"],
                "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
            },
        },
    }
    for name, manifest in manifests.items():
        assert f"{name} created" in k("create", "-f", "-", input=json.dumps(manifest))
    assert "n1" in k("get", "nodes", "-o", "name")
    assert "l1" in k("-n", "demo", "get", "leases", "-o", "name")
    assert "e1" in k("-n", "demo", "get", "events", "-o", "name")
    csr = json.loads(k("get", "csr", "csr1", "-o", "json"))
    assert csr["spec"]["username"] == "kubernetes-admin"
    assert "approved" in k("certificate", "approve", "csr1")
    csr = json.loads(k("get", "csr", "csr1", "-o", "json"))
    assert csr["status"]["conditions"][0]["type"] == "Approved"
    for name in manifests:
        namespace = [] if name.startswith(("node", "certificate")) else ["-n", "demo"]
        assert "deleted" in k(*namespace, "delete", name)
    assert "deleted" in k("-n", "demo", "delete", "configmap", "c1")
    assert "deleted" in k("delete", "namespace", "demo")
    result = kubectl(["get", "namespace", "demo"], apiserver.admin_conf, home)
    assert result.returncode == 1 and 'namespaces "demo" not found' in result.stderr


def test_kubectl_apply_with_validation(apiserver: ApiServer, tmp_path: Path) -> None:
    manifest = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "applied", "namespace": "default"},
            "data": {"k": "1"},
        }
    )
    home = tmp_path / "home"
    first = kubectl(["apply", "-f", "-"], apiserver.admin_conf, home, manifest)
    assert first.returncode == 0 and "configmap/applied created" in first.stdout, first.stderr
    changed = manifest.replace('"1"', '"2"')
    second = kubectl(["apply", "-f", "-"], apiserver.admin_conf, home, changed)
    assert second.returncode == 0 and "configmap/applied configured" in second.stdout, second.stderr
    got = kubectl(["get", "configmap", "applied", "-o", "json"], apiserver.admin_conf, home)
    assert json.loads(got.stdout)["data"] == {"k": "2"}


def test_bootstrap_token_authentication(apiserver: ApiServer, pki: DoublesPki) -> None:
    admin = client_ssl(pki)
    anon = client_ssl(pki, client=None)
    tokens = {
        "aaaaaa": bootstrap_secret("aaaaaa", "0123456789abcdef"),
        "bbbbbb": bootstrap_secret("bbbbbb", "0123456789abcdef", expires_in=-60),
        "cccccc": bootstrap_secret("cccccc", "0123456789abcdef", usage=False),
    }
    for secret in tokens.values():
        assert api(apiserver.url + "/api/v1/namespaces/kube-system/secrets", "POST", secret, admin)[0] == 201

    def as_token(token: str, path: str, method: str = "GET", body: object = None) -> tuple[int, dict]:
        return api(apiserver.url + path, method, body, anon, {"Authorization": f"Bearer {token}"})

    csr = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"generateName": "node-csr-"},
        "spec": {
            "request": csr_pem("system:node:w1", ("system:nodes",)),
            "usages": ["client auth"],
            "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
        },
    }
    status, created = as_token("aaaaaa.0123456789abcdef", CSRS, "POST", csr)
    assert status == 201
    assert created["spec"]["username"] == "system:bootstrap:aaaaaa"
    assert "system:bootstrappers" in created["spec"]["groups"]
    status, denied = as_token("aaaaaa.0123456789abcdef", "/api/v1/namespaces/kube-system/secrets")
    assert (
        status == 403 and 'User "system:bootstrap:aaaaaa" cannot list resource "secrets"' in denied["message"]
    )
    for bad in ("bbbbbb.0123456789abcdef", "cccccc.0123456789abcdef", "aaaaaa.ffffffffffffffff", "garbage"):
        assert as_token(bad, CSRS)[0] == 401, bad


def test_two_apiservers_share_one_etcd(apiserver: ApiServer, procs: Procs, pki: DoublesPki, etcd) -> None:
    other = start_apiserver(procs, pki, etcd.url)
    admin = client_ssl(pki)
    path = "/api/v1/namespaces/default/configmaps"
    status, created = api(
        apiserver.url + path, "POST", {"metadata": {"name": "shared"}, "data": {"v": "1"}}, admin
    )
    assert status == 201
    status, seen = api(other.url + path + "/shared", ctx=admin)
    assert status == 200 and seen["data"] == {"v": "1"}
    assert seen["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    seen["data"] = {"v": "2"}
    status, updated = api(other.url + path + "/shared", "PUT", seen, admin)
    assert status == 200 and int(updated["metadata"]["resourceVersion"]) > int(
        seen["metadata"]["resourceVersion"]
    )
    created["data"] = {"v": "stale"}
    status, conflict = api(apiserver.url + path + "/shared", "PUT", created, admin)
    assert status == 409 and conflict["reason"] == "Conflict"
    status, patched = api(
        apiserver.url + path + "/shared",
        "PATCH",
        {"data": {"w": "3"}},
        admin,
        content_type="application/merge-patch+json",
    )
    assert status == 200 and patched["data"] == {"v": "2", "w": "3"}


def test_watch_streams_events(apiserver: ApiServer, pki: DoublesPki) -> None:
    admin = client_ssl(pki)
    path = "/api/v1/namespaces/default/configmaps"
    _status, listed = api(apiserver.url + path, ctx=admin)
    rv = listed["metadata"]["resourceVersion"]
    host, port = apiserver.url.removeprefix("https://").split(":")
    conn = http.client.HTTPSConnection(host, int(port), context=admin, timeout=5)
    conn.request("GET", f"{path}?watch=1&resourceVersion={rv}&timeoutSeconds=5")
    response = conn.getresponse()
    assert response.status == 200
    api(apiserver.url + path, "POST", {"metadata": {"name": "watched"}}, admin)
    api(apiserver.url + path + "/watched", "DELETE", None, admin)
    events = [json.loads(response.readline()) for _ in range(2)]
    conn.close()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "watched"),
        ("DELETED", "watched"),
    ]


def test_readyz_follows_storage(procs: Procs, pki: DoublesPki, tmp_path: Path) -> None:
    own = start_etcd(tmp_path / "etcd", pki)
    try:
        server = start_apiserver(procs, pki, own.url)
    finally:
        stop_process(own.proc)
    admin = client_ssl(pki)
    _status, body = wait_until(
        lambda: (lambda r: r if r[0] == 500 else None)(
            http_get(server.url + "/readyz?verbose", admin, timeout=5)
        ),
        timeout=15,
    )
    assert "[-]etcd failed: reason withheld" in body and "readyz check failed" in body
    assert http_get(server.url + "/livez", admin, timeout=5)[0] == 500


def test_sigterm_exits_zero_promptly(apiserver: ApiServer) -> None:
    started = time.monotonic()
    assert apiserver.proc.stop() == 0
    assert time.monotonic() - started < 3
    assert "Shutdown complete" in apiserver.proc.output()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"tls-cert-file": "/nonexistent/server.crt"},
            "open /nonexistent/server.crt: no such file or directory",
        ),
        ({"client-ca-file": "KEY"}, "data does not contain any valid RSA or ECDSA certificates"),
        ({"tls-private-key-file": "OTHERKEY"}, "tls: private key does not match public key"),
        ({"etcd-keyfile": "/nonexistent/etcd.key"}, "open /nonexistent/etcd.key: no such file or directory"),
        ({"service-account-issuer": None}, "service-account-issuer is a required flag"),
        ({"etcd-servers": None}, "--etcd-servers must be specified"),
        ({"tls-min-version": "VersionTLS9"}, 'unknown tls version "VersionTLS9"'),
        ({"secure-port": "https"}, 'invalid argument "https" for "--secure-port" flag: strconv.ParseInt'),
        ({"no-such-flag": "1"}, "Error: unknown flag: --no-such-flag"),
        (
            {"egress-selector-config-file": "EGRESS"},
            'strict decoding error: unknown field "connection.bogus"',
        ),
    ],
)
def test_startup_failures(procs: Procs, pki: DoublesPki, tmp_path: Path, change: dict, expected: str) -> None:
    substitutes = {
        "KEY": pki.path("ca.key"),
        "OTHERKEY": pki.path("admin.key"),
        "EGRESS": str(tmp_path / "e.yaml"),
    }
    (tmp_path / "e.yaml").write_text(
        "apiVersion: apiserver.k8s.io/v1beta1\nkind: EgressSelectorConfiguration\negressSelections:\n"
        "- name: cluster\n  connection:\n    proxyProtocol: GRPC\n    bogus: 1\n"
    )
    extra = {k: substitutes.get(v, v) if v else None for k, v in change.items()}
    args = apiserver_args(pki, free_port(), "https://127.0.0.1:1", **extra)
    result = procs.run("kube-apiserver", args)
    assert result.returncode == 1
    assert expected in result.stderr


def test_underscore_flags_are_normalised(procs: Procs, pki: DoublesPki) -> None:
    args = [
        a.replace("--secure-port", "--secure_port")
        for a in apiserver_args(pki, free_port(), "https://127.0.0.1:1")
    ]
    args.append("--tls-cert-file=/nonexistent/x.crt")
    result = procs.run("kube-apiserver", args)
    assert "unknown flag" not in result.stderr and "/nonexistent/x.crt" in result.stderr


def test_kubectl_apply_rbac_manifest(apiserver: ApiServer, tmp_path: Path) -> None:
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "kubelet-bootstrap"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "system:node-bootstrapper",
        },
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:bootstrappers"}
        ],
    }
    home = tmp_path / "home"
    applied = kubectl(["apply", "-f", "-"], apiserver.admin_conf, home, json.dumps(binding))
    assert applied.returncode == 0 and "clusterrolebinding" in applied.stdout, applied.stderr
    got = kubectl(
        ["get", "clusterrolebinding", "kubelet-bootstrap", "-o", "json"], apiserver.admin_conf, home
    )
    assert json.loads(got.stdout)["subjects"][0]["name"] == "system:bootstrappers"
    deleted = kubectl(["delete", "clusterrolebinding", "kubelet-bootstrap"], apiserver.admin_conf, home)
    assert deleted.returncode == 0, deleted.stderr


def test_tls_cipher_suites_are_enforced(apiserver: ApiServer, pki: DoublesPki) -> None:
    def tls12(cipher: str) -> ssl.SSLContext:
        ctx = client_ssl(pki)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(cipher)
        return ctx

    assert http_get(apiserver.url + "/livez", tls12("ECDHE-ECDSA-AES128-GCM-SHA256"))[0] == 200
    with pytest.raises(OSError):
        http_get(apiserver.url + "/livez", tls12("ECDHE-ECDSA-AES256-GCM-SHA384"))
