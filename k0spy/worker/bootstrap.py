"""The kubelet's client certificate, obtained by k0spy as k0s does it (§7 step 3), before kubelet starts.

    DATA/kubelet.conf exists            -> done (a token given again is ignored: safe in a unit file)
    DATA/kubelet-bootstrap.conf exists  -> bootstrap with its credentials
    a join token (kubelet-bootstrap)    -> bootstrap with its bearer token (kept in memory only)
    the embedded worker                 -> bootstrap with admin.conf, and approve its own request
    nothing                             -> error

Bootstrapping: a new ECDSA P-256 key; a CSR for CN `system:node:<node>`, O `system:nodes`, signer
`kubernetes.io/kube-apiserver-client-kubelet`, created with the bootstrap credentials; wait (polling with
a growing interval, bounded) until kube-controller-manager approves and signs it; then write
`kubelet/pki/kubelet-client-current.pem` (certificate + key, 0600) and `DATA/kubelet.conf` (0600)
pointing at it. Unreachable API servers are retried (10 attempts from 1 s, as the upstream routine);
a 401 is final: the token is wrong or expired, and retrying cannot fix that.

Why k0spy does this rather than kubelet's own `--bootstrap-kubeconfig`: k0s does it too, so that the token
never has to be written into a kubeconfig file that outlives the bootstrap, and so that the worker profile
can be fetched with the node's own credentials before kubelet starts.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from k0spy.errors import K0spyError
from k0spy.fsutil import DATA_DIR_MODE, OWNER_ONLY_MODE, atomic_write, ensure_dir
from k0spy.kube.csr import with_approval
from k0spy.log import get_logger
from k0spy.paths import Paths

CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
CLIENT_PEM = "kubelet-client-current.pem"
RETRY_ATTEMPTS = 10
RETRY_FIRST_DELAY = 1.0
RETRY_MAX_DELAY = 10.0
ISSUE_TIMEOUT = 120.0
POLL_FIRST = 0.2
POLL_MAX = 2.0
TOKEN_HINT = 'create a new one with "k0spy token create --role worker" on a controller'
T = TypeVar("T")


class TokenRejected(K0spyError):
    """The API server answered 401 to the bootstrap credentials."""


@dataclass(frozen=True)
class BootstrapSource:
    """Where the bootstrap credentials came from, and the credentials (never logged)."""

    kind: str  # "kubelet-bootstrap.conf", "join token" or "admin.conf"
    creds: Any  # k0spy.kube.client.Credentials
    approve: bool = False  # admin credentials: approve our own request, as the approver would


def log() -> Any:
    return get_logger(component="kubelet-bootstrap")


# --- pure ------------------------------------------------------------------------------------------------
def csr_name(request_pem: bytes) -> str:
    """A stable name derived from the request, as kubelet's `node-csr-<digest>`."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(request_pem).digest()).decode().rstrip("=")
    return "node-csr-" + digest[:43]


def csr_object(name: str, request_pem: bytes) -> dict[str, Any]:
    return {
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {"request": base64.b64encode(request_pem).decode(), "signerName": SIGNER,
                 "usages": ["digital signature", "client auth"]},
    }


def issued_certificate(csr: dict[str, Any]) -> bytes | None:
    """The signed certificate of a CSR, None while pending; raises if it was denied or failed."""
    status = csr.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") in ("Denied", "Failed") and condition.get("status", "True") == "True":
            reason = condition.get("reason") or condition.get("type")
            raise K0spyError(f"certificate request {csr.get('metadata', {}).get('name')} was "
                             f"{str(condition['type']).lower()}: {reason}: {condition.get('message', '')}",
                             hint="look at kube-controller-manager's log on the controller")
    cert = status.get("certificate")
    return base64.b64decode(cert) if cert else None


def approval(csr: dict[str, Any]) -> dict[str, Any]:
    """The CSR with an Approved condition added (for the `/approval` subresource)."""
    return with_approval(csr, reason="AutoApproved",
                         message="approved by k0spy for its embedded worker (admin credentials)",
                         now=dt.datetime.now(dt.UTC))


