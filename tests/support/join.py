"""A join-API test bed: a real k0s PKI (k0spy.pki), real etcd 3.4, the kube-apiserver double and a
`k0spy api` child fed its runtime config on stdin, all on free loopback ports, all stopped at teardown.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from k0spy.joinapi.tokens import format_expiry, secret_name
from k0spy.paths import Paths
from k0spy.pki.ensure import ensure_pki
from k0spy.pki.settings import PKISettings
from k0spy.runtime import runtime_config_doc
from tests.support.doubles import (
    Etcd,
    Procs,
    api,
    apiserver_args,
    http_get,
    start_etcd,
    stop_process,
    wait_http_ok,
    wait_until,
)
from tests.support.doubles_pki import DoublesPki
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]


def node_config(api_port: int, etcd_url: str, storage: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "k0s.k0sproject.io/v1beta1",
        "kind": "ClusterConfig",
        "metadata": {"name": "k0s"},
        "spec": {
            "api": {
                "address": "127.0.0.1",
                "k0sApiPort": api_port,
                "extraArgs": {"bind-address": "127.0.0.1"},
            },
            "storage": storage
            or {
                "type": "etcd",
                "etcd": {"peerAddress": "127.0.0.1", "extraArgs": {"advertise-client-urls": etcd_url}},
            },
        },
    }


def make_paths(base: Path) -> Paths:
    paths = Paths.build(base / "data", run_dir=base / "run", etc_dir=base / "etc")
    ensure_pki(paths, PKISettings())
    return paths


def point_admin_conf(paths: Paths, url: str) -> None:
    doc = yaml.safe_load(paths.admin_kubeconfig.read_text())
    doc["clusters"][0]["cluster"]["server"] = url
    paths.admin_kubeconfig.write_text(yaml.safe_dump(doc))


def start_api(paths: Paths, node: dict[str, Any], log: Path) -> subprocess.Popen[bytes]:
    """`python -m k0spy api` with the runtime config on stdin (as the controller will spawn it)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "k0spy", "api"],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    assert proc.stdin is not None
    proc.stdin.write(yaml.safe_dump(runtime_config_doc(paths, node)).encode())
    proc.stdin.close()
    return proc


@dataclass
class JoinBed:
    paths: Paths
    etcd: Etcd
    kube_url: str
    api_url: str
    api_port: int
    api_proc: subprocess.Popen[bytes]
    api_log: Path
    procs: Procs

    def ca_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.paths.cert_dir / "ca.crt"))

    def admin_context(self) -> ssl.SSLContext:
        ctx = self.ca_context()
        ctx.load_cert_chain(str(self.paths.cert_dir / "admin.crt"), str(self.paths.cert_dir / "admin.key"))
        return ctx

    def put_secret(self, doc: dict[str, Any]) -> None:
        url = f"{self.kube_url}/api/v1/namespaces/kube-system/secrets"
        status, body = api(url, "POST", doc, self.admin_context())
        assert status == 201, body

    def delete_secret(self, token_id: str) -> int:
        url = f"{self.kube_url}/api/v1/namespaces/kube-system/secrets/{secret_name(token_id)}"
        return api(url, "DELETE", None, self.admin_context())[0]

    def secret_exists(self, token_id: str) -> bool:
        url = f"{self.kube_url}/api/v1/namespaces/kube-system/secrets/{secret_name(token_id)}"
        return http_get(url, self.admin_context())[0] == 200

    def etcd_members(self) -> list[dict[str, Any]]:
        ctx = ssl.create_default_context(cafile=str(self.paths.etcd_cert_dir / "ca.crt"))
        ctx.load_cert_chain(
            str(self.paths.cert_dir / "apiserver-etcd-client.crt"),
            str(self.paths.cert_dir / "apiserver-etcd-client.key"),
        )
        status, body = api(f"{self.etcd.url}/v3/cluster/member/list", "POST", {}, ctx)
        assert status == 200, body
        return list(body.get("members") or [])

    def remove_member(self, member_id: str) -> None:
        ctx = ssl.create_default_context(cafile=str(self.paths.etcd_cert_dir / "ca.crt"))
        ctx.load_cert_chain(
            str(self.paths.cert_dir / "apiserver-etcd-client.crt"),
            str(self.paths.cert_dir / "apiserver-etcd-client.key"),
        )
        status, body = api(f"{self.etcd.url}/v3/cluster/member/remove", "POST", {"ID": member_id}, ctx)
        assert status == 200, body


