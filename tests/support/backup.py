"""Backup test helpers: a controller's data dir laid out as k0s lays it out, real etcd 3.4 on it, and a
small JSON-gateway client to write and read keys.

`Controller` is the stand-in for a running k0spy controller until the controller command exists: a PKI
from `k0spy.pki`, a k0s.yaml whose etcd extraArgs put etcd on free ports, etcd with its data in
DATA/etcd and its certs in PKI/etcd, and the runtime lock + RUN/k0s.yaml held by the test process.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import shutil
import socket
import ssl
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from k0spy.paths import Paths
from k0spy.runtime import runtime_lock
from tests.support.net import free_port
from tests.support.pki import make_pki, settings

BOOTSTRAP_KEY = "/registry/secrets/kube-system/bootstrap-token-abc123"


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


@dataclass
class EtcdClient:
    """Enough of etcd's v3 JSON gateway for tests: put, txn of puts, range, status."""

    url: str
    ctx: ssl.SSLContext

    def call(self, path: str, body: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        host, port = self.url.removeprefix("https://").split(":")
        conn = http.client.HTTPSConnection(host, int(port), context=self.ctx, timeout=timeout)
        try:
            conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        assert resp.status == 200, f"{path}: HTTP {resp.status} {data[:300]!r}"
        doc: dict[str, Any] = json.loads(data)
        return doc

    def put_many(self, items: dict[str, bytes], batch_bytes: int = 1 << 20) -> None:
        """Transactions of at most 100 puts and about `batch_bytes` (etcd refuses requests over 1.5 MiB)."""
        ops: list[dict[str, Any]] = []
        size = 0
        for key, value in items.items():
            if ops and (len(ops) == 100 or size + len(value) > batch_bytes):
                self.call("/v3/kv/txn", {"success": ops})
                ops, size = [], 0
            ops.append({"requestPut": {"key": b64(key), "value": b64(value)}})
            size += len(value) + len(key)
        if ops:
            self.call("/v3/kv/txn", {"success": ops})

    def range_prefix(self, prefix: str) -> dict[str, bytes]:
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        doc = self.call("/v3/kv/range", {"key": b64(prefix), "range_end": b64(end)})
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", ""))
                for kv in doc.get("kvs", [])}

    def cluster_id(self) -> str:
        return str(self.call("/v3/maintenance/status", {})["header"]["cluster_id"])


def objects(count: int = 2000) -> dict[str, bytes]:
    """`count` secrets and configmaps as JSON values under /registry, plus a bootstrap-token Secret."""
    items: dict[str, bytes] = {}
    for i in range(count):
        kind = "secrets" if i % 2 else "configmaps"
        doc = {"kind": kind[:-1].capitalize(), "metadata": {"name": f"obj-{i}", "namespace": f"ns-{i % 7}"},
               "data": {"value": b64(f"payload-{i}")}}
        items[f"/registry/{kind}/ns-{i % 7}/obj-{i}"] = json.dumps(doc).encode()
    token = {"kind": "Secret", "type": "bootstrap.kubernetes.io/token",
             "metadata": {"name": "bootstrap-token-abc123", "namespace": "kube-system"},
             "data": {"token-id": b64("abc123"), "token-secret": b64("0123456789abcdef")}}
    items[BOOTSTRAP_KEY] = json.dumps(token).encode()
    return items


