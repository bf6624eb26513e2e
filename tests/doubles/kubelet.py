"""kubelet double: loads --config (KubeletConfiguration, unknown top-level fields rejected as the real strict
decoder does) and --kubeconfig, asks the real container runtime at the CRI endpoint for its version, then
registers its Node with its own client certificate and keeps it Ready (status heartbeat + node Lease),
serving /healthz on healthzBindAddress:healthzPort (127.0.0.1:10248).  It runs no pods."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import platform
import socket
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from . import cri, kubelet_bootstrap, kubelet_serving
from .controlplane import micro_time
from .flagparse import ParsedArgs, parse_duration
from .klog import Klog
from .kubeclient import KubeClient
from .runner import KUBE_VERSION, Component, app_runner, start_site
from .runner import main as run_main
from .tlsfiles import Kubeconfig, StartupError, load_ca_bundle, load_kubeconfig, load_pair, read_file

CONFIG_API = "kubelet.config.k8s.io/v1beta1"


@dataclass
class Prepared:
    config: dict[str, Any]
    kubeconfig: Kubeconfig | None
    bootstrap: Kubeconfig | None
    kubeconfig_path: str
    cert_dir: str
    node_name: str
    labels: dict[str, str]
    node_ip: str
    cri_endpoint: str
    healthz: tuple[str, int]
    status_every: float
    max_pods: int
    taints: list[dict[str, Any]] = field(default_factory=list)
    server_tls_bootstrap: bool = False
    api_address: tuple[str, int] = ("0.0.0.0", 0)
    client_ca: str | None = None


def config_fields() -> set[str]:
    text = resources.files(__package__).joinpath("flags", "kubelet-config-fields.txt").read_text()
    return {
        line.split("#")[0].strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    }


def load_config(path: str) -> dict[str, Any]:
    import yaml

    def fail(why: str) -> StartupError:
        return StartupError(
            f"failed to load kubelet config file, path: {path}, error: failed to load Kubelet "
            f"config file {path}, error {why}",
            "command failed",
        )

    try:
        doc = yaml.safe_load(read_file(path))
    except StartupError as err:
        raise fail(err.message) from None
    except yaml.YAMLError as err:
        raise fail(f"failed to decode: {err}") from None
    if not isinstance(doc, dict):
        raise fail("failed to decode: object expected")
    if doc.get("kind") != "KubeletConfiguration" or doc.get("apiVersion") != CONFIG_API:
        raise fail(
            f'failed to decode: no kind "{doc.get("kind")}" is registered for version '
            f'"{doc.get("apiVersion")}" in scheme "pkg/kubelet/apis/config/scheme/scheme.go:33"'
        )
    unknown = sorted(set(doc) - config_fields())
    if unknown:
        listed = ", ".join(f'unknown field "{name}"' for name in unknown)
        raise fail(f"failed to decode: strict decoding error: {listed}")
    return doc


def _labels(args: ParsedArgs, node: str) -> dict[str, str]:
    labels = {
        "kubernetes.io/hostname": node,
        "kubernetes.io/os": "linux",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/arch": "amd64",
    }
    for item in args.list("node-labels"):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise StartupError(
                f'invalid argument "{args.get("node-labels")}" for "--node-labels" flag: '
                f"{item} must be formatted as key=value",
                "command failed",
            )
        labels[key] = value
    return labels


def _primary_ip() -> str:
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("192.0.2.1", 9))
        return str(sock.getsockname()[0])
    return "127.0.0.1"


def _taints(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(t) for t in config.get("registerWithTaints") or []]


def prepare(args: ParsedArgs, log: Klog) -> Prepared:
    config = load_config(args.get("config")) if args.get("config") else {}
    x509_cfg = (config.get("authentication") or {}).get("x509") or {}
    if x509_cfg.get("clientCAFile"):
        load_ca_bundle(x509_cfg["clientCAFile"])
    if args.get("client-ca-file"):
        load_ca_bundle(args.get("client-ca-file"))
    cert, key = (
        config.get("tlsCertFile") or args.get("tls-cert-file"),
        config.get("tlsPrivateKeyFile") or args.get("tls-private-key-file"),
    )
    if cert or key:
        load_pair(cert, key)
    if not args.get("kubeconfig"):
        raise StartupError(
            "the k0spy kubelet double needs --kubeconfig (standalone mode is not doubled)", "command failed"
        )
    kubeconfig: Kubeconfig | None = None
    bootstrap: Kubeconfig | None = None
    try:
        if not Path(args.get("kubeconfig")).exists() and args.get("bootstrap-kubeconfig"):
            bootstrap = load_kubeconfig(args.get("bootstrap-kubeconfig"))
        else:
            kubeconfig = load_kubeconfig(args.get("kubeconfig"))
    except StartupError as err:
        raise StartupError(
            f"failed to run Kubelet: invalid kubeconfig: {err.message}", "command failed"
        ) from None
    for flag in ("root-dir", "cert-dir"):
        if args.get(flag):
            Path(args.get(flag)).mkdir(parents=True, exist_ok=True)
    node = (args.get("hostname-override") or socket.gethostname()).strip().lower()
    endpoint = (
        args.get("container-runtime-endpoint")
        or config.get("containerRuntimeEndpoint")
        or "unix:///run/containerd/containerd.sock"
    )
    port = args.int("healthz-port", int(config.get("healthzPort", 10248)))
    bind = args.get("healthz-bind-address", str(config.get("healthzBindAddress", "127.0.0.1")))
    every = (
        args.duration("node-status-update-frequency", 0)
        or parse_duration(str(config.get("nodeStatusUpdateFrequency") or "10s"))
        or 10.0
    )
    log.info("Kubelet version", kubeletVersion=KUBE_VERSION)
    node_ip = args.list("node-ip")[0] if args.list("node-ip") else _primary_ip()
    return Prepared(
        config,
        kubeconfig,
        bootstrap,
        args.get("kubeconfig"),
        args.get("cert-dir") or str(Path(args.get("root-dir", "/var/lib/kubelet")) / "pki"),
        node,
        _labels(args, node),
        node_ip,
        endpoint,
        (bind, port),
        every,
        args.int("max-pods", int(config.get("maxPods", 110))),
        _taints(config),
        server_tls_bootstrap=bool(config.get("serverTLSBootstrap", False)),
        api_address=(
            args.get("address", str(config.get("address", "0.0.0.0"))),
            args.int("port", int(config.get("port", 0))),
        ),
        client_ca=x509_cfg.get("clientCAFile") or args.get("client-ca-file") or None,
    )


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _conditions(ready: bool, why: str, previous: list[dict[str, Any]]) -> list[dict[str, Any]]:
    now = _now()
    before = {c.get("type"): c for c in previous}

    def cond(kind: str, status: str, reason: str, message: str) -> dict[str, Any]:
        old = before.get(kind, {})
        changed = old.get("status") != status
        return {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": now,
            "lastTransitionTime": now if changed else old.get("lastTransitionTime", now),
        }

    return [
        cond(
            "MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"
        ),
        cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        cond(
            "Ready",
            "True" if ready else "False",
            "KubeletReady" if ready else "KubeletNotReady",
            "kubelet is posting ready status" if ready else why,
        ),
    ]


def _node(prep: Prepared, runtime: cri.RuntimeVersion) -> dict[str, Any]:
    cpu = str(os.cpu_count() or 1)
    memory = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 1024}Ki"
    resources_ = {"cpu": cpu, "memory": memory, "pods": str(prep.max_pods), "ephemeral-storage": "10Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": prep.node_name,
            "labels": prep.labels,
            "annotations": {"volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        },
        "spec": {"taints": prep.taints} if prep.taints else {},
        "status": {
            "conditions": _conditions(True, "", []),
            "capacity": resources_,
            "allocatable": resources_,
            "addresses": [
                {"type": "InternalIP", "address": prep.node_ip},
                {"type": "Hostname", "address": prep.node_name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "kubeletVersion": KUBE_VERSION,
                "kubeProxyVersion": "",
                "containerRuntimeVersion": f"{runtime.runtime_name}://{runtime.runtime_version}",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "kernelVersion": platform.release(),
                "osImage": "k0spy test double",
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
            },
        },
    }


async def _wait_runtime(prep: Prepared, log: Klog, stop: asyncio.Event) -> cri.RuntimeVersion:
    import grpc  # type: ignore[import-untyped]

    wait = min(10.0, parse_duration(str(prep.config.get("runtimeRequestTimeout") or "10s")) or 10.0)
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        try:
            version = await cri.runtime_version(prep.cri_endpoint)
            log.info(
                "Container runtime initialized",
                containerRuntime=version.runtime_name,
                version=version.runtime_version,
                apiVersion=version.runtime_api_version,
            )
            return version
        except grpc.aio.AioRpcError as err:
            if asyncio.get_running_loop().time() > deadline or stop.is_set():
                raise StartupError(
                    f"failed to run Kubelet: validate service connection: validate CRI v1 runtime "
                    f'API for endpoint "{prep.cri_endpoint}": rpc error: code = '
                    f"{err.code().name.title()} desc = {err.details()}",
                    "command failed",
                ) from None
        await asyncio.sleep(0.5)


async def _register(client: KubeClient, prep: Prepared, runtime: cri.RuntimeVersion, log: Klog) -> None:
    status, body = await client.request("POST", "/api/v1/nodes", _node(prep, runtime))
    if status == 201:
        log.info("Successfully registered node", node=prep.node_name)
    elif status == 409:
        log.info("Node was previously registered", node=prep.node_name)
    else:
        raise RuntimeError(f"Unable to register node with API server: HTTP {status}: {body}")


async def _heartbeat(client: KubeClient, prep: Prepared, log: Klog) -> None:
    try:
        await cri.runtime_version(prep.cri_endpoint, timeout=1.0)
        ready, why = True, ""
    except Exception as err:  # the runtime going away makes the node NotReady, as in the real kubelet
        ready, why = False, f"container runtime is down: {err}"
    node = await client.call("GET", f"/api/v1/nodes/{prep.node_name}")
    node.setdefault("status", {})["conditions"] = _conditions(
        ready, why, node["status"].get("conditions") or []
    )
    await client.call("PUT", f"/api/v1/nodes/{prep.node_name}/status", node)
    await _renew_lease(client, prep)


async def _renew_lease(client: KubeClient, prep: Prepared) -> None:
    path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
    spec = {"holderIdentity": prep.node_name, "leaseDurationSeconds": 40, "renewTime": micro_time()}
    status, lease = await client.request("GET", f"{path}/{prep.node_name}")
    if status == 404:
        await client.call(
            "POST",
            path,
            {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": prep.node_name, "namespace": "kube-node-lease"},
                "spec": spec,
            },
        )
    elif status == 200:
        lease["spec"] = spec
        await client.call("PUT", f"{path}/{prep.node_name}", lease)


async def _status_loop(
    client: KubeClient, prep: Prepared, runtime: cri.RuntimeVersion, log: Klog, stop: asyncio.Event
) -> None:
    registered = False
    while not stop.is_set():
        try:
            if not registered:
                await _register(client, prep, runtime, log)
                registered = True
            await _heartbeat(client, prep, log)
        except Exception as err:  # API server away: retry, as the kubelet does
            log.error("Error updating node status, will retry", err=str(err))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), prep.status_every)


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def serve(prep: Prepared, stop: asyncio.Event, log: Klog) -> None:
    if prep.kubeconfig is None:
        assert prep.bootstrap is not None
        await kubelet_bootstrap.bootstrap(
            prep.bootstrap, prep.kubeconfig_path, prep.cert_dir, prep.node_name, log, stop
        )
        prep.kubeconfig = load_kubeconfig(prep.kubeconfig_path)
    runtime = await _wait_runtime(prep, log, stop)
    app = web.Application()
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/healthz/{check}", _healthz)
    runner = await app_runner(app)
    client = KubeClient(prep.kubeconfig, f"kubelet/{KUBE_VERSION} (linux/amd64) k0spy-double")
    try:
        host, port = prep.healthz
        if port:
            await start_site(runner, host, port)
            log.info("Starting healthz server", address=f"{host}:{port}")
        serving = asyncio.create_task(_serving(client, prep, log, stop))
        try:
            await _status_loop(client, prep, runtime, log, stop)
        finally:
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
    finally:
        await client.close()
        await runner.cleanup()


async def _serving(client: KubeClient, prep: Prepared, log: Klog, stop: asyncio.Event) -> None:
    """serverTLSBootstrap: request the serving certificate, then serve the kubelet port with it."""
    if not prep.server_tls_bootstrap:
        return
    pem = await kubelet_serving.request_serving_cert(
        client, prep.node_name, [prep.node_ip, prep.node_name], prep.cert_dir, log, stop
    )
    if pem is None:
        return
    log.info("Serving certificate issued", path=str(pem))
    host, port = prep.api_address
    if not port:
        return
    runner = await kubelet_serving.serve_kubelet_api(pem, prep.client_ca, host, port)
    log.info("Starting to listen", address=host, port=port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


COMPONENT = Component("kubelet", "server", prepare, serve)


def main(argv: list[str] | None = None) -> int:
    return run_main(COMPONENT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
