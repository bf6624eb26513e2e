"""What kube-scheduler and kube-controller-manager share: kubeconfig and file checks, secure serving of
/healthz, /livez, /readyz (anonymous, as --authorization-always-allow-paths defaults), and Lease-based
leader election (kube-system/<component>, released on SIGTERM as ReleaseOnCancel does)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import os
import socket
import tempfile
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from .flagparse import ParsedArgs
from .klog import Klog
from .kubeclient import ApiError, KubeClient
from .runner import app_runner, start_site
from .tlsfiles import (
    Kubeconfig,
    StartupError,
    check_cipher_suites,
    load_ca_bundle,
    load_kubeconfig,
    load_pair,
    load_sni_cert_keys,
    server_context,
)

LEASES = "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"


@dataclass
class ControlPlane:
    component: str
    kubeconfig: Kubeconfig
    host: str
    port: int
    cert_file: str
    key_file: str
    leader_elect: bool
    lease_name: str
    lease_namespace: str
    lease_duration: float
    renew_deadline: float
    retry_period: float
    min_version: str = "VersionTLS12"
    cipher_suites: tuple[str, ...] = ()


def prepare_common(
    args: ParsedArgs, log: Klog, component: str, default_port: int, config: dict[str, Any] | None = None
) -> ControlPlane:
    config = config or {}
    kubeconfig_path = args.get("kubeconfig") or (config.get("clientConnection") or {}).get("kubeconfig", "")
    if not kubeconfig_path:
        raise StartupError(
            "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and "
            "KUBERNETES_SERVICE_PORT must be defined",
            "Error running command",
        )
    kubeconfig = load_kubeconfig(kubeconfig_path)
    for flag in ("authentication-kubeconfig", "authorization-kubeconfig"):
        if args.get(flag):
            load_kubeconfig(args.get(flag))
    for flag in ("client-ca-file", "requestheader-client-ca-file"):
        if args.get(flag):
            load_ca_bundle(args.get(flag))
    load_sni_cert_keys(args.every("tls-sni-cert-key"))
    check_cipher_suites(args.list("tls-cipher-suites"))
    host = args.get("bind-address", "0.0.0.0")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise StartupError(
            f'invalid argument "{host}" for "--bind-address" flag: failed to parse IP: "{host}"'
        ) from None
    port = args.int("secure-port", default_port)
    if not 0 <= port <= 65535:
        raise StartupError(
            f"--secure-port {port} must be between 0 and 65535, inclusive. 0 for turning off secure port"
        )
    if args.get("tls-cert-file") or args.get("tls-private-key-file"):
        load_pair(args.get("tls-cert-file"), args.get("tls-private-key-file"))
        cert_file, key_file = args.get("tls-cert-file"), args.get("tls-private-key-file")
    else:
        cert_file, key_file = _self_signed(component, args.get("cert-dir"))
    election = config.get("leaderElection") or {}
    return ControlPlane(
        component,
        kubeconfig,
        host,
        port,
        cert_file,
        key_file,
        leader_elect=args.bool("leader-elect", bool(election.get("leaderElect", True))),
        lease_name=args.get("leader-elect-resource-name", election.get("resourceName", component)),
        lease_namespace=args.get(
            "leader-elect-resource-namespace", election.get("resourceNamespace", "kube-system")
        ),
        lease_duration=args.duration("leader-elect-lease-duration", 15.0),
        renew_deadline=args.duration("leader-elect-renew-deadline", 10.0),
        retry_period=args.duration("leader-elect-retry-period", 2.0),
        min_version=args.get("tls-min-version", "VersionTLS12"),
        cipher_suites=tuple(args.list("tls-cipher-suites")),
    )


def _self_signed(component: str, cert_dir: str) -> tuple[str, str]:
    """The real components generate a self-signed serving pair when given none (written to --cert-dir)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(
                x509.NameOID.COMMON_NAME, f"localhost@{int(datetime.datetime.now().timestamp())}"
            )
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    directory = Path(cert_dir) if cert_dir else Path(tempfile.mkdtemp(prefix=f"{component}-serving-"))
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / f"{component}.crt", directory / f"{component}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
    return str(cert_file), str(key_file)


async def _health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _forbidden(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": f'forbidden: User "system:anonymous" cannot get path "{request.path}"',
            "reason": "Forbidden",
            "code": 403,
        },
        status=403,
    )


