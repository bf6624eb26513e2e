"""The whole rendered control plane, run: every component started in render order from its rendered
command line and files (real etcd 3.4, the contract doubles for the rest), each probe passing in turn.

This is what `k0spy controller` will do through the supervisor, minus the supervisor: it proves that the
rendered flags, files and probes fit together (the doubles reject unknown flags and invalid files).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from k0spy.components.base import Manager, NotReady
from k0spy.components.flags import ComponentSpec
from k0spy.components.probes import build_probe
from k0spy.components.render import build_component, etcd_version_of, prepare
from k0spy.fsutil import atomic_write
from k0spy.paths import Paths
from tests.support.doubles import doubles_bin  # noqa: F401  (session fixture)
from tests.support.net import free_port
from tests.support.pki import make_pki, settings
from tests.support.render import FACTS, render
from tests.support.supervisor import Capture, pidfd_child_watcher

pytestmark = pytest.mark.slow
DOUBLES = ("kube-apiserver", "kube-scheduler", "kube-controller-manager", "kine", "konnectivity-server")


def config(api_port: int, etcd_client: int, etcd_peer: int, kine_metrics: int, storage: str) -> str:
    return f"""
        spec:
          api: {{address: 127.0.0.1, port: {api_port}}}
          konnectivity: {{agentPort: {free_port()}, adminPort: {free_port()}}}
          scheduler: {{extraArgs: {{secure-port: "{free_port()}"}}}}
          controllerManager: {{extraArgs: {{secure-port: "{free_port()}"}}}}
          storage:
            type: {storage}
            etcd:
              peerAddress: 127.0.0.1
              extraArgs:
                listen-client-urls: https://127.0.0.1:{etcd_client}
                advertise-client-urls: https://127.0.0.1:{etcd_client}
                listen-peer-urls: https://127.0.0.1:{etcd_peer}
                initial-advertise-peer-urls: https://127.0.0.1:{etcd_peer}
                logger: zap
            kine:
              extraArgs: {{metrics-bind-address: "127.0.0.1:{kine_metrics}"}}
    """


class Running:
    """Started components; stopped in reverse order whatever happens."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []

    def start(self, spec: ComponentSpec) -> tuple[subprocess.Popen[bytes], Path]:
        for directory in spec.dirs:
            os.makedirs(directory.path, mode=directory.mode, exist_ok=True)
        for file in spec.files:
            atomic_write(Path(file.path), file.content.encode(), file.mode)
        log = self.paths.data_dir / f"{spec.name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([spec.binary, *spec.args], stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, cwd=self.paths.data_dir)
        self.procs.append((spec.name, proc, log))
        return proc, log

    def stop_all(self) -> None:
        while self.procs:
            _, proc, _ = self.procs.pop()
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


async def wait_ready(spec: ComponentSpec, proc: subprocess.Popen[bytes], log: Path,
                     timeout: float = 30) -> None:
    assert spec.probe is not None, spec.name
    check = build_probe(spec.probe)
    deadline = time.monotonic() + timeout
    reason = "never probed"
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{spec.name} exited: {log.read_text()[-3000:]}"
        try:
            await check()
            return
        except NotReady as err:
            reason = str(err)
        await asyncio.sleep(0.1)
    raise AssertionError(f"{spec.name} not ready after {timeout}s: {reason}\n{log.read_text()[-3000:]}")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    run_dir = tempfile.mkdtemp(prefix="k0r", dir="/tmp")  # unix socket paths must stay under 108 bytes
    paths = Paths.build(tmp_path / "data", run_dir=run_dir, etc_dir=tmp_path / "etc")
    manager = Running(paths)
    try:
        yield manager
    finally:
        manager.stop_all()
        shutil.rmtree(run_dir, ignore_errors=True)


def stage(paths: Paths, doubles: Path) -> None:
    paths.bin_dir.mkdir(parents=True, exist_ok=True)
    for name in DOUBLES:
        shutil.copy2(doubles / name, paths.bin_dir / name)
    os.symlink("/usr/bin/etcd", paths.bin_dir / "etcd")


@pytest.mark.parametrize("single", [False, True], ids=["etcd", "single-kine"])
async def test_rendered_control_plane_becomes_ready(running: Running, doubles_bin: Path,  # noqa: F811
                                                    single: bool) -> None:
    paths = running.paths
    api_port = free_port()
    stage(paths, doubles_bin)
    make_pki(paths, settings(api_port=api_port, etcd_peer_address="127.0.0.1",
                             konnectivity_enabled=not single, storage_type="kine" if single else "etcd"))
    facts = replace(FACTS, etcd_version=etcd_version_of("/usr/bin/etcd"),
                    konnectivity_health_port=free_port())
    text = config(api_port, free_port(), free_port(), free_port(), "kine" if single else "etcd")
    specs = render(text, single=single, paths=paths, facts=facts)
    expected = ["kine"] if single else ["etcd", "konnectivity"]
    assert list(specs) == [*expected, "kube-apiserver", "kube-scheduler", "kube-controller-manager"]
    for spec in specs.values():
        proc, log = running.start(spec)
        await wait_ready(spec, proc, log)
    for spec in specs.values():  # all still healthy together
        assert spec.probe is not None
        await build_probe(spec.probe)()


@pytest.fixture
def open_top() -> Iterator[Path]:
    """A short, world-traversable top dir: etcd runs as the real `etcd` user here (uid drop, gid 0)."""
    top = Path(tempfile.mkdtemp(prefix="k0m", dir="/tmp"))
    os.chmod(top, 0o755)
    try:
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def _watcher() -> Iterator[None]:
    with pidfd_child_watcher():
        yield


@pytest.mark.usefixtures("_watcher")
async def test_manager_runs_built_components_in_order_and_stops_them(
    open_top: Path, doubles_bin: Path,  # noqa: F811
) -> None:

    paths = Paths.build(open_top / "data", run_dir=open_top / "run", etc_dir=open_top / "etc")
    api_port = free_port()
    stage(paths, doubles_bin)
    os.chmod(paths.data_dir, 0o755)
    make_pki(paths, settings(api_port=api_port, etcd_peer_address="127.0.0.1"))
    facts = replace(FACTS, etcd_version=etcd_version_of("/usr/bin/etcd"),
                    konnectivity_health_port=free_port())
    specs = render(config(api_port, free_port(), free_port(), free_port(), "etcd"), paths=paths, facts=facts)
    for spec in specs.values():
        prepare(spec)
    assert Path(paths.egress_selector_config).read_text() == specs["kube-apiserver"].files[0].content
    assert paths.etcd_data_dir.stat().st_mode & 0o777 == 0o700
    components = [build_component(spec, paths, renderer=Capture().renderer) for spec in specs.values()]
    manager = Manager(list(components), ready_timeout=30)
    await manager.init()
    try:
        await manager.start()
        statuses = {c.name: c.status() for c in components}
        assert all(s is not None and s.state == "ready" for s in statuses.values()), statuses
        etcd = statuses["etcd"]
        assert etcd is not None and etcd.pid is not None
        assert os.stat(f"/proc/{etcd.pid}").st_uid == pwd.getpwnam("etcd").pw_uid
        assert (paths.etcd_data_dir / "member").stat().st_uid == pwd.getpwnam("etcd").pw_uid
        ready_order = [name for name in specs if manager.timeline.since(name, "ready") is not None]
        assert ready_order == list(specs)
    finally:
        await manager.stop()
    assert [p.name for p in paths.run_dir.glob("*.pid")] == []
