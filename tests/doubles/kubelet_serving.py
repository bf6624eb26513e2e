"""serverTLSBootstrap: the kubelet asks for its serving certificate with a CSR (signer
kubernetes.io/kubelet-serving, CN system:node:<name>, O system:nodes, SANs = node addresses), which k0s'
own CSRApprover (not the controller-manager) approves; once signed it is stored as
`<cert-dir>/kubelet-server-current.pem` and, if the config/flags name a port, served on HTTPS /healthz.

Deviation: the real kubelet always serves its API on 10250; the double serves it only when `port` is set
explicitly, so that parallel tests never collide on a fixed port."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import ipaddress
import os
import ssl
import tempfile
import uuid
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .klog import Klog
from .kubeclient import KubeClient
from .runner import app_runner, start_site

CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
SIGNER = "kubernetes.io/kubelet-serving"


def serving_csr(node: str, addresses: list[str], key: ec.EllipticCurvePrivateKey) -> bytes:
    names: list[x509.GeneralName] = []
    for address in addresses:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(address)))
        except ValueError:
            names.append(x509.DNSName(address))
    subject = x509.Name(
        [
            x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "system:nodes"),
            x509.NameAttribute(x509.NameOID.COMMON_NAME, f"system:node:{node}"),
        ]
    )
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


async def request_serving_cert(
    client: KubeClient, node: str, addresses: list[str], cert_dir: str, log: Klog, stop: asyncio.Event
) -> Path | None:
    """Create the CSR, wait for the certificate, store it; None if stopped first."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = f"csr-{uuid.uuid4().hex[:5]}"
    body = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {
            "request": base64.b64encode(serving_csr(node, addresses, key)).decode(),
            "signerName": SIGNER,
            "usages": ["digital signature", "server auth"],
        },
    }
    while not stop.is_set():
        status, reply = await client.request("POST", CSRS, body)
        if status in (201, 409):
            break
        log.error("Failed to create serving certificate request, will retry", status=status, err=str(reply))
        await _sleep(stop, 1.0)
    log.info("Waiting for serving certificate", csr=name)
    while not stop.is_set():
        status, csr = await client.request("GET", f"{CSRS}/{name}")
        certificate = (csr.get("status") or {}).get("certificate") if status == 200 else None
        if certificate:
            return _store(Path(cert_dir), base64.b64decode(certificate), key)
        await _sleep(stop, 0.5)
    return None


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def _store(directory: Path, cert_pem: bytes, key: ec.EllipticCurvePrivateKey) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d-%H-%M-%S")
    pem = directory / f"kubelet-server-{stamp}.pem"
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    fd = os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(cert_pem + key_pem)
    current = directory / "kubelet-server-current.pem"
    current.unlink(missing_ok=True)
    current.symlink_to(pem)
    return current


async def serve_kubelet_api(pem: Path, client_ca: str | None, host: str, port: int) -> web.AppRunner:
    """HTTPS on the kubelet port with the issued certificate; client certs verified against clientCAFile."""

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    data = pem.read_bytes()
    with tempfile.TemporaryDirectory(prefix="kubelet-serving-") as tmp:
        combined = Path(tmp, "pair.pem")
        combined.write_bytes(data)
        ctx.load_cert_chain(str(combined))
    if client_ca:
        ctx.load_verify_locations(cafile=client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = await app_runner(app)
    await start_site(runner, host, port, ctx)
    return runner
