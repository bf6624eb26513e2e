"""The kubelet's TLS bootstrap, for when --kubeconfig does not exist yet and --bootstrap-kubeconfig is given:
new key, CSR (system:node:<name> / system:nodes, signer kube-apiserver-client-kubelet) made with the
bootstrap credentials, wait until it is approved and signed, store `<cert-dir>/kubelet-client-current.pem`
(certificate + key, as the real kubelet does) and write --kubeconfig pointing at it."""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import os
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .klog import Klog
from .kubeclient import KubeClient
from .tlsfiles import Kubeconfig, StartupError

CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"


def _private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _csr(node: str, key: ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name(
        [
            x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "system:nodes"),
            x509.NameAttribute(x509.NameOID.COMMON_NAME, f"system:node:{node}"),
        ]
    )
    request = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM)


async def _wait_signed(client: KubeClient, name: str, stop: asyncio.Event) -> bytes:
    while not stop.is_set():
        status, csr = await client.request("GET", f"{CSRS}/{name}")
        if status == 200:
            conditions = {c.get("type") for c in (csr.get("status") or {}).get("conditions") or []}
            if conditions & {"Denied", "Failed"}:
                raise StartupError(
                    f"certificate request was not signed: {sorted(conditions)}", "Failed to run kubelet"
                )
            certificate = (csr.get("status") or {}).get("certificate")
            if certificate:
                return base64.b64decode(certificate)
        await asyncio.sleep(0.5)
    raise asyncio.CancelledError


async def bootstrap(
    bootstrap: Kubeconfig, kubeconfig_path: str, cert_dir: str, node: str, log: Klog, stop: asyncio.Event
) -> None:
    directory = Path(cert_dir)
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    request = _csr(node, key)
    name = "node-csr-" + base64.urlsafe_b64encode(hashlib.sha256(request).digest()).decode().rstrip("=")[:43]
    body = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {
            "request": base64.b64encode(request).decode(),
            "usages": ["digital signature", "client auth"],
            "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
        },
    }
    client = KubeClient(bootstrap, "kubelet/v1.35.0 (linux/amd64) k0spy-double bootstrap")
    try:
        status, reply = await client.request("POST", CSRS, body)
        if status not in (201, 409):
            raise StartupError(
                f"failed to create certificate signing request: HTTP {status}: {reply}",
                "Failed to run kubelet",
            )
        log.info("Waiting for client certificate", csr=name)
        cert_pem = await _wait_signed(client, name, stop)
    finally:
        await client.close()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d-%H-%M-%S")
    pem = directory / f"kubelet-client-{stamp}.pem"
    _private(pem, cert_pem + key_pem)
    current = directory / "kubelet-client-current.pem"
    current.unlink(missing_ok=True)
    current.symlink_to(pem)
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "default-context",
        "clusters": [
            {
                "name": "default-cluster",
                "cluster": {
                    "server": bootstrap.server,
                    "certificate-authority-data": base64.b64encode(bootstrap.ca_pem or b"").decode(),
                },
            }
        ],
        "contexts": [
            {
                "name": "default-context",
                "context": {"cluster": "default-cluster", "user": "default-auth", "namespace": "default"},
            }
        ],
        "users": [
            {"name": "default-auth", "user": {"client-certificate": str(current), "client-key": str(current)}}
        ],
    }
    _private(Path(kubeconfig_path), yaml.safe_dump(doc).encode())
    log.info("Client certificate obtained, kubeconfig written", kubeconfig=kubeconfig_path)
