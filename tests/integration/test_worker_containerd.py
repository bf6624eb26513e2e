"""Real containerd 1.6 with k0s's command line and k0spy's rendered config, under a tmp data/run/etc dir.

Covers: the version detection picks schema 2 for 1.6 and the CRI readiness ping works; why that matters
(a `version = 3` file's settings are silently ignored by 1.6, and SIGHUP kills it); a drop-in change is
applied by stop+start and visible in containerd's effective CRI config; a config without the marker is
left alone; `k0spy ctr` talks to that containerd.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from k0spy.components import containerd as c
from k0spy.paths import Paths
from k0spy.worker import grpcraw
from tests.support.cli import run_k0spy
from tests.support.worker import (
    private_worker_paths,
    start_containerd,
)

CONTAINERD = shutil.which("containerd") or "/usr/bin/containerd"
PAUSE = "example.com/k0spy/pause:3.10"

pytestmark = pytest.mark.slow


@pytest.fixture
def paths() -> Iterator[Paths]:
    with private_worker_paths("kw") as private:
        yield private


@pytest.fixture
async def component(paths: Paths) -> AsyncIterator[c.ContainerdComponent]:
    comp = c.ContainerdComponent(paths, pause_image=PAUSE, binary=CONTAINERD, debounce=0.3)
    try:
        yield comp
    finally:
        await comp.stop()


async def wait_ready(comp: c.ContainerdComponent, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await comp.ready()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def cri_config(socket: Path) -> dict[str, object]:
    info = await grpcraw.runtime_info(socket)
    config: dict[str, object] = json.loads(info["config"])
    return config


async def test_detects_16_renders_v2_and_answers_cri(component: c.ContainerdComponent, paths: Paths) -> None:
    await component.init()
    assert component.version is not None and component.version[0] == 1
    text = paths.containerd_config.read_text()
    assert text.startswith("# k0s_managed=true\n") and "\nversion = 2\n" in text
    assert paths.containerd_config.stat().st_mode & 0o777 == 0o644
    await component.start()
    await wait_ready(component)
    config = await cri_config(paths.containerd_socket)
    assert config["sandboxImage"] == PAUSE  # the rendered config is in effect
    version = await grpcraw.runtime_version(paths.containerd_socket)
    assert version.runtime_name == "containerd" and version.runtime_version.startswith("1.6")
    status = component.process.status() if component.process else None
    assert status is not None and status.argv[1:] == tuple(c.containerd_args(paths))
    done = await asyncio.to_thread(run_k0spy, ["--data-dir", str(paths.data_dir), "--run-dir",
                                               str(paths.run_dir), "ctr", "version"])
    assert done.returncode == 0, done.stderr
    assert "Server:" in done.stdout and "1.6" in done.stdout


def snapshotter_config(schema: int) -> str:
    """The rendered config plus a snapshotter setting in the same schema's CRI section."""
    base = c.render_config(schema=schema, dropin_dir=Path("/nonexistent"), pause_image=PAUSE)
    if schema == 3:
        return base + '\n[plugins."io.containerd.cri.v1.images"]\n  snapshotter = "native"\n'
    return base + '\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  snapshotter = "native"\n'


@pytest.mark.parametrize(("schema", "in_effect"), [(2, True), (3, False)])
def test_v3_settings_are_silently_ignored_by_16(paths: Paths, schema: int, in_effect: bool) -> None:
    for directory in (paths.etc_dir, paths.run_dir, paths.data_dir):
        directory.mkdir(parents=True, exist_ok=True)
    paths.containerd_config.write_text(snapshotter_config(schema))
    daemon = start_containerd([CONTAINERD, *c.containerd_args(paths)], paths.run_dir / "containerd.log",
                              paths.containerd_socket)
    try:
        config = asyncio.run(cri_config(paths.containerd_socket))
        containerd_section = config["containerd"]
        assert isinstance(containerd_section, dict)
        assert (containerd_section["snapshotter"] == "native") is in_effect
        assert (config["sandboxImage"] == PAUSE) is in_effect
        assert daemon.popen.poll() is None  # 1.6 starts with a v3 file: only the settings tell
    finally:
        daemon.stop()


