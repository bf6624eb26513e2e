"""The kine double (real etcd on kine's unix socket, SQLite file kept) and the konnectivity-server double."""

from __future__ import annotations

import os
import socket
import sqlite3
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.doubles import (
    Procs,
    doubles_bin,
    http_get,
    kubectl,
    pki,
    procs,
    start_apiserver,
    wait_http_ok,
    wait_until,
)
from tests.support.doubles_pki import DoublesPki
from tests.support.net import free_port

__all__ = ["doubles_bin", "pki", "procs"]


def kine_args(tmp: Path, metrics_port: int) -> list[str]:
    """k0s 5.2's argv with test paths."""
    (tmp / "db").mkdir(exist_ok=True)
    (tmp / "run" / "kine").mkdir(parents=True, exist_ok=True)
    return [
        "--compact-interval=0",
        f"--endpoint=sqlite://file:{tmp}/db/state.db?mode=rwc&_journal=WAL",
        f"--listen-address=unix://{tmp}/run/kine/kine.sock:2379",
        f"--metrics-bind-address=127.0.0.1:{metrics_port}",
    ]


def etcdctl(sock: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["etcdctl", f"--endpoints=unix://{sock}", "--dial-timeout=2s", *args],
        capture_output=True,
        text=True,
        timeout=15,
        env={**os.environ, "ETCDCTL_API": "3"},
        check=False,
    )


def test_kine_serves_etcd_api_and_keeps_sqlite(procs: Procs, tmp_path: Path) -> None:
    metrics = free_port()
    proc = procs.start("kine", kine_args(tmp_path, metrics))
    sock = tmp_path / "run" / "kine" / "kine.sock:2379"
    wait_until(lambda: etcdctl(sock, "endpoint", "health").returncode == 0, proc=proc)
    # k0s' readiness check: a put under a 64 s lease, read back.
    lease = etcdctl(sock, "lease", "grant", "64")
    lease_id = lease.stdout.split()[1]
    assert etcdctl(sock, "put", "--lease", lease_id, "/k0s-health-check", "value").returncode == 0
    assert etcdctl(sock, "get", "--print-value-only", "/k0s-health-check").stdout.strip() == "value"
    with sqlite3.connect(tmp_path / "db" / "state.db") as db:
        assert db.execute("SELECT name FROM sqlite_master WHERE name='kine'").fetchone() == ("kine",)
    assert http_get(f"http://127.0.0.1:{metrics}/metrics")[0] == 200
    started = time.monotonic()
    assert proc.stop() == 0
    assert time.monotonic() - started < 3
    assert not sock.exists()


def _accepts(sock: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as client:
        try:
            client.connect(str(sock))
            return True
        except OSError:
            return False


def test_apiserver_double_on_kine(procs: Procs, pki: DoublesPki, tmp_path: Path) -> None:
    proc = procs.start("kine", kine_args(tmp_path, free_port()))
    sock = tmp_path / "run" / "kine" / "kine.sock:2379"
    wait_until(lambda: etcdctl(sock, "endpoint", "health").returncode == 0, proc=proc)
    server = start_apiserver(procs, pki, f"unix:{sock}")
    made = kubectl(
        ["create", "configmap", "on-kine", "--from-literal=a=1"], server.admin_conf, tmp_path / "home"
    )
    assert made.returncode == 0, made.stderr
    keys = etcdctl(sock, "get", "--prefix", "--keys-only", "/registry/configmaps/default/")
    assert "/registry/configmaps/default/on-kine" in keys.stdout


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("--endpoint=postgres://u:p@localhost/k", "serves sqlite endpoints only"),
        ("--endpoint=sqlite://file:/nonexistent/dir/state.db", "unable to open database file"),
        ("-bogus", "flag provided but not defined: -bogus"),
        ("--compact-interval=often", 'invalid argument "often" for "-compact-interval" flag'),
    ],
)
def test_kine_failures(procs: Procs, tmp_path: Path, change: str, expected: str) -> None:
    args = [a for a in kine_args(tmp_path, free_port()) if a.split("=")[0] != change.split("=")[0]] + [change]
    result = procs.run("kine", args)
    assert result.returncode == 1
    assert expected in result.stderr


