"""Prometheus text for `/metrics`, and psutil resource sampling shared with `/components`.

prometheus-client is imported on the first `/metrics` request only (about 45 ms and a few MiB), so a daemon
that nobody scrapes never pays for it. Gauges are built fresh per scrape from the frozen status snapshots:
there is no second source of truth to keep in sync.
"""

from __future__ import annotations

import time
from typing import Any

import psutil


class ResourceSampler:
    """RSS and CPU% per pid; keeps psutil.Process objects so CPU% covers the time since the last call."""

    def __init__(self) -> None:
        self._procs: dict[int, psutil.Process] = {}

    def sample(self, pid: int | None) -> tuple[int | None, float | None]:
        if pid is None:
            return None, None
        proc = self._procs.get(pid)
        try:
            if proc is None:
                # First sight: CPU% over the process's lifetime, and prime psutil for the next call.
                proc = self._procs[pid] = psutil.Process(pid)
                with proc.oneshot():
                    times = proc.cpu_times()
                    age = max(time.time() - proc.create_time(), 0.01)
                    proc.cpu_percent(None)
                    return proc.memory_info().rss, round(100 * (times.user + times.system) / age, 1)
            with proc.oneshot():
                return proc.memory_info().rss, proc.cpu_percent(None)
        except psutil.Error:
            self._procs.pop(pid, None)
            return None, None

    def forget_except(self, pids: set[int]) -> None:
        for pid in [p for p in self._procs if p not in pids]:
            del self._procs[pid]


def render_metrics(components: list[dict[str, Any]], timeline: dict[str, Any]) -> tuple[bytes, str]:
    """(body, content type) in the Prometheus text format."""
    from prometheus_client import CollectorRegistry, Gauge, ProcessCollector, generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(namespace="k0spy", registry=registry)
    label = ["component"]
    up = Gauge("k0spy_component_up", "1 if the component's process is running", label, registry=registry)
    ready = Gauge("k0spy_component_ready", "1 if the component passed its readiness probe", label,
                  registry=registry)
    restarts = Gauge("k0spy_component_restarts_total", "Restarts since the daemon started", label,
                     registry=registry)
    rss = Gauge("k0spy_component_resident_memory_bytes", "RSS of the component's process", label,
                registry=registry)
    cpu = Gauge("k0spy_component_cpu_percent", "CPU% of the component's process since the last sample",
                label, registry=registry)
    start_d = Gauge("k0spy_component_start_duration_seconds", "From start to spawned, first start", label,
                    registry=registry)
    ready_d = Gauge("k0spy_component_ready_duration_seconds", "From start to ready, first start", label,
                    registry=registry)
    marks = {row["name"]: row for row in timeline.get("components", [])}
    for comp in components:
        name = comp["name"]
        up.labels(name).set(1 if comp.get("pid") else 0)
        ready.labels(name).set(1 if comp.get("state") == "ready" else 0)
        restarts.labels(name).set(comp.get("restarts", 0))
        if comp.get("rss") is not None:
            rss.labels(name).set(comp["rss"])
        if comp.get("cpuPercent") is not None:
            cpu.labels(name).set(comp["cpuPercent"])
        row = marks.get(name, {})
        if "start" in row and "spawned" in row:
            start_d.labels(name).set(row["spawned"] - row["start"])
        if "start" in row and "ready" in row:
            ready_d.labels(name).set(row["ready"] - row["start"])
    for comp in components:
        if isinstance(comp.get("renewal"), dict):
            _renewal_metrics(registry, comp["renewal"])
    Gauge("k0spy_daemon_cpu_percent", "CPU% of the daemon since the last scrape", registry=registry).set(
        _daemon_cpu())
    return generate_latest(registry), CONTENT_TYPE_LATEST


def _renewal_metrics(registry: Any, renewal: dict[str, Any]) -> None:
    """Certificate renewal without a restart (the cert-renewer row): renewals per leaf, earliest expiry."""
    from prometheus_client import Counter, Gauge

    renewals = Counter("k0spy_certificate_renewals", "Leaf certificates renewed while the daemon ran",
                       ["certificate"], registry=registry)
    for name, count in sorted(renewal.get("renewals", {}).items()):
        renewals.labels(name).inc(count)
    if renewal.get("earliestExpiry") is not None:
        Gauge("k0spy_certificate_expiry_timestamp_seconds", "Not-after of the leaf that expires first",
              registry=registry).set(renewal["earliestExpiry"])
    if renewal.get("nextCheck") is not None:
        Gauge("k0spy_certificate_renewal_next_check_timestamp_seconds", "When the next renewal check runs",
              registry=registry).set(renewal["nextCheck"])


_SELF: psutil.Process | None = None


def _daemon_cpu() -> float:
    global _SELF
    if _SELF is None:
        _SELF = psutil.Process()
        _SELF.cpu_percent(None)
    return float(_SELF.cpu_percent(None))