def kubelet_kubeconfig(server: str, ca_pem: bytes | None, client_pem: Path) -> str:
    """The kubeconfig kubelet writes after a bootstrap: the pair referenced by file, so rotation works."""
    import yaml

    cluster: dict[str, Any] = {"server": server}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    doc = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "default-cluster", "cluster": cluster}],
        "contexts": [{"name": "default-context", "context": {
            "cluster": "default-cluster", "namespace": "default", "user": "default-auth"}}],
        "current-context": "default-context",
        "preferences": {},
        "users": [{"name": "default-auth", "user": {
            "client-certificate": str(client_pem), "client-key": str(client_pem)}}],
    }
    return str(yaml.safe_dump(doc, sort_keys=False))


def with_server(kubeconfig_text: str, server: str) -> str:
    """The same kubeconfig pointing every cluster at `server` (kubelet-direct.conf)."""
    import yaml

    doc = yaml.safe_load(kubeconfig_text)
    for cluster in doc.get("clusters") or []:
        cluster.setdefault("cluster", {})["server"] = server
    return str(yaml.safe_dump(doc, sort_keys=False))


def retry_delay(attempt: int) -> float:
    return float(min(RETRY_FIRST_DELAY * 2 ** attempt, RETRY_MAX_DELAY))


# --- mechanism -----------------------------------------------------------------------------------------
def new_key_and_request(node: str) -> tuple[bytes, bytes]:
    """(key PEM, CSR PEM) for `system:node:<node>` in `system:nodes`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "system:nodes"),
                         x509.NameAttribute(x509.NameOID.COMMON_NAME, f"system:node:{node}")])
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    return key_pem, request.public_bytes(serialization.Encoding.PEM)


def source_from_token(token_text: str) -> BootstrapSource:
    """Decode a join token (type kubelet-bootstrap) into bearer-token credentials, in memory."""
    from k0spy.joinapi.token import ROLE_WORKER, load_join_token
    from k0spy.kube.client import Credentials

    token = load_join_token(token_text, ROLE_WORKER)
    return BootstrapSource("join token", Credentials(server=token.server.rstrip("/"), ca_pem=token.ca_pem,
                                                     token=token.token))


def resolve_source(paths: Paths, token_text: Callable[[], str | None], *,
                   admin: bool = False) -> BootstrapSource | None:
    """None when kubelet.conf exists; else the first usable source in k0s's order (§7 step 3)."""
    if paths.kubelet_kubeconfig.exists():
        return None
    from k0spy.kube.client import credentials_from_kubeconfig

    if admin:
        admin_creds = credentials_from_kubeconfig(paths.admin_kubeconfig)
        return BootstrapSource("admin.conf", admin_creds, approve=True)
    if paths.kubelet_bootstrap_kubeconfig.exists():
        return BootstrapSource("kubelet-bootstrap.conf",
                               credentials_from_kubeconfig(paths.kubelet_bootstrap_kubeconfig))
    text = token_text()
    if text:
        return source_from_token(text)
    raise K0spyError(
        f"no join token given and neither {paths.kubelet_kubeconfig} nor {paths.kubelet_bootstrap_kubeconfig}"
        " exists", hint='pass a token: "k0spy worker <token>", --token-file or K0S_TOKEN')


async def with_retries(what: str, call: Callable[[], Awaitable[T]]) -> T:
    """Retry connection failures and server errors; 401/403/4xx are final."""
    from k0spy.kube.client import KubeApiError

    for attempt in range(RETRY_ATTEMPTS):
        try:
            return await call()
        except KubeApiError as err:
            if 0 < err.status < 500 or attempt == RETRY_ATTEMPTS - 1:
                raise
            log().warning("bootstrap.retry", step=what, attempt=attempt + 1, error=err.message)
        await asyncio.sleep(retry_delay(attempt))
    raise AssertionError("unreachable")


