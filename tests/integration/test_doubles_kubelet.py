"""The kubelet double with real containerd 1.6, the apiserver double and real etcd; and the whole worker
join: bootstrap token -> CSR -> controller-manager double approves and signs -> kubelet registers."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.doubles import (
    CSRS,
    ApiServer,
    Containerd,
    Procs,
    api,
    apiserver,
    bootstrap_secret,
    client_ssl,
    controller_manager_args,
    doubles_bin,
    etcd,
    kubectl,
    pki,
    procs,
    start_containerd,
    stop_process,
    wait_http_ok,
    wait_until,
)
from tests.support.doubles_pki import DoublesPki, Pair, kubeconfig_text, make_leaf
from tests.support.net import free_port

__all__ = ["apiserver", "doubles_bin", "etcd", "pki", "procs"]


@pytest.fixture(scope="module")
def containerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Containerd]:
    runtime = start_containerd(tmp_path_factory.mktemp("containerd"))
    try:
        yield runtime
    finally:
        stop_process(runtime.proc)


def kubelet_config(path: Path, endpoint: str, healthz_port: int, **extra: object) -> str:
    doc = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "clusterDNS": ["10.96.0.10"],
        "clusterDomain": "cluster.local",
        "failSwapOn": False,
        "containerRuntimeEndpoint": endpoint,
        "healthzPort": healthz_port,
        "healthzBindAddress": "127.0.0.1",
        "nodeStatusUpdateFrequency": "1s",
        "tlsMinVersion": "VersionTLS12",
        "rotateCertificates": True,
        "serverTLSBootstrap": True,
        "eventRecordQPS": 0,
        "kubeReservedCgroup": "system.slice",
        "kubeletCgroups": "/system.slice/containerd.service",
        "runtimeRequestTimeout": "1s",
        "authentication": {"x509": {"clientCAFile": str(path.parent / "ca.crt")}},
    }
    doc.update(extra)
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def kubelet_args(tmp: Path, config: str, kubeconfig: str, sock: Path, node: str) -> list[str]:
    """k0s 5.8's argv with test paths."""
    return [
        f"--cert-dir={tmp}/kubelet/pki",
        f"--config={config}",
        f"--containerd={sock}",
        f"--hostname-override={node}",
        f"--kubeconfig={kubeconfig}",
        "--node-labels=role=worker,zone=a",
        f"--root-dir={tmp}/kubelet",
        "--runtime-cgroups=/system.slice/containerd.service",
        "--v=1",
    ]


def node_kubeconfig(pki: DoublesPki, server: ApiServer, node: str) -> str:
    return pki.kubeconfig(
        f"kubelet-{node}.conf", server.url, make_leaf(pki.ca, f"system:node:{node}", ("system:nodes",))
    )


def setup_files(tmp_path: Path, pki: DoublesPki, containerd: Containerd, **extra: object) -> tuple[str, int]:
    (tmp_path / "ca.crt").write_bytes(Path(pki.path("ca.crt")).read_bytes())
    port = free_port()
    return kubelet_config(tmp_path / "config.yaml", f"unix://{containerd.socket}", port, **extra), port


def ready_condition(server: ApiServer, pki: DoublesPki, node: str) -> dict | None:
    status, body = api(f"{server.url}/api/v1/nodes/{node}", ctx=client_ssl(pki))
    if status != 200:
        return None
    return next((c for c in body["status"]["conditions"] if c["type"] == "Ready"), None)


def test_kubelet_registers_and_heartbeats(
    procs: Procs, pki: DoublesPki, apiserver: ApiServer, containerd: Containerd, tmp_path: Path
) -> None:
    config, port = setup_files(tmp_path, pki, containerd)
    args = kubelet_args(tmp_path, config, node_kubeconfig(pki, apiserver, "w1"), containerd.socket, "w1")
    proc = procs.start("kubelet", args)
    assert wait_http_ok(f"http://127.0.0.1:{port}/healthz", None, proc) == "ok"
    first = wait_until(lambda: ready_condition(apiserver, pki, "w1"), proc=proc)
    assert first["status"] == "True" and first["reason"] == "KubeletReady"
    node = api(f"{apiserver.url}/api/v1/nodes/w1", ctx=client_ssl(pki))[1]
    assert node["metadata"]["labels"]["role"] == "worker"
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://1.6")
    # the kubelet posts its Node status and its Lease separately: the Lease may land just after Ready
    lease = wait_until(lambda: (lambda doc: doc if "spec" in doc else None)(api(
        f"{apiserver.url}/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/w1",
        ctx=client_ssl(pki),
    )[1]), timeout=5, proc=proc)
    assert lease["spec"]["holderIdentity"] == "w1"
    wait_until(
        lambda: ready_condition(apiserver, pki, "w1")["lastHeartbeatTime"] != first["lastHeartbeatTime"],
        timeout=5,
        proc=proc,
    )
    assert "Container runtime initialized" in proc.output()
    assert proc.stop() == 0