def konnectivity_args(pki: DoublesPki, tmp: Path, health: int, admin: int, agent: int) -> list[str]:
    """k0s 5.6's argv with test ports and paths."""
    (tmp / "run").mkdir(exist_ok=True)
    conf = pki.kubeconfig("konnectivity.conf", "https://127.0.0.1:6443", pki.admin)
    return [
        f"--admin-port={admin}",
        "--agent-namespace=kube-system",
        f"--agent-port={agent}",
        "--agent-service-account=konnectivity-agent",
        "--authentication-audience=system:konnectivity-server",
        "--cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        f"--cluster-cert={pki.path('server.crt')}",
        f"--cluster-key={pki.path('server.key')}",
        "--delete-existing-uds-file=true",
        "--enable-profiling=false",
        "--graceful-shutdown-timeout=1ns",
        "--health-bind-address=127.0.0.1",
        f"--health-port={health}",
        f"--kubeconfig={conf}",
        "--logtostderr=true",
        "--mode=grpc",
        "--proxy-strategies=destHost,defaultRoute,default",
        "--server-count=1",
        "--server-id=abc123",
        "--server-port=0",
        "--stderrthreshold=1",
        f"--uds-name={tmp}/run/konnectivity-server.sock",
        "--v=1",
    ]


def test_konnectivity_serves_uds_and_health(procs: Procs, pki: DoublesPki, tmp_path: Path) -> None:
    health, admin, agent = free_port(), free_port(), free_port()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "konnectivity-server.sock").write_text("stale")
    proc = procs.start("konnectivity-server", konnectivity_args(pki, tmp_path, health, admin, agent))
    assert wait_http_ok(f"http://127.0.0.1:{health}/healthz", proc=proc) == "ok"
    assert _accepts(tmp_path / "run" / "konnectivity-server.sock")
    assert http_get(f"http://127.0.0.1:{health}/readyz") == (500, "no connection to any proxy agent\n")
    ctx = ssl.create_default_context(cafile=pki.path("ca.crt"))
    with (
        socket.create_connection(("127.0.0.1", agent)) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1"),
    ):
        wait_until(lambda: http_get(f"http://127.0.0.1:{health}/readyz")[0] == 200)
        assert "connections 1" in http_get(f"http://127.0.0.1:{admin}/metrics")[1]
    started = time.monotonic()
    assert proc.stop() == 0 and time.monotonic() - started < 3
    assert not (tmp_path / "run" / "konnectivity-server.sock").exists()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("--server-port=8090", "server port should be set to 0 when UDS name is set"),
        ("--mode=tcp", 'mode must be set to either "grpc" or "http-connect" not "tcp"'),
        ("--cluster-key=/nonexistent/server.key", "open /nonexistent/server.key: no such file or directory"),
        ("--kubeconfig=/nonexistent/k.conf", "open /nonexistent/k.conf: no such file or directory"),
        ("--proxy-strategies=nearest", "unknown proxy strategy: nearest"),
        ("--version", "Error: unknown flag: --version"),
    ],
)
def test_konnectivity_failures(
    procs: Procs, pki: DoublesPki, tmp_path: Path, change: str, expected: str
) -> None:
    args = konnectivity_args(pki, tmp_path, free_port(), free_port(), free_port())
    args = [a for a in args if a.split("=")[0] != change.split("=")[0]] + [change]
    result = procs.run("konnectivity-server", args)
    assert result.returncode == 1
    assert expected in result.stderr


def test_konnectivity_existing_socket_without_delete(procs: Procs, pki: DoublesPki, tmp_path: Path) -> None:
    args = konnectivity_args(pki, tmp_path, free_port(), free_port(), free_port())
    (tmp_path / "run" / "konnectivity-server.sock").write_text("busy")
    args = [a for a in args if not a.startswith("--delete-existing-uds-file")] + [
        "--delete-existing-uds-file=false"
    ]
    result = procs.run("konnectivity-server", args)
    assert result.returncode == 1 and "bind: address already in use" in result.stderr
