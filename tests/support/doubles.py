"""Fixtures and helpers for tests that run the doubles: a laid-out bin dir, a test PKI, real etcd 3.4 with
TLS and real containerd 1.6 on free ports/sockets under tmp, k0s-shaped command lines, and process handles
that are always stopped.

Import the fixtures into a test module: `from tests.support.doubles import doubles_bin, pki, etcd, ...`.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.doubles import layout
from tests.support.doubles_pki import DoublesPki, make_pki
from tests.support.net import free_port


@dataclass
class Proc:
    """A started daemon with its stderr captured to a file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return int(self.popen.returncode)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


@dataclass
class Procs:
    """Every process a test starts, stopped at teardown in reverse order."""

    tmp: Path
    bin_dir: Path
    started: list[Proc] = field(default_factory=list)

    def start(
        self,
        name: str,
        args: list[str],
        env: dict[str, str] | None = None,
        exe: str | None = None,
        cwd: Path | None = None,
    ) -> Proc:
        log = self.tmp / f"{name}-{len(self.started)}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [exe or str(self.bin_dir / name), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                cwd=cwd or self.tmp,
            )
        proc = Proc(name, popen, log)
        self.started.append(proc)
        return proc

    def run(
        self, name: str, args: list[str], env: dict[str, str] | None = None, timeout: float = 20.0
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin_dir / name), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
            cwd=self.tmp,
            check=False,
        )

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            proc.stop()


def client_ssl(pki: DoublesPki, client: str | None = "admin", ca: str = "ca.crt") -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=pki.path(ca))
    if client:
        ctx.load_cert_chain(pki.path(f"{client}.crt"), pki.path(f"{client}.key"))
    return ctx


