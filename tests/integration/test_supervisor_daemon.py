"""The daemon as a real process: signals, single instance, runtime config, stale children after SIGKILL."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
import yaml

from k0spy.paths import Paths
from k0spy.runtime import read_runtime_config
from tests.support.supervisor import (
    children_started,
    handles_signal,
    kill_tree,
    managed_processes,
    running_daemon,
    wait_for,
    wait_ready,
    write_spec,
)

THREE = [{"name": "a"}, {"name": "b"}, {"name": "c"}]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_sigterm_stops_in_reverse_order_and_cleans_up(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, THREE)
    with running_daemon(tmp_path, spec) as d:
        comps = wait_ready(d, ["a", "b", "c"])
        run = d.run_dir
        doc = yaml.safe_load((run / "k0s.yaml").read_text())
        assert doc["kind"] == "RuntimeConfig" and doc["spec"]["k0sVars"]["RunDir"] == str(run)
        assert oct((run / "k0s.yaml").stat().st_mode & 0o777) == "0o600"
        paths = Paths.build(spec["data_dir"], run_dir=run)
        assert read_runtime_config(paths) is not None
        pids = [comps[n]["pid"] for n in "abc"]
        assert all((run / f"{n}.pid").read_text() == f"{comps[n]['pid']}\n" for n in "abc")
        d.signal(signal.SIGTERM)
        assert d.wait() == 0
        events = d.events()
        stopped = [e["component"] for e in events if e.get("event") == "process.stopped"]
        assert stopped == ["c", "b", "a"]
        assert any(e.get("cause") == "signal received: SIGTERM" for e in events
                   if e.get("event") == "manager.stopping")
        assert all(_gone(p) for p in pids)
        assert not (run / "k0s.yaml").exists() and not (run / "status.sock").exists()
        assert not any((run / f"{n}.pid").exists() for n in "abc")
        assert (run / "k0s.yaml.lock").exists()
        assert read_runtime_config(paths) is None


def test_second_daemon_on_same_run_dir_refuses_and_touches_nothing(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, THREE)
    with running_daemon(tmp_path, spec) as d:
        wait_ready(d, ["a", "b", "c"])
        run = d.run_dir
        before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in run.iterdir() if p.is_file()}
        with running_daemon(tmp_path, spec, tag="second") as d2:
            assert d2.wait() == 1
            out = d2.log_path.read_text()
            assert "another k0spy process is still running" in out
        after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in run.iterdir() if p.is_file()}
        assert after == before
        assert d.proc.poll() is None and d.components()["a"]["state"] == "ready"


def test_sighup_is_ignored(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, THREE)
    with running_daemon(tmp_path, spec) as d:
        before = wait_ready(d, ["a", "b", "c"])
        d.signal(signal.SIGHUP)
        wait_for(lambda: any(e.get("event") == "daemon.sighup_ignored" for e in d.events()), what="log")
        time.sleep(0.3)
        assert d.proc.poll() is None
        after = d.components()
        assert {n: after[n]["pid"] for n in after} == {n: before[n]["pid"] for n in before}


def test_second_sigterm_kills_everything_at_once(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [{"name": "a", "args": ["--ignore-term"], "stop_timeout": 60},
                                 {"name": "b", "args": ["--ignore-term"], "stop_timeout": 60}])
    with running_daemon(tmp_path, spec) as d:
        comps = wait_ready(d, ["a", "b"])
        wait_for(lambda: all(handles_signal(c["pid"], signal.SIGTERM) for c in comps.values()),
                 what="children ignoring SIGTERM")
        d.signal(signal.SIGTERM)
        wait_for(lambda: any(e.get("event") == "process.stopping" for e in d.events()), what="stopping")
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        assert d.wait(20) == 0
        assert time.monotonic() - t0 < 10
        assert all(_gone(c["pid"]) for c in comps.values())
        assert not managed_processes(d.run_dir)


def test_sigkilled_daemon_is_replaced_and_stale_children_terminated(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, THREE)
    with running_daemon(tmp_path, spec) as d1:
        old = {n: c["pid"] for n, c in wait_ready(d1, ["a", "b", "c"]).items()}
        # A child writing to the dead daemon's pipe dies of SIGPIPE (as k0s's children do): kill the
        # daemon once the children have said what they had to say.
        children_started(d1, ["a", "b", "c"])
        d1.proc.kill()
        d1.wait()
        time.sleep(0.2)
        assert all(psutil.pid_exists(p) and not _gone(p) for p in old.values())  # children survived
        with running_daemon(tmp_path, spec, tag="second") as d2:
            new = {n: c["pid"] for n, c in wait_ready(d2, ["a", "b", "c"]).items()}
            assert set(new.values()).isdisjoint(old.values())
            assert all(_gone(p) for p in old.values())
            stale = [e for e in d2.events() if e.get("event") == "pidfile.stale_terminating"]
            assert sorted(e["pid"] for e in stale) == sorted(old.values())
            assert len(managed_processes(d2.run_dir)) == 3


def test_pid_file_naming_a_stranger_is_left_alone(tmp_path: Path) -> None:
    import subprocess

    spec = write_spec(tmp_path, [{"name": "a"}])
    run = Path(spec["run_dir"])
    run.mkdir(parents=True)
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        (run / "a.pid").write_text(f"{stranger.pid}\n")
        with running_daemon(tmp_path, spec) as d:
            comps = wait_ready(d, ["a"])
            assert stranger.poll() is None and comps["a"]["pid"] != stranger.pid
            assert (run / "a.pid").read_text() == f"{comps['a']['pid']}\n"
    finally:
        kill_tree([stranger.pid])
        stranger.wait()


def test_readiness_timeout_fails_the_daemon(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [{"name": "a"}, {"name": "never", "args": ["--hang"],
                                                 "ready_file": str(tmp_path / "never.ready")}],
                      ready_timeout=1.0)
    with running_daemon(tmp_path, spec) as d:
        assert d.wait(30) == 1
        events = d.events()
        assert any("never did not become ready within 1s" in str(e.get("error")) for e in events)
        assert [e["component"] for e in events if e.get("event") == "process.stopped"] == ["never", "a"]
        assert not managed_processes(d.run_dir)
        assert not (d.run_dir / "k0s.yaml").exists()


def test_environment_marker_reaches_children(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [{"name": "a"}])
    os.environ["K0S_TOKEN"] = "tok-should-not-leak"
    try:
        with running_daemon(tmp_path, spec) as d:
            pid = wait_ready(d, ["a"])["a"]["pid"]
            env = psutil.Process(pid).environ()
            assert env["_K0S_MANAGED"] == "yes" and "K0S_TOKEN" not in env
    finally:
        del os.environ["K0S_TOKEN"]


def test_sigterm_during_startup_stops_cleanly(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [{"name": "a"}, {"name": "slow", "args": ["--hang"],
                                                 "ready_file": str(tmp_path / "slow.ready")}],
                      ready_timeout=60)
    with running_daemon(tmp_path, spec) as d:
        wait_for(lambda: any(e.get("event") == "process.started" and e.get("component") == "slow"
                             for e in d.events()), what="slow spawned")
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        assert d.wait(30) == 0
        assert time.monotonic() - t0 < 10
        assert [e["component"] for e in d.events() if e.get("event") == "process.stopped"] == ["slow", "a"]
        assert not managed_processes(d.run_dir)
