"""The Manager and ProcessComponent: concurrent init, ordered start with readiness, reverse stop."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from k0spy.components.base import ComponentError, Manager, NotReady, TaskComponent
from k0spy.components.process import ProcessComponent
from k0spy.paths import Paths
from k0spy.status.timeline import Timeline
from tests.support.supervisor import PINGPONG, Capture, captured_events, file_probe, pidfd_child_watcher


@pytest.fixture(autouse=True)
def _watcher() -> Iterator[None]:
    with pidfd_child_watcher():
        yield


class Fake:
    """A component that records what happened to it."""

    def __init__(self, name: str, log: list[str], *, init_delay: float = 0.0, fail: str | None = None,
                 ready_after: int = 0) -> None:
        self.name, self.log, self.init_delay, self.fail = name, log, init_delay, fail
        self.ready_polls, self.ready_after = 0, ready_after

    async def init(self) -> None:
        self.log.append(f"init:{self.name}")
        await asyncio.sleep(self.init_delay)
        if self.fail == "init":
            raise RuntimeError("boom")
        self.log.append(f"inited:{self.name}")

    async def start(self) -> None:
        self.log.append(f"start:{self.name}")
        if self.fail == "start":
            raise RuntimeError("cannot start")

    async def ready(self) -> None:
        self.ready_polls += 1
        if self.ready_polls <= self.ready_after:
            raise NotReady(f"poll {self.ready_polls}")

    async def stop(self) -> None:
        self.log.append(f"stop:{self.name}")
        if self.fail == "stop":
            raise RuntimeError("stuck")


async def test_init_concurrent_start_in_order_stop_in_reverse() -> None:
    log: list[str] = []
    comps = [Fake(n, log, init_delay=0.3, ready_after=2) for n in ("a", "b", "c")]
    m = Manager(list(comps), timeline=Timeline())
    await m.init()
    # concurrent: every init was entered before any of them finished (no wall-clock bound to flake)
    assert [e.split(":")[0] for e in log] == ["init"] * 3 + ["inited"] * 3
    await m.start()
    assert [e for e in log if e.startswith("start")] == ["start:a", "start:b", "start:c"]
    assert all(c.ready_polls == 3 for c in comps)  # polled until ready
    await m.stop("signal received: SIGTERM")
    assert [e for e in log if e.startswith("stop")] == ["stop:c", "stop:b", "stop:a"]
    marks = m.timeline.to_json()["components"]
    assert [r["name"] for r in marks] == ["a", "b", "c"]
    assert marks[0]["ready"] <= marks[1]["start"] <= marks[1]["ready"] <= marks[2]["start"]


async def test_init_failure_aborts_before_anything_starts() -> None:
    log: list[str] = []
    m = Manager([Fake("a", log), Fake("b", log, fail="init")])
    with pytest.raises(ComponentError, match="initialising b: boom"):
        await m.init()
    assert not any(e.startswith("start") for e in log)


async def test_start_failure_stops_what_was_started() -> None:
    log: list[str] = []
    m = Manager([Fake("a", log), Fake("b", log), Fake("c", log, fail="start"), Fake("d", log)])
    await m.init()
    with pytest.raises(ComponentError, match="starting c: cannot start"):
        await m.start()
    assert [e for e in log if e.startswith(("start", "stop"))] == [
        "start:a", "start:b", "start:c", "stop:c", "stop:b", "stop:a"]


async def test_readiness_timeout_stops_everything() -> None:
    log: list[str] = []
    m = Manager([Fake("a", log), Fake("slow", log, ready_after=10_000)], ready_timeout=0.5)
    await m.init()
    t0 = time.monotonic()
    with pytest.raises(ComponentError, match=r"slow did not become ready within 0.5s: poll"):
        await m.start()
    assert 0.4 < time.monotonic() - t0 < 3
    assert log[-2:] == ["stop:slow", "stop:a"]


class Background(Fake):
    """Waited for alongside the components after it (as the join API is)."""

    ready_in_background = True


async def test_background_readiness_overlaps_the_next_components() -> None:
    log: list[str] = []
    timeline = Timeline()
    m = Manager([Fake("a", log), Background("api", log, ready_after=5), Fake("b", log)], timeline=timeline)
    await m.init()
    await m.start()
    marks = {row["name"]: row for row in timeline.to_json()["components"]}
    # b started (and became ready) before api was ready; start() returned only once api was ready too.
    assert marks["b"]["start"] < marks["api"]["ready"]
    assert all("ready" in marks[name] for name in ("a", "api", "b"))
    assert log[-3:] == ["start:a", "start:api", "start:b"]


async def test_background_readiness_timeout_fails_the_start_and_stops_everything() -> None:
    log: list[str] = []
    m = Manager([Fake("a", log), Background("api", log, ready_after=10_000), Fake("b", log)],
                ready_timeout=0.5)
    await m.init()
    with pytest.raises(ComponentError, match=r"api did not become ready within 0.5s"):
        await m.start()
    assert log[-3:] == ["stop:b", "stop:api", "stop:a"]


async def test_background_failure_fails_the_start_before_later_ones_are_waited_for() -> None:
    log: list[str] = []
    m = Manager([Background("api", log, ready_after=10_000), Fake("slow", log, ready_after=10_000)],
                ready_timeout=0.3)
    await m.init()
    t0 = time.monotonic()
    with pytest.raises(ComponentError, match=r"(api|slow) did not become ready"):
        await m.start()
    assert time.monotonic() - t0 < 3
    assert log[-2:] == ["stop:slow", "stop:api"]


async def test_stop_collects_every_failure() -> None:
    log: list[str] = []
    m = Manager([Fake("a", log, fail="stop"), Fake("b", log), Fake("c", log, fail="stop")])
    await m.init()
    await m.start()
    with pytest.raises(ComponentError, match="c: stuck; a: stuck"):
        await m.stop()
    assert [e for e in log if e.startswith("stop")] == ["stop:c", "stop:b", "stop:a"]


async def test_process_components_with_probe(tmp_path: Path, paths: Paths) -> None:
    paths.data_dir.mkdir(parents=True)
    ready = tmp_path / "a.ready"
    cap = Capture()
    a = ProcessComponent("a", sys.executable, [PINGPONG, "--ready-file", str(ready), "--ready-after", "0.4"],
                         paths, probe=file_probe(ready), renderer=cap.renderer, probe_interval=0.1)
    b = ProcessComponent("b", sys.executable, [PINGPONG], paths, renderer=cap.renderer)
    m = Manager([a, b])
    await m.init()
    try:
        await m.start()
        sa, sb = a.status(), b.status()
        assert sa is not None and sb is not None
        assert sa.state == "ready" and sa.probe_ok and sb.state == "ready"
        assert m.timeline.since("a", "ready") is not None
        assert (m.timeline.since("a", "ready") or 0) - (m.timeline.since("a", "spawned") or 0) >= 0.3
        # a restarted child is "running" until its probe passes again, then "ready"
        ready.unlink()
        assert sa.pid is not None
        os.kill(sa.pid, 9)
        deadline = time.monotonic() + 10
        states = set()
        while time.monotonic() < deadline:
            s = a.status()
            assert s is not None
            states.add(s.state)
            if s.restarts == 1 and s.state == "ready":
                break
            await asyncio.sleep(0.02)
        assert "running" in states and a.status().state == "ready"  # type: ignore[union-attr]
    finally:
        await m.stop()
    assert a.status().state == "stopped"  # type: ignore[union-attr]


async def test_missing_binary_fails_init(paths: Paths) -> None:
    c = ProcessComponent("x", paths.bin_dir / "nothing", [], paths)
    with pytest.raises(Exception, match="missing or not executable"):
        await c.init()


async def test_uid_dropped_to_system_user_with_gid_0() -> None:
    assert os.geteuid() == 0, "the test suite runs as root"
    sleep = shutil.which("sleep")
    assert sleep is not None
    user = pwd.getpwnam("nobody")
    top = Path(tempfile.mkdtemp(prefix="k0spy-uid-"))
    try:
        os.chmod(top, 0o755)
        paths = Paths.build(top / "data", run_dir=top / "run", etc_dir=top / "etc")
        paths.data_dir.mkdir(mode=0o755)
        paths.run_dir.mkdir()
        c = ProcessComponent("etcd", sleep, ["60"], paths, user="nobody",
                             renderer=Capture().renderer)
        await c.init()
        await c.start()
        try:
            s = c.status()
            assert s is not None and s.pid is not None
            proc = psutil.Process(s.pid)
            assert proc.uids().real == user.pw_uid and proc.uids().effective == user.pw_uid
            assert proc.gids().real == 0
            groups = [line for line in Path(f"/proc/{s.pid}/status").read_text().splitlines()
                      if line.startswith("Groups:")]
            assert groups == ["Groups:"] or groups[0].split() == ["Groups:"]
        finally:
            await c.stop()
        missing = ProcessComponent("x", sleep, ["60"], paths,
                                   user="no-such-user-k0spy", renderer=Capture().renderer)
        await missing.init()
        assert missing.process is not None and missing.process.spec.uid is None
    finally:
        shutil.rmtree(top)


class SlowCleanup(TaskComponent):
    """A loop whose cleanup, once cancelled, would wait a minute (a TLS peer that never answers)."""

    name = "slow-cleanup"
    stop_grace = 0.2

    def __init__(self) -> None:
        self.cleanup_cut_short = False

    async def run(self) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                self.cleanup_cut_short = True
                raise


async def test_a_task_component_whose_cleanup_hangs_does_not_hang_the_stop() -> None:
    component = SlowCleanup()
    with captured_events() as events:
        await component.start()
        await component.ready()
        await asyncio.sleep(0)
        await component.stop()
    assert component.cleanup_cut_short and component._task is None
    with pytest.raises(NotReady, match="slow-cleanup is not running"):
        await component.ready()
    assert [e["event"] for e in events if e["event"] == "component.stop_slow"] == ["component.stop_slow"]
