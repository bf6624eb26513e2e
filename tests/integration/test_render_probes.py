"""The readiness probes against real etcd 3.4: started with the rendered etcd command line (TLS, client
certificates, a PKI from `ensure_pki`) on free ports, and on a unix socket as kine's stand-in."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from k0spy.components.base import NotReady
from k0spy.components.flags import ComponentSpec, ProbeSpec
from k0spy.components.probes import build_probe
from k0spy.components.render import etcd_version_of
from k0spy.paths import Paths
from tests.support.net import free_port
from tests.support.pki import make_pki, settings
from tests.support.render import FACTS, render

pytestmark = pytest.mark.slow
ETCD = "/usr/bin/etcd"


def etcd_config(client: int, peer: int) -> str:
    return f"""
        spec:
          api: {{address: 127.0.0.1}}
          storage:
            etcd:
              peerAddress: 127.0.0.1
              extraArgs:
                listen-client-urls: https://127.0.0.1:{client}
                advertise-client-urls: https://127.0.0.1:{client}
                listen-peer-urls: https://127.0.0.1:{peer}
                initial-advertise-peer-urls: https://127.0.0.1:{peer}
                logger: zap
    """


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def wait_ready(probe: ProbeSpec, proc: subprocess.Popen[bytes], log: Path,
                     timeout: float = 20) -> float:
    """Poll the probe until it passes; returns the seconds it took. Fails with the last reason."""
    check = build_probe(probe)
    start = time.monotonic()
    reason = "never probed"
    while time.monotonic() - start < timeout:
        assert proc.poll() is None, f"exited: {log.read_text()[-2000:]}"
        try:
            await check()
            return time.monotonic() - start
        except NotReady as err:
            reason = str(err)
        await asyncio.sleep(0.1)
    raise AssertionError(f"not ready after {timeout}s: {reason}")


@pytest.fixture
def etcd_paths(tmp_path: Path) -> Paths:
    paths = Paths.build(tmp_path / "data", run_dir=tmp_path / "run", etc_dir=tmp_path / "etc")
    make_pki(paths, settings(etcd_peer_address="127.0.0.1"))
    return paths


@pytest.fixture
def etcd_spec(etcd_paths: Paths) -> ComponentSpec:
    facts = replace(FACTS, etcd_version=etcd_version_of(ETCD))
    return render(etcd_config(free_port(), free_port()), paths=etcd_paths, facts=facts)["etcd"]


@pytest.fixture
def etcd_proc(etcd_paths: Paths, etcd_spec: ComponentSpec) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    for directory in etcd_spec.dirs:
        os.makedirs(directory.path, mode=directory.mode, exist_ok=True)
    log = etcd_paths.data_dir / "etcd.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([ETCD, *etcd_spec.args], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=etcd_paths.data_dir)
    try:
        yield proc, log
    finally:
        stop(proc)


def test_staged_etcd_is_34_and_rendered_without_tls_min_version(etcd_spec: ComponentSpec) -> None:
    assert etcd_version_of(ETCD) == (3, 4)
    assert not any(arg.startswith("--tls-min-version") for arg in etcd_spec.args)


def test_every_rendered_34_flag_is_in_etcd_help(etcd_spec: ComponentSpec) -> None:
    help_text = subprocess.run([ETCD, "--help"], capture_output=True, text=True, timeout=10).stdout
    known = set(re.findall(r"^\s+--([a-z0-9-]+)", help_text, re.MULTILINE))
    assert len(known) > 50
    assert [a for a in etcd_spec.args if a[2:].split("=", 1)[0] not in known] == []


async def test_etcd_probe_fails_with_reason_then_passes(
    etcd_spec: ComponentSpec, etcd_proc: tuple[subprocess.Popen[bytes], Path]
) -> None:
    assert etcd_spec.probe is not None
    proc, log = etcd_proc
    took = await wait_ready(etcd_spec.probe, proc, log)
    assert took < 20
    await build_probe(etcd_spec.probe)()  # and again, now warm


async def test_etcd_probe_without_client_cert_is_not_ready(
    etcd_spec: ComponentSpec, etcd_proc: tuple[subprocess.Popen[bytes], Path]
) -> None:
    assert etcd_spec.probe is not None
    proc, log = etcd_proc
    await wait_ready(etcd_spec.probe, proc, log)
    anonymous = replace(etcd_spec.probe, cert_file=None, key_file=None)
    with pytest.raises(NotReady, match=r"etcd at https://127\.0\.0\.1:\d+"):
        await build_probe(anonymous)()


async def test_etcd_probe_counts_permission_denied_as_healthy(
    etcd_paths: Paths, etcd_spec: ComponentSpec, etcd_proc: tuple[subprocess.Popen[bytes], Path]
) -> None:
    assert etcd_spec.probe is not None
    proc, log = etcd_proc
    await wait_ready(etcd_spec.probe, proc, log)
    pki = etcd_paths.cert_dir
    ctl = ["etcdctl", f"--endpoints={etcd_spec.probe.url}", f"--cacert={pki / 'etcd' / 'ca.crt'}",
           f"--cert={pki / 'apiserver-etcd-client.crt'}", f"--key={pki / 'apiserver-etcd-client.key'}"]
    env = {**os.environ, "ETCDCTL_API": "3"}
    for command in (["user", "add", "root:pw"], ["user", "grant-role", "root", "root"], ["auth", "enable"]):
        done = subprocess.run(ctl + command, capture_output=True, text=True, timeout=20, env=env)
        assert done.returncode == 0, done.stderr
    await build_probe(etcd_spec.probe)()


async def test_etcd_probe_reports_connection_refused() -> None:
    probe = ProbeSpec("etcd", f"https://127.0.0.1:{free_port()}", timeout=1.0)
    with pytest.raises(NotReady, match=r"Connect|refused"):
        await build_probe(probe)()


# --- kine: the etcd gRPC API on a unix socket -----------------------------------------------------------
@pytest.fixture
def kine_stand_in(tmp_path: Path) -> Iterator[tuple[ComponentSpec, subprocess.Popen[bytes], Path]]:
    """Real etcd listening where kine would (`RUN/kine/kine.sock:2379`), plain gRPC like kine."""
    paths = Paths.build(tmp_path / "data", run_dir=tmp_path / "run", etc_dir=tmp_path / "etc")
    spec = render(single=True, paths=paths)["kine"]
    paths.kine_socket_dir.mkdir(parents=True)
    peer = free_port()
    log = tmp_path / "etcd.log"
    args = [ETCD, f"--data-dir={tmp_path / 'etcd'}", f"--listen-client-urls=unix://{paths.kine_socket.name}",
            f"--advertise-client-urls=unix://{paths.kine_socket.name}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}", f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=default=http://127.0.0.1:{peer}", "--logger=zap"]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=paths.kine_socket_dir)
    try:
        yield spec, proc, log
    finally:
        stop(proc)


async def test_kine_probe_puts_and_reads_back(
    kine_stand_in: tuple[ComponentSpec, subprocess.Popen[bytes], Path]
) -> None:
    spec, proc, log = kine_stand_in
    assert spec.probe is not None and spec.probe.url.endswith("/run/kine/kine.sock:2379")
    await wait_ready(spec.probe, proc, log)
    await build_probe(spec.probe)()  # the key exists now: the create is skipped, the read still matches
    socket_path = spec.probe.url.removeprefix("unix:")
    got = subprocess.run(["etcdctl", f"--endpoints=unix://{socket_path}", "get", "/k0s-health-check",
                          "--print-value-only", "-w", "simple"], capture_output=True, text=True, timeout=20,
                         env={**os.environ, "ETCDCTL_API": "3"})
    assert got.stdout.strip() == "value", got.stderr
    lease = subprocess.run(["etcdctl", f"--endpoints=unix://{socket_path}", "get", "/k0s-health-check",
                            "-w", "json"], capture_output=True, text=True, timeout=20,
                           env={**os.environ, "ETCDCTL_API": "3"})
    assert '"lease":' in lease.stdout  # written with the 64 s lease


async def test_kine_probe_without_socket_is_not_ready(tmp_path: Path) -> None:
    probe = ProbeSpec("kine", f"unix:{tmp_path / 'kine.sock:2379'}", timeout=1.0)
    with pytest.raises(NotReady, match="kine at unix:"):
        await build_probe(probe)()
