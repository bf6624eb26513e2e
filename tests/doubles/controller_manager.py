"""kube-controller-manager double: health on --secure-port (10257), Lease leader election, and the
controllers the k0s join flow depends on, polled every half second while leading:

- csrapproving: approves `kubernetes.io/kube-apiserver-client-kubelet` CSRs whose subject is
  system:node:<name> / O=system:nodes, requested by a member of system:bootstrappers (nodeclient) or by
  that same node (selfnodeclient) - the decisions the bindings k0s installs lead the real approver to;
- csrsigning: signs approved CSRs of the kubelet client/serving and kube-apiserver-client signers with
  --cluster-signing-cert-file/--cluster-signing-key-file, for --cluster-signing-duration (or the CSR's
  expirationSeconds, if shorter);
- tokencleaner (only when named in --controllers, as in the real one): deletes expired bootstrap tokens;
- nodelifecycle: marks a node's conditions Unknown once its kubelet has not posted status for
  --node-monitor-grace-period (50s).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID

from .controlplane import ControlPlane, prepare_common, run_elected, serve_health
from .flagparse import ParsedArgs
from .klog import Klog
from .kubeclient import KubeClient
from .runner import KUBE_VERSION, Component
from .runner import main as run_main
from .tlsfiles import StartupError, load_ca_bundle, load_key, load_pair, read_file

CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
KUBELET_CLIENT = "kubernetes.io/kube-apiserver-client-kubelet"
SIGNERS = {KUBELET_CLIENT, "kubernetes.io/kubelet-serving", "kubernetes.io/kube-apiserver-client"}
DEFAULT_OFF = {"bootstrapsigner", "tokencleaner"}


@dataclass
class Prepared:
    cp: ControlPlane
    signer: tuple[x509.Certificate, PrivateKeyTypes] | None
    duration: float
    controllers: set[str]
    node_grace: float = 50.0


def enabled(controllers: list[str], name: str) -> bool:
    """--controllers semantics: '*' = defaults on, 'foo' on, '-foo' off."""
    if f"-{name}" in controllers:
        return False
    return name in controllers or ("*" in controllers and name not in DEFAULT_OFF)


def prepare(args: ParsedArgs, log: Klog) -> Prepared:
    cp = prepare_common(args, log, "kube-controller-manager", 10257)
    for flag in ("root-ca-file",):
        if args.get(flag):
            load_ca_bundle(args.get(flag))
    if args.get("service-account-private-key-file"):
        load_key(args.get("service-account-private-key-file"))
    signer = None
    cert_file, key_file = args.get("cluster-signing-cert-file"), args.get("cluster-signing-key-file")
    if cert_file or key_file:
        if not (cert_file and key_file):
            raise StartupError(
                "cannot specify --cluster-signing-cert-file without --cluster-signing-key-file"
            )
        signer = load_pair(cert_file, key_file)
    for kind in ("kubelet-client", "kubelet-serving", "kube-apiserver-client", "legacy-unknown"):
        flag = f"cluster-signing-{kind}"
        specific = (args.get(f"{flag}-cert-file"), args.get(f"{flag}-key-file"))
        if any(specific):
            if cert_file or key_file:
                raise StartupError(
                    f"you cannot specify --cluster-signing-{kind}-cert-file when "
                    "--cluster-signing-cert-file is set"
                )
            load_pair(*specific)
    for flag in ("cloud-config", "leader-migration-config"):
        if args.get(flag):
            read_file(args.get(flag))
    controllers = args.list("controllers") or ["*"]
    names = {
        n
        for n in ("csrapproving", "csrsigning", "tokencleaner", "bootstrapsigner", "nodelifecycle")
        if enabled(controllers, n)
    }
    log.info("Version info", version=KUBE_VERSION)
    if signer is None and "csrsigning" in names:
        log.info("Skipping CSR signer controller because no csr cert/key was specified")
        names.discard("csrsigning")
    return Prepared(
        cp,
        signer,
        args.duration("cluster-signing-duration", 8760 * 3600.0),
        names,
        args.duration("node-monitor-grace-period", 50.0),
    )


def _condition(csr: dict[str, Any], kind: str) -> bool:
    return any(c.get("type") == kind for c in (csr.get("status") or {}).get("conditions") or [])


def _parse_request(csr: dict[str, Any]) -> x509.CertificateSigningRequest:
    return x509.load_pem_x509_csr(base64.b64decode(csr["spec"]["request"]))


def should_approve(csr: dict[str, Any]) -> bool:
    spec = csr.get("spec") or {}
    if spec.get("signerName") != KUBELET_CLIENT or _condition(csr, "Approved") or _condition(csr, "Denied"):
        return False
    try:
        request = _parse_request(csr)
    except ValueError:
        return False
    cns = request.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    orgs = [str(o.value) for o in request.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)]
    cn = str(cns[0].value) if cns else ""
    if not cn.startswith("system:node:") or orgs != ["system:nodes"]:
        return False
    if not set(spec.get("usages") or []) <= {"digital signature", "key encipherment", "client auth"}:
        return False
    groups = spec.get("groups") or []
    return "system:bootstrappers" in groups or ("system:nodes" in groups and spec.get("username") == cn)


def sign(csr: dict[str, Any], signer: tuple[x509.Certificate, PrivateKeyTypes], duration: float) -> bytes:
    ca_cert, ca_key = signer
    request = _parse_request(csr)
    spec = csr["spec"]
    if spec.get("expirationSeconds"):
        duration = min(duration, float(spec["expirationSeconds"]))
    now = datetime.datetime.now(datetime.UTC)
    usages = set(spec.get("usages") or [])
    eku = [
        oid
        for name, oid in (
            ("client auth", ExtendedKeyUsageOID.CLIENT_AUTH),
            ("server auth", ExtendedKeyUsageOID.SERVER_AUTH),
        )
        if name in usages
    ]
    builder = (
        x509.CertificateBuilder()
        .subject_name(request.subject)
        .issuer_name(ca_cert.subject)
        .public_key(request.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + datetime.timedelta(seconds=duration), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                "digital signature" in usages,
                False,
                "key encipherment" in usages,
                False,
                False,
                False,
                False,
                False,
                False,
            ),
            critical=True,
        )
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    with contextlib.suppress(x509.ExtensionNotFound):
        sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        builder = builder.add_extension(sans.value, critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    return cert.public_bytes(serialization.Encoding.PEM)


async def _csr_pass(client: KubeClient, prep: Prepared, log: Klog) -> None:
    for csr in (await client.call("GET", CSRS)).get("items", []):
        name = csr["metadata"]["name"]
        if "csrapproving" in prep.controllers and should_approve(csr):
            now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            csr.setdefault("status", {}).setdefault("conditions", []).append(
                {
                    "type": "Approved",
                    "status": "True",
                    "reason": "AutoApproved",
                    "message": "Auto approving kubelet client certificate after SubjectAccessReview.",
                    "lastUpdateTime": now,
                    "lastTransitionTime": now,
                }
            )
            csr = await client.call("PUT", f"{CSRS}/{name}/approval", csr)
            log.info("Approved CSR", csr=name)
        status = csr.get("status") or {}
        if (
            "csrsigning" in prep.controllers
            and prep.signer is not None
            and _condition(csr, "Approved")
            and not _condition(csr, "Denied")
            and not _condition(csr, "Failed")
            and not status.get("certificate")
            and csr["spec"].get("signerName") in SIGNERS
        ):
            status["certificate"] = base64.b64encode(sign(csr, prep.signer, prep.duration)).decode()
            csr["status"] = status
            await client.call("PUT", f"{CSRS}/{name}/status", csr)
            log.info("Signed CSR", csr=name, signer=csr["spec"]["signerName"])


async def _token_pass(client: KubeClient, log: Klog) -> None:
    secrets = await client.call("GET", "/api/v1/namespaces/kube-system/secrets")
    now = datetime.datetime.now(datetime.UTC)
    for secret in secrets.get("items", []):
        if secret.get("type") != "bootstrap.kubernetes.io/token":
            continue
        raw = (secret.get("data") or {}).get("expiration")
        if not raw:
            continue
        try:
            expiry = datetime.datetime.fromisoformat(base64.b64decode(raw).decode().replace("Z", "+00:00"))
        except ValueError:
            continue
        if expiry <= now:
            name = secret["metadata"]["name"]
            status, _ = await client.request("DELETE", f"/api/v1/namespaces/kube-system/secrets/{name}")
            if status in (200, 404):
                log.info("Deleted expired bootstrap token", secret=f"kube-system/{name}")


async def _node_pass(client: KubeClient, grace: float, log: Klog) -> None:
    """nodelifecycle: a node whose kubelet stopped posting status for the grace period becomes Unknown."""
    now = datetime.datetime.now(datetime.UTC)
    for node in (await client.call("GET", "/api/v1/nodes")).get("items", []):
        conditions = (node.get("status") or {}).get("conditions") or []
        ready = next((c for c in conditions if c.get("type") == "Ready"), None)
        if ready is None or ready.get("status") == "Unknown" or not ready.get("lastHeartbeatTime"):
            continue
        beat = datetime.datetime.fromisoformat(ready["lastHeartbeatTime"].replace("Z", "+00:00"))
        if (now - beat).total_seconds() <= grace:
            continue
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        for condition in conditions:
            condition.update(
                {
                    "status": "Unknown",
                    "reason": "NodeStatusUnknown",
                    "lastTransitionTime": stamp,
                    "message": "Kubelet stopped posting node status.",
                }
            )
        name = node["metadata"]["name"]
        status, _ = await client.request("PUT", f"/api/v1/nodes/{name}/status", node)
        if status == 200:
            log.info("Node is unresponsive, marking its conditions Unknown", node=name)


async def _controllers(client: KubeClient, prep: Prepared, log: Klog, stop: asyncio.Event) -> None:
    log.info("Starting controllers", controllers=sorted(prep.controllers))
    while not stop.is_set():
        try:
            if prep.controllers & {"csrapproving", "csrsigning"}:
                await _csr_pass(client, prep, log)
            if "tokencleaner" in prep.controllers:
                await _token_pass(client, log)
            if "nodelifecycle" in prep.controllers:
                await _node_pass(client, prep.node_grace, log)
        except Exception as err:  # keep going like an informer-driven controller would
            log.error("Controller pass failed", err=str(err))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


async def serve(prep: Prepared, stop: asyncio.Event, log: Klog) -> None:
    runner = await serve_health(prep.cp, log)
    client = KubeClient(
        prep.cp.kubeconfig, f"kube-controller-manager/{KUBE_VERSION} (linux/amd64) k0spy-double"
    )
    try:

        async def work(stopping: asyncio.Event) -> None:
            await _controllers(client, prep, log, stopping)

        await run_elected(client, prep.cp, log, stop, work)
    finally:
        await client.close()
        await runner.cleanup()


COMPONENT = Component("kube-controller-manager", "controllermanager", prepare, serve)


def main(argv: list[str] | None = None) -> int:
    return run_main(COMPONENT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
