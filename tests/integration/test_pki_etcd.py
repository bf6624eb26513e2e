"""Debian's real etcd runs on the generated etcd set and tells trusted clients from the rest."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from k0spy.paths import Paths
from tests.support.net import free_port
from tests.support.pki import make_pki, settings


@dataclass(frozen=True)
class Etcd:
    paths: Paths
    endpoint: str
    log: Path


def etcdctl(etcd: Etcd, cert: str, *args: str) -> subprocess.CompletedProcess[str]:
    pki = etcd.paths.cert_dir
    return subprocess.run(
        ["etcdctl", "--endpoints", etcd.endpoint, "--cacert", str(pki / "etcd/ca.crt"),
         "--cert", str(pki / f"{cert}.crt"), "--key", str(pki / f"{cert}.key"), "--dial-timeout", "2s",
         "--command-timeout", "3s", *args],
        capture_output=True, text=True, timeout=30, env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"},
        check=False,
    )


def etcd_command(paths: Paths, client: int, peer: int, data: Path) -> list[str]:
    etcd_dir = paths.etcd_cert_dir
    peer_url = f"https://127.0.0.1:{peer}"
    return [
        "etcd", "--name", "pki-test", "--data-dir", str(data),
        "--listen-client-urls", f"https://127.0.0.1:{client}", "--advertise-client-urls",
        f"https://127.0.0.1:{client}", "--listen-peer-urls", peer_url,
        "--initial-advertise-peer-urls", peer_url, "--initial-cluster", f"pki-test={peer_url}",
        "--client-cert-auth=true", "--peer-client-cert-auth=true",
        "--trusted-ca-file", str(etcd_dir / "ca.crt"), "--cert-file", str(etcd_dir / "server.crt"),
        "--key-file", str(etcd_dir / "server.key"), "--peer-trusted-ca-file", str(etcd_dir / "ca.crt"),
        "--peer-cert-file", str(etcd_dir / "peer.crt"), "--peer-key-file", str(etcd_dir / "peer.key"),
        "--auth-token",
        f"jwt,pub-key={etcd_dir / 'jwt.pub'},priv-key={etcd_dir / 'jwt.key'},sign-method=RS512,ttl=10m",
        "--listen-metrics-urls", f"http://127.0.0.1:{free_port()}", "--logger", "zap",
        "--log-outputs", "stderr",
    ]


@pytest.fixture
def etcd(paths: Paths, tmp_path: Path) -> Iterator[Etcd]:
    make_pki(paths, settings(etcd_peer_address="127.0.0.1"))
    client, peer = free_port(), free_port()
    log = (tmp_path / "etcd.log").open("wb")
    proc = subprocess.Popen(etcd_command(paths, client, peer, tmp_path / "etcd-data"), stdout=log,
                            stderr=subprocess.STDOUT)
    server = Etcd(paths, f"https://127.0.0.1:{client}", tmp_path / "etcd.log")
    try:
        deadline = time.monotonic() + 30
        while etcdctl(server, "apiserver-etcd-client", "endpoint", "health").returncode != 0:
            assert proc.poll() is None, (tmp_path / "etcd.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "etcd.log").read_text()[-3000:]
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_apiserver_etcd_client_is_served(etcd: Etcd) -> None:
    put = etcdctl(etcd, "apiserver-etcd-client", "put", "/k0spy/pki", "works")
    assert put.returncode == 0 and put.stdout.strip() == "OK", put.stderr
    got = etcdctl(etcd, "apiserver-etcd-client", "get", "--print-value-only", "/k0spy/pki")
    assert got.stdout.strip() == "works"


def test_admin_cert_from_the_kubernetes_ca_is_refused(etcd: Etcd) -> None:
    result = etcdctl(etcd, "admin", "get", "/k0spy/pki")
    assert result.returncode != 0
    assert "deadline exceeded" in result.stderr, result.stderr
    log = etcd.log.read_text()
    assert "rejected connection" in log and "certificate signed by unknown authority" in log, log[-2000:]


def test_renewed_client_cert_still_accepted_by_running_etcd(etcd: Etcd) -> None:
    make_pki(etcd.paths, settings(etcd_peer_address="127.0.0.1"))
    result = etcdctl(etcd, "apiserver-etcd-client", "put", "/k0spy/renewed", "yes")
    assert result.returncode == 0, result.stderr