def _rejected(err: Any, source: BootstrapSource) -> K0spyError:
    if source.kind == "join token":
        return TokenRejected(f"the API server {source.creds.server} rejected the join token (HTTP 401): "
                             "token invalid or expired: create a new one", hint=TOKEN_HINT)
    return TokenRejected(f"the API server {source.creds.server} rejected the credentials of {source.kind} "
                         "(HTTP 401)", hint=f"replace {source.kind} or pass a new join token")


async def request_certificate(source: BootstrapSource, node: str, request_pem: bytes,
                              timeout: float = ISSUE_TIMEOUT) -> bytes:
    """Create the CSR (or find it), approve it when allowed to, and wait for the certificate."""
    from k0spy.kube.client import KubeApiError, KubeClient

    name = csr_name(request_pem)
    async with KubeClient(source.creds) as kube:
        async def create() -> dict[str, Any]:
            status, data = await kube.request("POST", CSRS, body=csr_object(name, request_pem),
                                              what="creating the kubelet client CSR")
            if status == 401:
                raise _rejected(data, source)
            if status == 409:
                return await kube.get(f"{CSRS}/{name}") or {}
            if status not in (200, 201) or not isinstance(data, dict):
                message = data.get("message") if isinstance(data, dict) else f"HTTP {status}"
                raise KubeApiError(f"creating certificate request {name}: {message}", status=status)
            return data

        csr = await with_retries("create-csr", create)
        log().info("bootstrap.csr_created", csr=name, node=node, credentials=source.kind)
        if source.approve:
            await kube.request("PUT", f"{CSRS}/{name}/approval", body=approval(csr), what="approving the CSR")
        return await _wait_issued(kube, name, timeout)


async def _wait_issued(kube: Any, name: str, timeout: float) -> bytes:
    from k0spy.kube.client import KubeApiError

    deadline = time.monotonic() + timeout
    delay = POLL_FIRST
    while True:
        try:
            csr = await kube.get(f"{CSRS}/{name}", what=f"reading certificate request {name}")
            cert = issued_certificate(csr) if csr else None
            if cert:
                return cert
        except KubeApiError as err:
            if 0 < err.status < 500 and err.status != 429:
                raise
        if time.monotonic() >= deadline:
            raise K0spyError(f"certificate request {name} was not signed within {timeout:g}s",
                             hint="is kube-controller-manager running with the csrapproving and csrsigning "
                                  "controllers on the controller?")
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, POLL_MAX)


def write_client_config(paths: Paths, server: str, ca_pem: bytes | None, cert_pem: bytes,
                        key_pem: bytes) -> Path:
    """kubelet/pki/kubelet-client-current.pem (cert + key) and DATA/kubelet.conf, both 0600."""
    ensure_dir(paths.kubelet_root_dir, DATA_DIR_MODE)
    ensure_dir(paths.kubelet_cert_dir, DATA_DIR_MODE)
    pem = paths.kubelet_cert_dir / CLIENT_PEM
    if pem.is_symlink():
        pem.unlink()
    atomic_write(pem, cert_pem + key_pem, OWNER_ONLY_MODE)
    atomic_write(paths.kubelet_kubeconfig, kubelet_kubeconfig(server, ca_pem, pem), OWNER_ONLY_MODE)
    return paths.kubelet_kubeconfig


async def bootstrap_kubelet(paths: Paths, node: str, token_text: Callable[[], str | None], *,
                            admin: bool = False, timeout: float = ISSUE_TIMEOUT) -> bool:
    """Ensure DATA/kubelet.conf exists; True if a certificate was requested this time."""
    source = resolve_source(paths, token_text, admin=admin)
    if source is None:
        log().info("bootstrap.skipped", reason="kubelet.conf exists", path=str(paths.kubelet_kubeconfig))
        return False
    key_pem, request_pem = await asyncio.to_thread(new_key_and_request, node)
    cert_pem = await request_certificate(source, node, request_pem, timeout)
    write_client_config(paths, source.creds.server, source.creds.ca_pem, cert_pem, key_pem)
    log().info("bootstrap.done", node=node, kubeconfig=str(paths.kubelet_kubeconfig))
    return True