def http_get(
    url: str, ctx: ssl.SSLContext | None = None, headers: dict[str, str] | None = None, timeout: float = 3.0
) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, context=ctx, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def api(
    url: str,
    method: str = "GET",
    body: object = None,
    ctx: ssl.SSLContext | None = None,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": content_type, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, context=ctx, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def wait_until(check, timeout: float = 15.0, interval: float = 0.1, proc: Proc | None = None):
    """Poll `check()` until it returns a truthy value; fail with the process log if it never does."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (OSError, ssl.SSLError, ValueError) as err:
            last = err
        if proc is not None and proc.popen.poll() is not None:
            pytest.fail(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.output()}")
        time.sleep(interval)
    pytest.fail(f"timed out waiting ({last!r})" + (f"\n{proc.output()}" if proc else ""))


def wait_http_ok(
    url: str, ctx: ssl.SSLContext | None = None, proc: Proc | None = None, timeout: float = 15.0
) -> str:
    return str(
        wait_until(lambda: (lambda r: r[1] if r[0] == 200 else None)(http_get(url, ctx)), timeout, proc=proc)
    )


CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"


def csr_pem(cn: str, orgs: tuple[str, ...] = ()) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, o) for o in orgs]
    name = x509.Name([*attrs, x509.NameAttribute(x509.NameOID.COMMON_NAME, cn)])
    request = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return base64.b64encode(request.public_bytes(serialization.Encoding.PEM)).decode()


def bootstrap_secret(token_id: str, secret: str, expires_in: float | None = 3600, usage: bool = True) -> dict:
    data = {"token-id": token_id, "token-secret": secret}
    if expires_in is not None:
        moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=expires_in)
        data["expiration"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if usage:
        data["usage-bootstrap-authentication"] = "true"
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "bootstrap.kubernetes.io/token",
        "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
        "stringData": data,
    }


# ---------------------------------------------------------------- real etcd and containerd


@dataclass
class Etcd:
    url: str
    proc: subprocess.Popen[bytes]
    data_dir: Path


def start_etcd(directory: Path, pki: DoublesPki) -> Etcd:
    """etcd 3.4 with the k0s TLS flags (minus --tls-min-version, which 3.4 rejects)."""
    client, peer = free_port(), free_port()
    etcd_dir = pki.dir / "etcd"
    args = [
        "etcd",
        f"--data-dir={directory}/etcd-data",
        "--name=test",
        f"--listen-client-urls=https://127.0.0.1:{client}",
        f"--advertise-client-urls=https://127.0.0.1:{client}",
        f"--listen-peer-urls=https://127.0.0.1:{peer}",
        f"--initial-advertise-peer-urls=https://127.0.0.1:{peer}",
        f"--initial-cluster=test=https://127.0.0.1:{peer}",
        f"--cert-file={etcd_dir}/server.crt",
        f"--key-file={etcd_dir}/server.key",
        f"--trusted-ca-file={etcd_dir}/ca.crt",
        "--client-cert-auth=true",
        f"--peer-cert-file={etcd_dir}/peer.crt",
        f"--peer-key-file={etcd_dir}/peer.key",
        f"--peer-trusted-ca-file={etcd_dir}/ca.crt",
        "--peer-client-cert-auth=true",
        "--logger=zap",
        "--log-level=error",
        "--enable-pprof=false",
    ]
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "etcd.log").open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    ctx = ssl.create_default_context(cafile=str(etcd_dir / "ca.crt"))
    ctx.load_cert_chain(pki.path("apiserver-etcd-client.crt"), pki.path("apiserver-etcd-client.key"))
    url = f"https://127.0.0.1:{client}"

    def healthy() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"etcd exited: {(directory / 'etcd.log').read_text()}")
        return http_get(url + "/health", ctx, timeout=1)[0] == 200

    wait_until(healthy, 20)
    return Etcd(url, proc, directory / "etcd-data")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Containerd:
    socket: Path
    proc: subprocess.Popen[bytes]


def start_containerd(directory: Path) -> Containerd:
    directory.mkdir(parents=True, exist_ok=True)
    sock = directory / "containerd.sock"
    config = directory / "config.toml"
    config.write_text(
        f'version = 2\nroot = "{directory}/root"\nstate = "{directory}/state"\n'
        f'[grpc]\n  address = "{sock}"\n[ttrpc]\n  address = "{sock}.ttrpc"\n'
    )
    with (directory / "containerd.log").open("wb") as out:
        proc = subprocess.Popen(
            [
                "containerd",
                f"--root={directory}/root",
                f"--state={directory}/state",
                f"--address={sock}",
                f"--config={config}",
                "--log-level=warn",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    wait_until(sock.exists, 10)
    return Containerd(sock, proc)


# ---------------------------------------------------------------- k0s-shaped command lines


def apiserver_args(pki: DoublesPki, port: int, etcd_url: str, **extra: str) -> list[str]:
    """The k0s 5.3 argv (addresses and ports changed for the test), plus `extra` overrides."""
    p = pki.path
    base = {
        "advertise-address": "127.0.0.1",
        "secure-port": str(port),
        "bind-address": "127.0.0.1",
        "authorization-mode": "Node,RBAC",
        "client-ca-file": p("ca.crt"),
        "enable-bootstrap-token-auth": "true",
        "enable-admission-plugins": "NodeRestriction",
        "kubelet-client-certificate": p("apiserver-kubelet-client.crt"),
        "kubelet-client-key": p("apiserver-kubelet-client.key"),
        "kubelet-certificate-authority": p("ca.crt"),
        "kubelet-preferred-address-types": "InternalIP,ExternalIP,Hostname",
        "proxy-client-cert-file": p("front-proxy-client.crt"),
        "proxy-client-key-file": p("front-proxy-client.key"),
        "requestheader-allowed-names": "front-proxy-client",
        "requestheader-client-ca-file": p("front-proxy-ca.crt"),
        "service-account-key-file": p("sa.pub"),
        "service-account-signing-key-file": p("sa.key"),
        "service-account-issuer": "https://kubernetes.default.svc",
        "service-account-jwks-uri": "https://kubernetes.default.svc/openid/v1/jwks",
        "service-cluster-ip-range": "10.96.0.0/12",
        "tls-cert-file": p("server.crt"),
        "tls-private-key-file": p("server.key"),
        "tls-min-version": "VersionTLS12",
        "profiling": "false",
        "v": "1",
        "api-audiences": "https://kubernetes.default.svc,system:konnectivity-server",
        "allow-privileged": "true",
        "requestheader-extra-headers-prefix": "X-Remote-Extra-",
        "requestheader-group-headers": "X-Remote-Group",
        "requestheader-username-headers": "X-Remote-User",
        "anonymous-auth": "false",
        "tls-cipher-suites": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "shutdown-watch-termination-grace-period": "18s",
    }
    if etcd_url.startswith("https://"):
        base.update(
            {
                "etcd-servers": etcd_url,
                "etcd-cafile": p("etcd/ca.crt"),
                "etcd-certfile": p("apiserver-etcd-client.crt"),
                "etcd-keyfile": p("apiserver-etcd-client.key"),
            }
        )
    else:
        base["etcd-servers"] = etcd_url
    base.update(extra)
    return [f"--{k}={v}" for k, v in base.items() if v is not None]


def scheduler_args(pki: DoublesPki, kubeconfig: str, port: int, **extra: str) -> list[str]:
    base = {
        "authentication-kubeconfig": kubeconfig,
        "authorization-kubeconfig": kubeconfig,
        "bind-address": "127.0.0.1",
        "kubeconfig": kubeconfig,
        "leader-elect": "false",
        "profiling": "false",
        "v": "1",
        "secure-port": str(port),
    }
    base.update(extra)
    return [f"--{k}={v}" for k, v in base.items()]


def controller_manager_args(pki: DoublesPki, kubeconfig: str, port: int, **extra: str) -> list[str]:
    p = pki.path
    base = {
        "allocate-node-cidrs": "true",
        "authentication-kubeconfig": kubeconfig,
        "authorization-kubeconfig": kubeconfig,
        "bind-address": "127.0.0.1",
        "client-ca-file": p("ca.crt"),
        "cluster-cidr": "10.244.0.0/16",
        "cluster-name": "k0s",
        "cluster-signing-cert-file": p("ca.crt"),
        "cluster-signing-key-file": p("ca.key"),
        "controllers": "*,bootstrapsigner,tokencleaner",
        "kubeconfig": kubeconfig,
        "leader-elect": "false",
        "node-cidr-mask-size": "24",
        "profiling": "false",
        "requestheader-client-ca-file": p("front-proxy-ca.crt"),
        "root-ca-file": p("ca.crt"),
        "service-account-private-key-file": p("sa.key"),
        "service-cluster-ip-range": "10.96.0.0/12",
        "terminated-pod-gc-threshold": "12500",
        "use-service-account-credentials": "true",
        "v": "1",
        "secure-port": str(port),
    }
    base.update(extra)
    return [f"--{k}={v}" for k, v in base.items()]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def doubles_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The doubles laid out as executables, once per session."""
    directory = tmp_path_factory.mktemp("doubles-bin")
    layout.build(directory)
    return directory


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DoublesPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory, pki: DoublesPki) -> Iterator[Etcd]:
    server = start_etcd(tmp_path_factory.mktemp("etcd"), pki)
    try:
        yield server
    finally:
        stop_process(server.proc)