def test_worker_join_with_bootstrap_token(
    procs: Procs, pki: DoublesPki, apiserver: ApiServer, containerd: Containerd, tmp_path: Path
) -> None:
    """What k0spy's worker does, with kubectl as the bootstrap client: CSR with the token, wait for the
    controller-manager double to sign it, then run the kubelet double with the signed certificate."""
    admin = client_ssl(pki)
    api(
        f"{apiserver.url}/api/v1/namespaces/kube-system/secrets",
        "POST",
        bootstrap_secret("join01", "0123456789abcdef"),
        admin,
    )
    procs.start(
        "kube-controller-manager",
        controller_manager_args(
            pki, pki.kubeconfig("ccm-join.conf", apiserver.url, _pair(pki, "ccm")), free_port()
        ),
    )
    bootstrap_conf = pki.kubeconfig("bootstrap.conf", apiserver.url, token="join01.0123456789abcdef")
    key = ec.generate_private_key(ec.SECP256R1())
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "system:nodes"),
                    x509.NameAttribute(x509.NameOID.COMMON_NAME, "system:node:joined"),
                ]
            )
        )
        .sign(key, hashes.SHA256())
    )
    csr = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": "node-csr-joined"},
        "spec": {
            "request": base64.b64encode(request.public_bytes(serialization.Encoding.PEM)).decode(),
            "usages": ["digital signature", "client auth"],
            "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
        },
    }
    home = tmp_path / "home"
    created = kubectl(["create", "-f", "-"], bootstrap_conf, home, json.dumps(csr))
    assert created.returncode == 0, created.stderr

    def certificate() -> str | None:
        got = kubectl(
            ["get", "csr", "node-csr-joined", "-o", "jsonpath={.status.certificate}"], bootstrap_conf, home
        )
        return got.stdout or None

    cert_pem = base64.b64decode(wait_until(certificate, timeout=15))
    signed = Pair(x509.load_pem_x509_certificate(cert_pem), key)
    kubelet_conf = tmp_path / "kubelet.conf"
    kubelet_conf.write_text(kubeconfig_text(apiserver.url, pki.ca, signed))
    config, _port = setup_files(tmp_path, pki, containerd)
    proc = procs.start(
        "kubelet", kubelet_args(tmp_path, config, str(kubelet_conf), containerd.socket, "joined")
    )
    wait_until(lambda: ready_condition(apiserver, pki, "joined"), proc=proc)
    nodes = kubectl(["get", "nodes", "-o", "name"], apiserver.admin_conf, home)
    assert "node/joined" in nodes.stdout


def _pair(pki: DoublesPki, name: str) -> Pair:
    cert = x509.load_pem_x509_certificate(Path(pki.path(f"{name}.crt")).read_bytes())
    key = serialization.load_pem_private_key(Path(pki.path(f"{name}.key")).read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return Pair(cert, key)


def test_kubelet_cannot_touch_other_nodes(procs: Procs, pki: DoublesPki, apiserver: ApiServer) -> None:
    node = make_leaf(pki.ca, "system:node:w5", ("system:nodes",))
    cert, key = node.write(pki.dir, "w5")
    import ssl

    ctx = ssl.create_default_context(cafile=pki.path("ca.crt"))
    ctx.load_cert_chain(str(cert), str(key))
    assert api(f"{apiserver.url}/api/v1/nodes", "POST", {"metadata": {"name": "w5"}}, ctx)[0] == 201
    status, body = api(f"{apiserver.url}/api/v1/nodes/someone-else", "DELETE", None, ctx)
    assert status == 403 and "system:node:w5" in body["message"]


def test_unknown_config_field_is_rejected(
    procs: Procs, pki: DoublesPki, apiserver: ApiServer, containerd: Containerd, tmp_path: Path
) -> None:
    config, _ = setup_files(tmp_path, pki, containerd, clusterDomian="typo.local")
    result = procs.run(
        "kubelet",
        kubelet_args(tmp_path, config, node_kubeconfig(pki, apiserver, "w2"), containerd.socket, "w2"),
    )
    assert result.returncode == 1
    stderr = result.stderr.replace('\\"', '"')  # klog quotes the error value
    assert 'strict decoding error: unknown field "clusterDomian"' in stderr
    assert f"failed to load kubelet config file, path: {config}" in stderr


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        ("kind", 'no kind "KubeProxyConfiguration" is registered'),
        ("kubeconfig", "invalid kubeconfig: open /nonexistent/kubelet.conf: no such file or directory"),
        ("cri", "validate CRI v1 runtime API for endpoint"),
        ("flag", '"Failed to parse kubelet flag" err="unknown flag: --pod-infra-container-image"'),
        ("clientca", "open /nonexistent/ca.crt: no such file or directory"),
    ],
)
def test_kubelet_startup_failures(
    procs: Procs,
    pki: DoublesPki,
    apiserver: ApiServer,
    containerd: Containerd,
    tmp_path: Path,
    problem: str,
    expected: str,
) -> None:
    extra: dict[str, object] = {}
    if problem == "kind":
        extra["kind"] = "KubeProxyConfiguration"
    if problem == "cri":
        extra["containerRuntimeEndpoint"] = f"unix://{tmp_path}/no-such.sock"
    if problem == "clientca":
        extra["authentication"] = {"x509": {"clientCAFile": "/nonexistent/ca.crt"}}
    config, _port = setup_files(tmp_path, pki, containerd, **extra)
    kubeconfig = (
        "/nonexistent/kubelet.conf" if problem == "kubeconfig" else node_kubeconfig(pki, apiserver, "w3")
    )
    args = kubelet_args(tmp_path, config, kubeconfig, containerd.socket, "w3")
    if problem == "flag":
        args.append("--pod-infra-container-image=pause:3")
    started = time.monotonic()
    result = procs.run("kubelet", args)
    assert result.returncode == 1
    assert expected in result.stderr.replace('\\"', '"')
    assert time.monotonic() - started < 5