def test_sighup_kills_containerd_16(paths: Paths) -> None:
    """Why `reload_action` is "restart" for 1.x: k0s's SIGHUP would take the runtime down."""
    for directory in (paths.etc_dir, paths.run_dir, paths.data_dir):
        directory.mkdir(parents=True, exist_ok=True)
    paths.containerd_config.write_text(c.render_config(schema=2, dropin_dir=paths.containerd_dropin_dir,
                                                       pause_image=PAUSE))
    daemon = start_containerd([CONTAINERD, *c.containerd_args(paths)], paths.run_dir / "containerd.log",
                              paths.containerd_socket)
    try:
        daemon.popen.send_signal(signal.SIGHUP)
        assert daemon.popen.wait(10) == -signal.SIGHUP
    finally:
        daemon.stop()
    assert c.reload_action((1, 6)) == "restart"


async def test_dropin_change_applied_by_restart(component: c.ContainerdComponent, paths: Paths) -> None:
    await component.init()
    await component.start()
    await wait_ready(component)
    assert component.process is not None
    first = component.process.status()
    assert first is not None and first.pid is not None
    dropin = paths.containerd_dropin_dir / "50-pause.toml"
    dropin.write_text('version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n'
                      '  sandbox_image = "example.com/dropin:1"\n')
    deadline = time.monotonic() + 20
    while component.reloads == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert component.reloads == 1  # one debounced burst, one reload
    await wait_ready(component)
    config = await cri_config(paths.containerd_socket)
    assert config["sandboxImage"] == "example.com/dropin:1"
    second = component.process.status()
    assert second is not None and second.pid not in (None, first.pid)  # stopped and started, not SIGHUPed


async def test_unmanaged_config_is_left_alone(component: c.ContainerdComponent, paths: Paths) -> None:
    paths.etc_dir.mkdir(parents=True)
    mine = "# my own containerd config\nversion = 2\n"
    paths.containerd_config.write_text(mine)
    await component.init()
    assert paths.containerd_config.read_text() == mine
    assert paths.containerd_dropin_dir.is_dir()


FAKE_CONTAINERD_2 = """\
import os, signal, sys, time
if "--version" in sys.argv:
    print("containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811ccaba3376")
    sys.exit(0)
state = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--state="))
os.makedirs(state, exist_ok=True)
def record(name, text):
    # write then rename, so that a reader never sees the file before its content
    with open(os.path.join(state, name + ".tmp"), "w") as out:
        out.write(text)
    os.replace(os.path.join(state, name + ".tmp"), os.path.join(state, name))
signal.signal(signal.SIGHUP, lambda s, f: record("sighup", "hup\\n"))
signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
record("handlers", "installed\\n")
while True:
    time.sleep(1)
"""


async def _wait_for_file(path: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert path.exists(), f"{path} did not appear within {timeout} s"


async def test_containerd_2_gets_v3_config_and_sighup(paths: Paths, tmp_path: Path) -> None:
    """A stand-in that reports 2.1.4 and records SIGHUPs: the v3 schema and k0s's SIGHUP path are chosen."""
    import sys

    fake = tmp_path / "containerd"
    fake.write_text(f"#!{sys.executable}\n" + FAKE_CONTAINERD_2)
    fake.chmod(0o755)
    comp = c.ContainerdComponent(paths, pause_image=PAUSE, binary=str(fake), debounce=0.2)
    try:
        await comp.init()
        assert comp.version == (2, 1)
        assert "\nversion = 3\n" in paths.containerd_config.read_text()
        await comp.start()
        assert comp.process is not None
        before = comp.process.status()
        assert before is not None and before.pid is not None
        # a SIGHUP before the stand-in's handler is installed would kill it: wait for its word
        await _wait_for_file(paths.containerd_state / "handlers")
        (paths.containerd_dropin_dir / "10-x.toml").write_text("version = 3\n")
        marker = paths.containerd_state / "sighup"
        await _wait_for_file(marker)
        assert marker.read_text() == "hup\n"
        after = comp.process.status()
        assert after is not None and after.pid == before.pid and comp.reloads == 1
    finally:
        await comp.stop()
