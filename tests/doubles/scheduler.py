"""kube-scheduler double: reads its kubeconfig(s) and optional KubeSchedulerConfiguration, serves health on
--secure-port (10259), talks to the API server with its client certificate and holds the kube-scheduler
Lease when --leader-elect (the real default).  It schedules nothing."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from .controlplane import ControlPlane, prepare_common, run_elected, serve_health
from .flagparse import ParsedArgs
from .klog import Klog
from .kubeclient import KubeClient
from .runner import KUBE_VERSION, Component
from .runner import main as run_main
from .tlsfiles import StartupError, read_file

CONFIG_VERSIONS = {"kubescheduler.config.k8s.io/v1"}


def _load_config(path: str) -> dict[str, Any]:
    import yaml

    try:
        doc = yaml.safe_load(read_file(path)) or {}
    except yaml.YAMLError as err:
        raise StartupError(f"couldn't decode as KubeSchedulerConfiguration: {err}") from None
    if doc.get("kind") != "KubeSchedulerConfiguration" or doc.get("apiVersion") not in CONFIG_VERSIONS:
        raise StartupError(
            f'no kind "{doc.get("kind")}" is registered for version "{doc.get("apiVersion")}" '
            f'in scheme "pkg/scheduler/apis/config/scheme/scheme.go:30"'
        )
    return dict(doc)


def prepare(args: ParsedArgs, log: Klog) -> ControlPlane:
    config = _load_config(args.get("config")) if args.get("config") else None
    cp = prepare_common(args, log, "kube-scheduler", 10259, config)
    log.info("Starting Kubernetes Scheduler", version=KUBE_VERSION)
    return cp


async def _connect(client: KubeClient, log: Klog, stop: asyncio.Event) -> None:
    """Wait until the API server answers with our credentials (the informers' first list)."""
    while not stop.is_set():
        try:
            await client.call("GET", "/api/v1/nodes?limit=500")
            log.info("Caches are synced", controller="scheduler")
            return
        except Exception as err:  # retried like a reflector
            log.error("Failed to watch", err=str(err), logger="UnhandledError", reflector="nodes")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def serve(cp: ControlPlane, stop: asyncio.Event, log: Klog) -> None:
    runner = await serve_health(cp, log)
    client = KubeClient(cp.kubeconfig, f"kube-scheduler/{KUBE_VERSION} (linux/amd64) k0spy-double")
    try:
        await _connect(client, log, stop)

        async def work(stopping: asyncio.Event) -> None:
            await stopping.wait()

        await run_elected(client, cp, log, stop, work)
    finally:
        await client.close()
        await runner.cleanup()


COMPONENT = Component("kube-scheduler", "server", prepare, serve)


def main(argv: list[str] | None = None) -> int:
    return run_main(COMPONENT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