@dataclass
class Controller:
    """A controller-shaped data dir with real etcd; `stop()` is idempotent."""

    paths: Paths
    client_port: int
    peer_port: int
    config: dict[str, Any]
    config_path: Path
    proc: subprocess.Popen[bytes] | None = None
    lock: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.client_port}"

    def client(self) -> EtcdClient:
        ctx = ssl.create_default_context(cafile=str(self.paths.etcd_cert_dir / "ca.crt"))
        ctx.load_cert_chain(self.paths.cert_dir / "apiserver-etcd-client.crt",
                            self.paths.cert_dir / "apiserver-etcd-client.key")
        return EtcdClient(self.url, ctx)

    def start_etcd(self) -> None:
        etcd = self.paths.etcd_cert_dir
        peer = f"https://127.0.0.1:{self.peer_port}"
        args = ["etcd", f"--data-dir={self.paths.etcd_data_dir}", f"--name={socket.gethostname()}",
                f"--listen-client-urls={self.url}", f"--advertise-client-urls={self.url}",
                f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster={socket.gethostname()}={peer}",
                f"--cert-file={etcd}/server.crt", f"--key-file={etcd}/server.key",
                f"--trusted-ca-file={etcd}/ca.crt", "--client-cert-auth=true",
                f"--peer-cert-file={etcd}/peer.crt", f"--peer-key-file={etcd}/peer.key",
                f"--peer-trusted-ca-file={etcd}/ca.crt", "--peer-client-cert-auth=true",
                "--logger=zap", "--log-level=error", "--enable-pprof=false",
                "--quota-backend-bytes=8589934592"]
        log = self.paths.run_dir.parent / "etcd.log"
        self.paths.etcd_data_dir.mkdir(mode=0o700, exist_ok=True)
        with log.open("ab") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        client, deadline = self.client(), time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"etcd exited: {log.read_text()[-3000:]}")
            with contextlib.suppress(OSError, AssertionError, ssl.SSLError):
                client.call("/v3/maintenance/status", {}, timeout=1)
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"etcd not healthy: {log.read_text()[-3000:]}")
            time.sleep(0.1)

    def stop_etcd(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def hold_lock(self) -> None:
        """What a running daemon does: the lock plus RUN/k0s.yaml with the node config."""
        self.lock.enter_context(runtime_lock(self.paths, self.config))

    def release_lock(self) -> None:
        self.lock.close()

    def stop(self) -> None:
        self.stop_etcd()
        self.release_lock()

    def cli_dirs(self) -> list[str]:
        return ["--data-dir", str(self.paths.data_dir), "--run-dir", str(self.paths.run_dir),
                "--etc-dir", str(self.paths.etc_dir)]

    def wipe(self) -> None:
        """`k0spy reset` stand-in: DATA and RUN gone."""
        shutil.rmtree(self.paths.data_dir)
        shutil.rmtree(self.paths.run_dir, ignore_errors=True)


def k0s_yaml(paths: Paths, client_port: int, peer_port: int, storage: str = "etcd") -> dict[str, Any]:
    spec: dict[str, Any] = {"api": {"address": "127.0.0.1"}}
    if storage == "etcd":
        spec["storage"] = {"type": "etcd", "etcd": {"peerAddress": "127.0.0.1", "extraArgs": {
            "listen-client-urls": f"https://127.0.0.1:{client_port}",
            "advertise-client-urls": f"https://127.0.0.1:{client_port}",
            "initial-advertise-peer-urls": f"https://127.0.0.1:{peer_port}"}}}
    else:
        spec["storage"] = {"type": "kine",
                           "kine": {"dataSource": f"sqlite://file:{paths.kine_db_path}?mode=rwc&_journal=WAL"}}
    return {"apiVersion": "k0s.k0sproject.io/v1beta1", "kind": "ClusterConfig",
            "metadata": {"name": "k0s"}, "spec": spec}


def make_controller(paths: Paths, storage: str = "etcd", *, start: bool = True) -> Controller:
    """PKI, trees, k0s.yaml in ETC, and (etcd) a started etcd; the caller must `stop()` it."""
    client_port, peer_port = free_port(), free_port()
    config = k0s_yaml(paths, client_port, peer_port, storage)
    paths.etc_dir.mkdir(parents=True, exist_ok=True)
    paths.default_config.write_text(yaml.safe_dump(config, sort_keys=False))
    paths.run_dir.mkdir(parents=True, exist_ok=True)
    make_pki(paths, settings(), include_etcd=storage == "etcd")
    for tree, name, text in (("manifests/coredns", "coredns.yaml", "kind: ConfigMap\n"),
                             ("images", "bundle.txt", "not really an image\n"),
                             ("helmhome", "repositories.yaml", "repositories: []\n")):
        (paths.data_dir / tree).mkdir(parents=True, exist_ok=True)
        (paths.data_dir / tree / name).write_text(text)
    controller = Controller(paths, client_port, peer_port, config, paths.default_config)
    if storage == "etcd" and start:
        controller.start_etcd()
    return controller


def member_names(archive: Path) -> list[str]:
    with tarfile.open(archive, "r:gz") as tar:
        return tar.getnames()


def only_archive(directory: Path) -> Path:
    found = sorted(directory.glob("k0s_backup_*.tar.gz"))
    assert len(found) == 1, f"expected one archive in {directory}, found {found}"
    return found[0]


def tree_snapshot(root: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every path under `root` with its mode and content: to assert that nothing changed."""
    result: dict[str, tuple[int, bytes | None]] = {}
    if not root.exists():
        return result
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        result[str(path.relative_to(root))] = (st.st_mode, path.read_bytes() if path.is_file() else None)
    return result


@contextlib.contextmanager
def running(controller: Controller) -> Iterator[Controller]:
    try:
        yield controller
    finally:
        controller.stop()