async def serve_health(cp: ControlPlane, log: Klog) -> web.AppRunner:
    app = web.Application()
    for path in ("/healthz", "/livez", "/readyz", "/healthz/{check}", "/livez/{check}", "/readyz/{check}"):
        app.router.add_get(path, _health)
    app.router.add_route("*", "/{tail:.*}", _forbidden)
    runner = await app_runner(app)
    try:
        await start_site(
            runner,
            cp.host,
            cp.port,
            server_context(cp.cert_file, cp.key_file, None, cp.min_version, list(cp.cipher_suites)),
        )
    except BaseException:
        await runner.cleanup()
        raise
    log.info("Serving securely on " + f"{cp.host}:{cp.port}")
    return runner


def micro_time(moment: datetime.datetime | None = None) -> str:
    return (moment or datetime.datetime.now(datetime.UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


class LeaderElector:
    """client-go's leaderelection over a Lease, reduced to acquire / renew / release."""

    def __init__(self, client: KubeClient, cp: ControlPlane, log: Klog) -> None:
        self.client, self.cp, self.log = client, cp, log
        self.identity = f"{socket.gethostname()}_{uuid.uuid4()}"
        self.path = LEASES.format(ns=cp.lease_namespace)

    def _spec(self, transitions: int, acquired: str | None = None) -> dict[str, Any]:
        now = micro_time()
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": int(self.cp.lease_duration),
            "acquireTime": acquired or now,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    async def try_acquire(self) -> bool:
        status, lease = await self.client.request("GET", f"{self.path}/{self.cp.lease_name}")
        if status == 404:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.cp.lease_name, "namespace": self.cp.lease_namespace},
                "spec": self._spec(0),
            }
            status, _ = await self.client.request("POST", self.path, body)
            return status == 201
        if status != 200:
            raise ApiError(status, lease)
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        renewed = spec.get("renewTime")
        duration = float(spec.get("leaseDurationSeconds") or 0)
        expired = not renewed or (
            _parse_time(renewed) + datetime.timedelta(seconds=duration) < datetime.datetime.now(datetime.UTC)
        )
        if holder and holder != self.identity and not expired:
            return False
        transitions = int(spec.get("leaseTransitions") or 0) + (0 if holder == self.identity else 1)
        lease["spec"] = self._spec(transitions, spec.get("acquireTime") if holder == self.identity else None)
        status, _ = await self.client.request("PUT", f"{self.path}/{self.cp.lease_name}", lease)
        return status == 200

    async def release(self) -> None:
        with contextlib.suppress(Exception):
            status, lease = await self.client.request("GET", f"{self.path}/{self.cp.lease_name}")
            if status == 200 and (lease.get("spec") or {}).get("holderIdentity") == self.identity:
                lease["spec"].update(
                    {"holderIdentity": "", "leaseDurationSeconds": 1, "renewTime": micro_time()}
                )
                await self.client.request("PUT", f"{self.path}/{self.cp.lease_name}", lease)


async def run_elected(
    client: KubeClient,
    cp: ControlPlane,
    log: Klog,
    stop: asyncio.Event,
    work: Callable[[asyncio.Event], Coroutine[Any, Any, None]],
) -> None:
    """Run `work` while leading (always, without leader election); losing the lease ends the process."""
    if not cp.leader_elect:
        await work(stop)
        return
    elector = LeaderElector(client, cp, log)
    lease = f"{cp.lease_namespace}/{cp.lease_name}"
    log.info(f"attempting to acquire leader lease {lease}...")
    leading: asyncio.Task[None] | None = None
    last_renew = 0.0
    loop = asyncio.get_running_loop()
    try:
        while not stop.is_set():
            try:
                ok = await elector.try_acquire()
            except Exception as err:  # network or API failure: retry like client-go
                log.error("error retrieving resource lock", lock=lease, err=str(err))
                ok = False
            if ok:
                last_renew = loop.time()
                if leading is None:
                    log.info(f"successfully acquired lease {lease}")
                    leading = asyncio.create_task(work(stop))
            elif leading is not None and loop.time() - last_renew > cp.renew_deadline:
                raise StartupError("leaderelection lost", "Leaderelection lost")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), cp.retry_period)
    finally:
        if leading is not None:
            leading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await leading
            await elector.release()