def secret_doc(token: str, *, usages: dict[str, str], expires_in: float | None = 3600) -> dict[str, Any]:
    """A bootstrap-token Secret with the given usage keys (stringData, so the double encodes it)."""
    token_id, token_secret = token.split(".")
    data = {"token-id": token_id, "token-secret": token_secret, **usages}
    if expires_in is not None:
        data["expiration"] = format_expiry(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=expires_in))
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "bootstrap.kubernetes.io/token",
        "metadata": {"name": secret_name(token_id), "namespace": "kube-system"},
        "stringData": data,
    }


CONTROLLER_USAGE = {"usage-bootstrap-controller-join": "true", "usage-controller-join": "true"}
WORKER_USAGE = {"usage-bootstrap-authentication": "true"}


def wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"k0spy api exited with {proc.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"k0spy api never listened on {port}:\n{log.read_text()}")


def stop_api(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return int(proc.returncode)


@pytest.fixture(scope="module")
def join_bed(tmp_path_factory: pytest.TempPathFactory, doubles_bin: Path) -> Iterator[JoinBed]:
    base = tmp_path_factory.mktemp("join")
    paths = make_paths(base)
    pki = DoublesPki(paths.cert_dir, None, None, None)  # type: ignore[arg-type]  # only .dir/.path are used
    etcd = start_etcd(base / "etcd", pki)
    procs = Procs(base, doubles_bin)
    api_proc = None
    try:
        kube_port = free_port()
        kube_proc = procs.start("kube-apiserver", apiserver_args(pki, kube_port, etcd.url))
        kube_url = f"https://127.0.0.1:{kube_port}"
        ctx = ssl.create_default_context(cafile=str(paths.cert_dir / "ca.crt"))
        ctx.load_cert_chain(str(paths.cert_dir / "admin.crt"), str(paths.cert_dir / "admin.key"))
        wait_http_ok(kube_url + "/readyz", ctx, kube_proc)
        point_admin_conf(paths, kube_url)
        port = free_port()
        log = base / "k0spy-api.log"
        api_proc = start_api(paths, node_config(port, etcd.url), log)
        wait_listening(port, api_proc, log)
        yield JoinBed(paths, etcd, kube_url, f"https://127.0.0.1:{port}", port, api_proc, log, procs)
    finally:
        if api_proc is not None:
            stop_api(api_proc)
        procs.stop_all()
        stop_process(etcd.proc)


def raw_request(
    port: int, request: bytes, ctx: ssl.SSLContext, timeout: float = 10
) -> tuple[int, bytes, bytes]:
    """(status, headers, body) of one raw HTTP/1.1 exchange over TLS (for malformed requests)."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(request)
        chunks = []
        while data := tls.recv(65536):
            chunks.append(data)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def env_without_token() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "K0S_TOKEN"}


def dumps(doc: Any) -> bytes:
    return json.dumps(doc).encode()


__all__ = ["wait_until"]


def start_joined_etcd(paths: Paths, name: str, initial_cluster: list[str], peer_port: int,
                      client_port: int, log: Path) -> subprocess.Popen[bytes]:
    """A second etcd 3.4 joining with the initial cluster the join API returned (state existing)."""
    certs = paths.etcd_cert_dir
    args = [
        "etcd", f"--data-dir={paths.etcd_data_dir}", f"--name={name}",
        f"--listen-client-urls=https://127.0.0.1:{client_port}",
        f"--advertise-client-urls=https://127.0.0.1:{client_port}",
        f"--listen-peer-urls=https://127.0.0.1:{peer_port}",
        f"--initial-advertise-peer-urls=https://127.0.0.1:{peer_port}",
        f"--initial-cluster={','.join(initial_cluster)}", "--initial-cluster-state=existing",
        f"--cert-file={certs}/server.crt", f"--key-file={certs}/server.key",
        f"--trusted-ca-file={certs}/ca.crt",
        "--client-cert-auth=true", f"--peer-cert-file={certs}/peer.crt", f"--peer-key-file={certs}/peer.key",
        f"--peer-trusted-ca-file={certs}/ca.crt", "--peer-client-cert-auth=true",
        "--logger=zap", "--log-level=error", "--enable-pprof=false",
    ]
    with log.open("wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


async def remove_member(session: Any, etcd_url: str, member_id: str, attempts: int = 100) -> None:
    """Remove an etcd member, retrying while etcd calls the cluster unhealthy (a just-promoted member)."""
    import asyncio

    for _ in range(attempts):
        async with session.post(f"{etcd_url}/v3/cluster/member/remove", json={"ID": member_id}) as resp:
            if resp.status == 200:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"etcd member {member_id} could not be removed")