@pytest.fixture
def procs(tmp_path: Path, doubles_bin: Path) -> Iterator[Procs]:
    manager = Procs(tmp_path, doubles_bin)
    try:
        yield manager
    finally:
        manager.stop_all()


@dataclass
class ApiServer:
    url: str
    proc: Proc
    pki: DoublesPki
    admin_conf: str


def start_apiserver(procs: Procs, pki: DoublesPki, etcd_url: str, **extra: str) -> ApiServer:
    port = free_port()
    proc = procs.start("kube-apiserver", apiserver_args(pki, port, etcd_url, **extra))
    url = f"https://127.0.0.1:{port}"
    wait_http_ok(url + "/readyz", client_ssl(pki), proc)
    admin_conf = pki.kubeconfig(f"admin-{port}.conf", url, pki.admin)
    return ApiServer(url, proc, pki, admin_conf)


@pytest.fixture
def apiserver(procs: Procs, pki: DoublesPki, etcd: Etcd) -> ApiServer:
    return start_apiserver(procs, pki, etcd.url)


def kubectl(
    args: list[str], kubeconfig: str, home: Path, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Real /usr/bin/kubectl with a private HOME (its discovery cache)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    return subprocess.run(
        ["kubectl", f"--kubeconfig={kubeconfig}", *args],
        capture_output=True,
        text=True,
        env=env,
        input=input,
        timeout=30,
        check=False,
    )