def test_kubelet_tls_bootstrap(
    procs: Procs, pki: DoublesPki, apiserver: ApiServer, containerd: Containerd, tmp_path: Path
) -> None:
    """--kubeconfig absent + --bootstrap-kubeconfig: the kubelet double gets its own client certificate."""
    admin = client_ssl(pki)
    api(
        f"{apiserver.url}/api/v1/namespaces/kube-system/secrets",
        "POST",
        bootstrap_secret("boot01", "0123456789abcdef"),
        admin,
    )
    procs.start(
        "kube-controller-manager",
        controller_manager_args(
            pki, pki.kubeconfig("ccm-boot.conf", apiserver.url, _pair(pki, "ccm")), free_port()
        ),
    )
    bootstrap_conf = pki.kubeconfig("boot.conf", apiserver.url, token="boot01.0123456789abcdef")
    config, port = setup_files(tmp_path, pki, containerd)
    kubeconfig = tmp_path / "kubelet.conf"
    args = kubelet_args(tmp_path, config, str(kubeconfig), containerd.socket, "booted")
    proc = procs.start("kubelet", [*args, f"--bootstrap-kubeconfig={bootstrap_conf}"])
    wait_http_ok(f"http://127.0.0.1:{port}/healthz", None, proc)
    assert kubeconfig.exists() and (tmp_path / "kubelet" / "pki" / "kubelet-client-current.pem").exists()
    wait_until(lambda: ready_condition(apiserver, pki, "booted"), proc=proc)
    table = kubectl(["get", "nodes", "booted"], apiserver.admin_conf, tmp_path / "home")
    assert table.stdout.splitlines()[0].split()[:2] == ["NAME", "STATUS"]
    assert table.stdout.splitlines()[1].split()[:2] == ["booted", "Ready"]


def test_serving_certificate_and_node_lifecycle(
    procs: Procs, pki: DoublesPki, apiserver: ApiServer, containerd: Containerd, tmp_path: Path
) -> None:
    """serverTLSBootstrap: the kubelet's serving CSR, approved as k0s' CSRApprover would, signed by the
    controller-manager double, then served; SIGKILLing the kubelet makes the node Unknown."""
    admin = client_ssl(pki)
    api_port = free_port()
    config, _ = setup_files(tmp_path, pki, containerd, port=api_port, address="127.0.0.1")
    kubeconfig = node_kubeconfig(pki, apiserver, "srv1")
    args = kubelet_args(tmp_path, config, kubeconfig, containerd.socket, "srv1")
    # --node-ip becomes the serving certificate's IP SAN, which the client below checks.
    proc = procs.start("kubelet", [*args, "--node-ip=127.0.0.1"])

    def pending() -> dict | None:
        items = api(apiserver.url + CSRS, ctx=admin)[1]["items"]
        return next(
            (
                c
                for c in items
                if c["spec"]["signerName"] == "kubernetes.io/kubelet-serving"
                and c["spec"]["username"] == "system:node:srv1"
            ),
            None,
        )

    csr = wait_until(pending, proc=proc)
    csr["status"] = {
        "conditions": [
            {
                "type": "Approved",
                "status": "True",
                "reason": "Autoapproved by K0s CSRApprover",
                "message": "approved",
            }
        ]
    }
    name = csr["metadata"]["name"]
    assert api(f"{apiserver.url}{CSRS}/{name}/approval", "PUT", csr, admin)[0] == 200
    kcm = procs.start(
        "kube-controller-manager",
        controller_manager_args(
            pki,
            pki.kubeconfig("ccm-srv.conf", apiserver.url, _pair(pki, "ccm")),
            free_port(),
            **{"node-monitor-grace-period": "2s"},
        ),
    )
    served = wait_http_ok(f"https://127.0.0.1:{api_port}/healthz", client_ssl(pki), proc)
    assert served == "ok"
    wait_until(lambda: ready_condition(apiserver, pki, "srv1"), proc=proc)
    proc.kill()
    unknown = wait_until(
        lambda: (lambda c: c if c and c["status"] == "Unknown" else None)(
            ready_condition(apiserver, pki, "srv1")
        ),
        proc=kcm,
    )
    assert unknown["reason"] == "NodeStatusUnknown"
