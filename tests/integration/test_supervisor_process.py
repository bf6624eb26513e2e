"""One supervised child, for real: spawn, environment, output, restarts with backoff, stopping."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psutil
import pytest

from k0spy.errors import K0spyError
from k0spy.paths import Paths
from k0spy.supervisor.backoff import BackoffPolicy
from k0spy.supervisor.process import SupervisedProcess
from k0spy.supervisor.state import ProcessState
from tests.support.supervisor import (
    Capture,
    all_gone,
    captured_events,
    pidfd_child_watcher,
    pingpong_spec,
    until,
)


@pytest.fixture(autouse=True)
def _watcher() -> Iterator[None]:
    with pidfd_child_watcher():
        yield


@pytest.fixture
async def procs() -> AsyncIterator[list[SupervisedProcess]]:
    started: list[SupervisedProcess] = []
    try:
        yield started
    finally:
        for p in started:
            await p.stop()


async def test_spawn_env_cwd_session_pidfile(paths: Paths, procs: list[SupervisedProcess]) -> None:
    cap = Capture()
    env = {"PATH": "/usr/bin", "K0S_TOKEN": "s3cret", "PING_FOO": "bar", "HOME": "/root"}
    p = SupervisedProcess(pingpong_spec(paths, "ping", "--print-env", environ=env), cap.renderer)
    procs.append(p)
    await p.start()
    pid = p.pid
    assert pid is not None
    assert paths.pid_file("ping").read_text() == f"{pid}\n"
    assert oct(paths.pid_file("ping").stat().st_mode & 0o777) == "0o644"
    assert os.getsid(pid) == pid and os.getpgid(pid) == pid
    assert psutil.Process(pid).cwd() == str(paths.data_dir)
    child_env = json.loads(await until(lambda: next((e for e in cap.events() if e.startswith("{")), None)))
    assert next(iter(child_env)) == "_K0S_MANAGED"
    assert child_env["PATH"] == f"{paths.bin_dir}:/usr/bin"
    assert child_env["FOO"] == "bar" and "K0S_TOKEN" not in child_env
    assert "s3cret" not in psutil.Process(pid).environ().values()
    assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
    await p.stop()
    assert not paths.pid_file("ping").exists()
    assert p.state is ProcessState.STOPPED
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


async def test_stdin_bytes_reach_the_child(paths: Paths, procs: list[SupervisedProcess]) -> None:
    cap = Capture()
    p = SupervisedProcess(pingpong_spec(paths, "api", "--print-stdin", stdin=b"kind: RuntimeConfig"),
                          cap.renderer)
    procs.append(p)
    await p.start()
    await until(lambda: "kind: RuntimeConfig" in cap.events(), what="stdin echoed")


async def test_first_exec_failure_is_an_error(paths: Paths) -> None:
    spec = pingpong_spec(paths, "nope")
    spec = type(spec)(**{**spec.__dict__, "argv": (str(paths.data_dir / "missing-binary"),)})
    p = SupervisedProcess(spec, Capture().renderer)
    with pytest.raises(K0spyError, match="cannot execute"):
        await p.start()
    assert p.state is ProcessState.FAILED
    await p.stop()
    assert p.state is ProcessState.STOPPED


async def test_crash_loop_backs_off_then_resets(tmp_path: Path, paths: Paths,
                                                procs: list[SupervisedProcess]) -> None:
    after = tmp_path / "after"
    after.write_text("0")
    policy = BackoffPolicy(first=0.0, initial=0.05, factor=2, cap=0.4, jitter=0, reset_after=0.5)
    with captured_events() as events:
        p = SupervisedProcess(pingpong_spec(paths, "crashy", "--exit", "3", "--after-file", str(after),
                                            backoff=policy), Capture().renderer)
        procs.append(p)

        def delays() -> list[float]:
            return [e["delay"] for e in events if e["event"] == "process.state" and e["new"] == "backing-off"]

        await p.start()
        await until(lambda: len(delays()) >= 6, timeout=20, what="six backoffs")
        assert delays()[:6] == [0.0, 0.05, 0.1, 0.2, 0.4, 0.4]  # immediate, doubling, capped
        exits = [e for e in events if e["event"] == "process.exited"]
        assert exits[0]["exit_code"] == 3 and exits[0]["how"] == "exited with code 3"
        # The status shows the current backoff and the next restart time while backing off.
        snap = await until(lambda: (s := p.status()).state == "backing-off" and s.backoff and s,
                           interval=0.002)
        assert snap.backoff == 0.4 and snap.next_restart_at is not None and snap.pid is None
        # Now the child stays up longer than reset_after before crashing: the backoff starts over.
        after.write_text("0.7")
        count = len(delays())
        await until(lambda: len(delays()) >= count + 3, timeout=20, what="long-lived restarts")
        assert delays()[-2:] == [0.0, 0.0]


async def test_crash_loop_does_not_spin(paths: Paths, procs: list[SupervisedProcess]) -> None:
    policy = BackoffPolicy(first=0.0, initial=0.05, factor=2, cap=0.3, jitter=0.1, reset_after=10)
    p = SupervisedProcess(pingpong_spec(paths, "crashy", "--exit", "1", backoff=policy), Capture().renderer)
    procs.append(p)
    before = psutil.Process().cpu_times()
    t0 = time.monotonic()
    await p.start()
    await asyncio.sleep(3)
    spent = sum(psutil.Process().cpu_times()[:2]) - sum(before[:2])
    elapsed = time.monotonic() - t0
    assert p.restarts <= elapsed / 0.27 + 6  # bounded by the cap, not by how fast it can spawn
    assert spent / elapsed < 0.5  # the supervisor is mostly asleep


async def test_child_ignoring_sigterm_is_killed_after_timeout(paths: Paths) -> None:
    cap = Capture()
    spec = pingpong_spec(paths, "stubborn", "--ignore-term", "--grandchild", stop_timeout=0.7)
    p = SupervisedProcess(spec, cap.renderer)
    await p.start()
    pid = p.pid
    assert pid is not None
    await until(lambda: "grandchild started" in cap.events(), what="grandchild")
    grandchildren = psutil.Process(pid).children()
    assert grandchildren
    t0 = time.monotonic()
    await p.stop()
    elapsed = time.monotonic() - t0
    assert 0.6 <= elapsed < 5
    assert p.last_exit == "killed by SIGKILL"
    # SIGKILL to the group is delivered at once but a grandchild takes a moment to die on a busy machine.
    await until(lambda: all_gone(grandchildren), what="grandchild killed")
    await p.stop()  # idempotent


async def test_unexpected_exit_kills_orphaned_grandchildren(paths: Paths,
                                                            procs: list[SupervisedProcess]) -> None:
    cap = Capture()
    with captured_events() as events:
        p = SupervisedProcess(pingpong_spec(paths, "parent", "--grandchild"), cap.renderer)
        procs.append(p)
        await p.start()
        await until(lambda: "grandchild started" in cap.events(), what="grandchild")
        pid = p.pid
        assert pid is not None
        gcs = psutil.Process(pid).children()
        os.kill(pid, 9)
        await until(lambda: p.restarts == 1 and p.pid not in (None, pid), what="respawn")
        assert p.last_exit == "killed by SIGKILL"
        await until(lambda: all_gone(gcs), what="grandchild killed")
        # The immediate restart reports the exit after the spawn, yet the log still reads in order, and
        # the pid file names the new child (the old one's removal must not remove the new one's).
        wanted = ("process.exited", "process.started")
        lines = [(e["event"], e.get("pid")) for e in events if e["event"] in wanted]
        assert lines == [("process.started", pid), ("process.exited", pid), ("process.started", p.pid)]
        assert p.spec.pid_file.read_text() == f"{p.pid}\n"


async def test_flood_is_forwarded_completely_and_never_blocks(paths: Paths,
                                                              procs: list[SupervisedProcess]) -> None:
    cap = Capture()
    p = SupervisedProcess(pingpong_spec(paths, "flood", "--flood", "200000"), cap.renderer)
    procs.append(p)
    await p.start()
    await until(lambda: cap.renderer.lines_written >= 200001, timeout=60, interval=0.05, what="all lines")
    events = cap.events()
    numbered = [e for e in events if e.startswith("line ")]
    assert numbered == [f"line {i}" for i in range(200000)]
    assert p.state is ProcessState.READY and p.restarts == 0


async def test_one_megabyte_line_is_chunked(paths: Paths, procs: list[SupervisedProcess]) -> None:
    cap = Capture()
    p = SupervisedProcess(pingpong_spec(paths, "big", "--big-line", str(1 << 20)), cap.renderer)
    procs.append(p)
    await p.start()
    await until(lambda: "pingpong started" in cap.events(), timeout=20, what="line after the big one")
    chunks = [r for r in cap.records() if r.get("chunk")]
    assert [c["chunk"] for c in chunks] == list(range(1, len(chunks) + 1))
    assert all(len(c["event"].encode()) <= 16384 for c in chunks)
    assert sum(len(c["event"].encode()) for c in chunks) == 1 << 20
    assert "\ufffd" not in "".join(c["event"] for c in chunks)


async def test_kill_stops_at_once(paths: Paths) -> None:
    p = SupervisedProcess(pingpong_spec(paths, "stubborn", "--ignore-term", stop_timeout=30),
                          Capture().renderer)
    await p.start()
    t0 = time.monotonic()
    p.kill()
    await p.stop()
    assert time.monotonic() - t0 < 5
    assert p.state is ProcessState.STOPPED and p.pid is None


async def test_cancelling_the_supervising_task_stops_the_child(paths: Paths) -> None:
    p = SupervisedProcess(pingpong_spec(paths, "c", stop_timeout=2), Capture().renderer)
    await p.start()
    pid = p.pid
    assert pid is not None and p._task is not None
    p._task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await p._task
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    await p.stop()


class StoppedAtBackoff(SupervisedProcess):
    """A stop that lands in the instant between a child's exit and its immediate respawn."""

    def _set(self, new: ProcessState, **fields: object) -> None:
        super()._set(new, **fields)
        if new is ProcessState.BACKOFF and self._stop is not None:
            self._stop.set()


async def test_a_stop_between_exit_and_immediate_respawn_still_reports_the_exit(paths: Paths) -> None:
    """The exit of a child respawned at once is reported after the respawn; a stop in between used to
    drop it: no log line, a stale pid file, and the child's transport left open."""
    import gc

    cap = Capture()
    spec = pingpong_spec(paths, "quitter", "--exit", "3",
                         backoff=BackoffPolicy(first=0.0, initial=1.0, cap=1.0, jitter=0))
    with captured_events() as events:
        process = StoppedAtBackoff(spec, cap.renderer)
        await process.start()
        await until(lambda: process.state is ProcessState.STOPPED, what="the stop")
        await process.stop()
    exits = [e for e in events if e["event"] == "process.exited"]
    assert len(exits) == 1 and exits[0]["how"] == "exited with code 3"
    assert process.spawns == 1 and not spec.pid_file.exists()
    gc.collect()  # an unclosed transport would surface here as a ResourceWarning (an error in this suite)
