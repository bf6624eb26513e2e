"""CertRenewer on a real PKI: renews due leaves on disk, restarts readers one at a time, survives failures.

The restart targets are in-process Component implementations that record what happens to them (stop,
start, each readiness poll), so the order and the one-at-a-time rule can be asserted exactly; the real
processes are covered by tests/e2e/test_renew_running.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

from cryptography import x509

from k0spy.components.base import Component, NotReady
from k0spy.paths import Paths
from k0spy.pki.renewer import CertRenewer
from k0spy.status.metrics import render_metrics
from k0spy.status.server import StatusInfo, StatusServer
from k0spy.status.timeline import Timeline
from tests.support.pki import make_pki, settings

SHORT = settings(cert_validity=dt.timedelta(hours=48))
DUE_AT_ONCE = dt.timedelta(hours=48)  # wider than the (backdated) validity: every kube-CA leaf is due


class Recorder:
    """A component that logs its lifecycle into a shared list and becomes ready after `polls` polls."""

    def __init__(self, name: str, events: list[str], polls: int = 2, ready: bool = True) -> None:
        self.name, self.events, self.polls, self.can_be_ready = name, events, polls, ready
        self.left = 0

    async def init(self) -> None: ...

    async def start(self) -> None:
        self.events.append(f"start {self.name}")
        self.left = self.polls

    async def ready(self) -> None:
        if not self.can_be_ready or self.left > 0:
            self.left -= 1
            raise NotReady("warming up")
        self.events.append(f"ready {self.name}")

    async def stop(self) -> None:
        self.events.append(f"stop {self.name}")


def serial(paths: Paths, name: str) -> int:
    return x509.load_pem_x509_certificate((paths.cert_dir / f"{name}.crt").read_bytes()).serial_number


async def wait_for(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not callable(condition) or not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_due_leaves_renewed_and_readers_restarted_in_order_one_at_a_time(paths: Paths) -> None:
    make_pki(paths, SHORT)
    before = {name: serial(paths, name) for name in ("server", "scheduler", "etcd/server")}
    events: list[str] = []
    names = ("etcd", "kube-apiserver", "konnectivity", "kube-scheduler", "kube-controller-manager",
             "k0s-control-api")
    targets: list[Component] = [Recorder(name, events) for name in names]
    renewer = CertRenewer(paths, SHORT, lambda: targets, window=DUE_AT_ONCE, ready_timeout=10)
    await renewer.init()
    await renewer.start()
    try:
        await renewer.ready()
        await wait_for(lambda: renewer.state.last_renewal is not None)
        assert events == [
            "stop kube-apiserver", "start kube-apiserver", "ready kube-apiserver",
            "stop konnectivity", "start konnectivity", "ready konnectivity",
            "stop kube-controller-manager", "start kube-controller-manager", "ready kube-controller-manager",
            "stop kube-scheduler", "start kube-scheduler", "ready kube-scheduler",
            "stop k0s-control-api", "start k0s-control-api", "ready k0s-control-api",
        ]
        assert serial(paths, "server") != before["server"]
        assert serial(paths, "scheduler") != before["scheduler"]
        assert serial(paths, "etcd/server") == before["etcd/server"]  # a year left: not due
        state = renewer.state
        assert "server" in state.renewed and "etcd/server" not in state.renewed
        assert state.restarted == ["kube-apiserver", "konnectivity", "kube-controller-manager",
                                   "kube-scheduler", "k0s-control-api"]
        assert state.renewals["server"] == 1 and state.error is None
        # Due again at once (window > validity), but the next check waits the minimum interval.
        assert state.next_check is not None and state.next_check - time.time() > 500
        assert state.earliest_expiry is not None and state.earliest_expiry > time.time() + 40 * 3600
    finally:
        await renewer.stop()
    assert renewer._task is None


async def test_nothing_due_restarts_nothing_and_sleeps_the_ceiling(paths: Paths) -> None:
    make_pki(paths)
    events: list[str] = []
    before = serial(paths, "server")
    renewer = CertRenewer(paths, settings(), lambda: [Recorder("kube-apiserver", events)])
    await renewer.start()
    try:
        await wait_for(lambda: renewer.state.next_check is not None)
        assert events == [] and serial(paths, "server") == before
        assert renewer.state.last_check is not None and renewer.state.last_renewal is None
        assert 3000 < renewer.state.next_check - time.time() <= 3600
        assert renewer.details()["probe"]["ok"] is True
    finally:
        await renewer.stop()


async def test_a_reader_never_ready_is_reported_and_the_next_one_still_restarts(paths: Paths) -> None:
    make_pki(paths, SHORT)
    events: list[str] = []
    targets: list[Component] = [Recorder("kube-apiserver", events, ready=False),
                                Recorder("kube-scheduler", events, polls=0)]
    renewer = CertRenewer(paths, SHORT, lambda: targets, window=DUE_AT_ONCE, ready_timeout=0.5)
    result = await renewer.check()
    assert result is not None and "server" in result.renewed
    assert events == ["stop kube-apiserver", "start kube-apiserver", "stop kube-scheduler",
                      "start kube-scheduler", "ready kube-scheduler"]
    assert renewer.state.restarted == ["kube-apiserver", "kube-scheduler"]
    assert renewer.state.error is not None and "kube-apiserver not ready" in renewer.state.error


async def test_a_failing_renewal_is_reported_not_fatal_and_retried_later(paths: Paths) -> None:
    make_pki(paths, SHORT)
    (paths.cert_dir / "ca.key").unlink()  # a CA without its key: renewal must refuse, not invent a CA
    events: list[str] = []
    renewer = CertRenewer(paths, SHORT, lambda: [Recorder("kube-apiserver", events)], window=DUE_AT_ONCE,
                          retry=dt.timedelta(minutes=2))
    await renewer.start()
    try:
        await wait_for(lambda: renewer.state.next_check is not None)
        assert events == []
        assert renewer.state.error is not None and "ca" in renewer.state.error
        assert 100 < renewer.state.next_check - time.time() <= 120
        await renewer.ready()  # the loop keeps running
        assert renewer.details()["probe"]["ok"] is False
        assert not (paths.cert_dir / "ca.key").exists()
    finally:
        await renewer.stop()


async def test_status_row_and_metrics_show_the_renewal(paths: Paths, tmp_path: Path) -> None:
    make_pki(paths, SHORT)
    renewer = CertRenewer(paths, SHORT, lambda: [], window=DUE_AT_ONCE)
    await renewer.check()
    info = StatusInfo("v", "controller", {})
    server = StatusServer(tmp_path / "s.sock", info, lambda: [renewer], Timeline())
    (row,) = server.components_doc()
    assert row["name"] == "cert-renewer" and row["state"] == "running"
    assert row["renewal"]["renewals"]["server"] == 1 and row["probe"]["ok"] is True
    body, _ = render_metrics([row], {"components": []})
    text = body.decode()
    assert 'k0spy_certificate_renewals_total{certificate="server"} 1.0' in text
    (line,) = [ln for ln in text.splitlines() if ln.startswith("k0spy_certificate_expiry_timestamp_seconds ")]
    assert abs(float(line.split()[1]) - renewer.state.earliest_expiry) < 1  # type: ignore[operator]
