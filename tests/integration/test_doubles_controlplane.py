"""kube-scheduler and kube-controller-manager doubles against the apiserver double and real etcd."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from tests.support.doubles import (
    CSRS,
    ApiServer,
    Procs,
    api,
    apiserver,
    bootstrap_secret,
    client_ssl,
    controller_manager_args,
    csr_pem,
    doubles_bin,
    etcd,
    http_get,
    pki,
    procs,
    scheduler_args,
    wait_http_ok,
    wait_until,
)
from tests.support.doubles_pki import DoublesPki, make_leaf
from tests.support.net import free_port

__all__ = ["apiserver", "doubles_bin", "etcd", "pki", "procs"]


def insecure() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def kubeconfig_for(pki: DoublesPki, server: ApiServer, name: str) -> str:
    from cryptography.hazmat.primitives import serialization

    from tests.support.doubles_pki import Pair

    cert = x509.load_pem_x509_certificate(Path(pki.path(f"{name}.crt")).read_bytes())
    key = serialization.load_pem_private_key(Path(pki.path(f"{name}.key")).read_bytes(), None)
    return pki.kubeconfig(f"{name}-{server.url.rsplit(':', 1)[1]}.conf", server.url, Pair(cert, key))  # type: ignore[arg-type]


def test_scheduler_serves_health_and_holds_its_lease(
    procs: Procs, pki: DoublesPki, apiserver: ApiServer
) -> None:
    port = free_port()
    conf = kubeconfig_for(pki, apiserver, "scheduler")
    proc = procs.start("kube-scheduler", scheduler_args(pki, conf, port, **{"leader-elect": "true"}))
    assert wait_http_ok(f"https://127.0.0.1:{port}/healthz", insecure(), proc) == "ok"
    assert http_get(f"https://127.0.0.1:{port}/metrics", insecure())[0] == 403
    lease_url = apiserver.url + "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler"
    lease = wait_until(
        lambda: (lambda r: r[1] if r[0] == 200 else None)(api(lease_url, ctx=client_ssl(pki))), proc=proc
    )
    assert lease["spec"]["holderIdentity"]
    assert proc.stop() == 0
    released = api(lease_url, ctx=client_ssl(pki))[1]
    assert released["spec"]["holderIdentity"] == ""


def test_controller_manager_approves_and_signs_bootstrap_csr(
    procs: Procs, pki: DoublesPki, apiserver: ApiServer
) -> None:
    port = free_port()
    conf = kubeconfig_for(pki, apiserver, "ccm")
    proc = procs.start("kube-controller-manager", controller_manager_args(pki, conf, port))
    assert wait_http_ok(f"https://127.0.0.1:{port}/healthz", insecure(), proc) == "ok"
    admin = client_ssl(pki)
    secrets = apiserver.url + "/api/v1/namespaces/kube-system/secrets"
    assert api(secrets, "POST", bootstrap_secret("abcdef", "0123456789abcdef"), admin)[0] == 201
    token = {"Authorization": "Bearer abcdef.0123456789abcdef"}
    csr = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": "node-csr-w1"},
        "spec": {
            "request": csr_pem("system:node:w1", ("system:nodes",)),
            "usages": ["digital signature", "client auth"],
            "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
        },
    }
    assert api(apiserver.url + CSRS, "POST", csr, client_ssl(pki, None), token)[0] == 201

    def signed() -> dict | None:
        status, body = api(f"{apiserver.url}{CSRS}/node-csr-w1", ctx=client_ssl(pki, None), headers=token)
        return body if status == 200 and body.get("status", {}).get("certificate") else None

    done = wait_until(signed, proc=proc)
    assert done["status"]["conditions"][0]["reason"] == "AutoApproved"
    cert = x509.load_pem_x509_certificate(base64.b64decode(done["status"]["certificate"]))
    assert cert.subject.rfc4514_string() == "CN=system:node:w1,O=system:nodes"
    assert cert.issuer == pki.ca.cert.subject
    cert.verify_directly_issued_by(pki.ca.cert)
    # A CSR for some other signer is neither approved nor signed.
    other = dict(csr, metadata={"name": "other"}, spec=dict(csr["spec"], signerName="example.com/custom"))
    assert api(apiserver.url + CSRS, "POST", other, admin)[0] == 201
    status, body = api(f"{apiserver.url}{CSRS}/other", ctx=admin)
    assert status == 200 and not body.get("status", {}).get("conditions")


def test_controller_manager_cleans_expired_tokens(
    procs: Procs, pki: DoublesPki, apiserver: ApiServer
) -> None:
    admin = client_ssl(pki)
    secrets = apiserver.url + "/api/v1/namespaces/kube-system/secrets"
    assert (
        api(secrets, "POST", bootstrap_secret("old000", "0123456789abcdef", expires_in=-5), admin)[0] == 201
    )
    assert (
        api(secrets, "POST", bootstrap_secret("new000", "0123456789abcdef", expires_in=3600), admin)[0] == 201
    )
    port = free_port()
    proc = procs.start(
        "kube-controller-manager", controller_manager_args(pki, kubeconfig_for(pki, apiserver, "ccm"), port)
    )
    wait_until(lambda: api(secrets + "/bootstrap-token-old000", ctx=admin)[0] == 404, proc=proc)
    assert api(secrets + "/bootstrap-token-new000", ctx=admin)[0] == 200
    assert "Deleted expired bootstrap token" in proc.output()
    assert proc.stop() == 0


def test_node_renewal_csr_needs_matching_node(procs: Procs, pki: DoublesPki, apiserver: ApiServer) -> None:
    node = make_leaf(pki.ca, "system:node:w2", ("system:nodes",))
    cert, key = node.write(pki.dir, "node-w2")
    ctx = ssl.create_default_context(cafile=pki.path("ca.crt"))
    ctx.load_cert_chain(str(cert), str(key))
    for name, cn in (("renew-own", "system:node:w2"), ("renew-foreign", "system:node:w3")):
        body = {
            "apiVersion": "certificates.k8s.io/v1",
            "kind": "CertificateSigningRequest",
            "metadata": {"name": name},
            "spec": {
                "request": csr_pem(cn, ("system:nodes",)),
                "usages": ["client auth"],
                "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
            },
        }
        assert api(apiserver.url + CSRS, "POST", body, ctx)[0] == 201
    proc = procs.start(
        "kube-controller-manager",
        controller_manager_args(pki, kubeconfig_for(pki, apiserver, "ccm"), free_port()),
    )
    admin = client_ssl(pki)
    wait_until(
        lambda: api(f"{apiserver.url}{CSRS}/renew-own", ctx=admin)[1].get("status", {}).get("certificate"),
        proc=proc,
    )
    assert not api(f"{apiserver.url}{CSRS}/renew-foreign", ctx=admin)[1].get("status", {}).get("conditions")


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        (
            "kube-scheduler",
            {"kubeconfig": None, "authentication-kubeconfig": None, "authorization-kubeconfig": None},
            "unable to load in-cluster configuration",
        ),
        (
            "kube-scheduler",
            {"kubeconfig": "/nonexistent/scheduler.conf"},
            "open /nonexistent/scheduler.conf: no such file or directory",
        ),
        ("kube-scheduler", {"bind-address": "localhost"}, 'failed to parse IP: "localhost"'),
        ("kube-scheduler", {"leader-elect": "maybe"}, 'strconv.ParseBool: parsing "maybe": invalid syntax'),
        (
            "kube-controller-manager",
            {"cluster-signing-key-file": "ADMINKEY"},
            "tls: private key does not match public key",
        ),
        ("kube-controller-manager", {"root-ca-file": "/nonexistent/ca.crt"}, "open /nonexistent/ca.crt"),
        ("kube-controller-manager", {"bogus": "1"}, "Error: unknown flag: --bogus"),
    ],
)
def test_startup_failures(procs: Procs, pki: DoublesPki, name: str, change: dict, expected: str) -> None:
    conf = pki.kubeconfig("unused.conf", "https://127.0.0.1:1", pki.admin)
    render = scheduler_args if name == "kube-scheduler" else controller_manager_args
    args = render(pki, conf, free_port())
    for key, value in change.items():
        args = [a for a in args if not a.startswith(f"--{key}=")]
        if value is not None:
            args.append(f"--{key}={pki.path('admin.key') if value == 'ADMINKEY' else value}")
    result = procs.run(name, args)
    assert result.returncode == 1
    assert expected in result.stderr
