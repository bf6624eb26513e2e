"""`k0spy status` against a real daemon, and the raw status API endpoints."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import yaml

from k0spy.status.client import get
from tests.support.cli import run_k0spy
from tests.support.supervisor import running_daemon, wait_for, wait_ready, write_spec


def _dirs(spec: dict[str, str]) -> list[str]:
    return ["--data-dir", spec["data_dir"], "--run-dir", spec["run_dir"]]


def test_status_commands_show_the_running_daemon(tmp_path: Path) -> None:
    ready = tmp_path / "web.ready"
    spec = write_spec(tmp_path, [
        {"name": "web", "args": ["--ready-file", str(ready), "--ready-after", "0.3"],
         "ready_file": str(ready)},
        {"name": "crashy", "args": ["--exit", "2", "--after", "0.2"],
         "backoff": {"first": 0, "initial": 2.0, "cap": 2.0, "jitter": 0}},
    ])
    with running_daemon(tmp_path, spec) as d:
        wait_ready(d, ["web"])
        wait_for(lambda: d.components()["crashy"]["state"] == "backing-off", what="crashy backing off")
        dirs = _dirs(spec)

        text = run_k0spy(["status", *dirs])
        assert text.returncode == 0, text.stderr
        lines = text.stdout.splitlines()
        assert lines[0] == "Version: v0.0.0-test" and lines[1] == f"Process ID: {d.proc.pid}"
        assert "Role: controller" in lines

        doc = json.loads(run_k0spy(["status", "-o", "json", *dirs]).stdout)
        assert {"Version", "Pid", "PPid", "Role", "SysInit", "StubFile", "Output", "Workloads", "SingleNode",
                "Args", "WorkerToAPIConnectionStatus", "ClusterConfig", "K0sVars"} <= set(doc)
        assert doc["K0sVars"]["RunDir"] == spec["run_dir"]
        assert yaml.safe_load(run_k0spy(["status", "-o", "yaml", *dirs]).stdout)["Pid"] == d.proc.pid

        table = run_k0spy(["status", "components", *dirs])
        assert table.returncode == 0, table.stderr
        rows = {line.split()[0]: line for line in table.stdout.splitlines()[1:]}
        assert " ready " in rows["web"] and "ok (" in rows["web"] and "Mi" in rows["web"]
        assert "backing-off" in rows["crashy"] and "exited with code 2" in rows["crashy"]
        assert "2.00s (in" in rows["crashy"]

        comps = {c["name"]: c for c in json.loads(run_k0spy(["status", "components", "-o", "json",
                                                              *dirs]).stdout)}
        web = comps["web"]
        assert web["pid"] and web["rss"] > 1_000_000 and web["uptime"] >= 0 and web["probe"]["ok"]
        assert comps["crashy"]["nextRestartAt"] is not None and comps["crashy"]["restarts"] >= 0
        as_yaml = run_k0spy(["status", "components", "-o", "yaml", *dirs]).stdout
        assert yaml.safe_load(as_yaml)[0]["name"] == "web"
        assert "probes" not in web and "events" not in web  # history only when asked for

        # k0s's --max-count: the last N probe results and events of each component, newest first
        recent = {c["name"]: c for c in json.loads(run_k0spy(["status", "components", "--max-count", "2",
                                                               "-o", "json", *dirs]).stdout)}
        assert 1 <= len(recent["web"]["probes"]) <= 2 and recent["web"]["probes"][0]["ok"] is True
        assert len(recent["crashy"]["events"]) == 2
        assert recent["crashy"]["events"][0] == {**recent["crashy"]["events"][0], "event": "state",
                                                 "from": "ready", "to": "backing-off"}
        exited = recent["crashy"]["events"][1]
        assert exited["event"] == "exited" and exited["how"] == "exited with code 2"
        stamps = [e["at"] for e in recent["crashy"]["events"]]
        assert stamps == sorted(stamps, reverse=True)
        history = run_k0spy(["status", "components", "--max-count", "3", *dirs])
        assert history.returncode == 0, history.stderr
        assert "\ncrashy:\n" in history.stdout and "exited with code 2" in history.stdout.split("crashy:")[1]
        assert "probe ok" in history.stdout.split("\nweb:\n")[1]
        refused = run_k0spy(["status", "components", "--max-count", "0", *dirs])
        assert refused.returncode == 2 and "--max-count" in refused.stderr

        waterfall = run_k0spy(["status", "timeline", *dirs]).stdout.splitlines()
        assert waterfall[0].startswith("component") and waterfall[1].startswith("web")
        assert "#" in waterfall[1]
        timeline = json.loads(run_k0spy(["status", "timeline", "-o", "json", *dirs]).stdout)
        web_marks = timeline["components"][0]
        assert web_marks["ready"] - web_marks["spawned"] >= 0.25

        metrics = get(d.socket, "/metrics").decode()
        for name in ('k0spy_component_up{component="web"} 1.0', 'k0spy_component_ready{component="web"} 1.0',
                     "k0spy_component_restarts_total", "k0spy_component_start_duration_seconds",
                     "k0spy_component_ready_duration_seconds", "k0spy_process_resident_memory_bytes",
                     "k0spy_process_cpu_seconds_total", "k0spy_daemon_cpu_percent"):
            assert name in metrics

        d.signal(signal.SIGTERM)
        assert d.wait() == 0
        gone = run_k0spy(["status", *dirs])
        assert gone.returncode == 1 and "k0spy is not running" in gone.stderr


def test_status_when_nothing_runs(tmp_path: Path) -> None:
    result = run_k0spy(["status", "--run-dir", str(tmp_path)])
    assert result.returncode == 1
    assert "k0spy is not running" in result.stderr
    stale = tmp_path / "status.sock"
    import socket

    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(stale))
    sock.close()  # a socket file nobody listens on: a dead daemon's
    result = run_k0spy(["status", "components", "--run-dir", str(tmp_path)])
    assert result.returncode == 1 and "k0spy is not running" in result.stderr


def test_unknown_endpoint_is_404_and_a_bad_max_count_400(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [{"name": "a"}])
    with running_daemon(tmp_path, spec) as d:
        wait_ready(d, ["a"])
        from k0spy.errors import K0spyError

        for path, code, words in (("/nope", "404", "no such endpoint"),
                                  ("/components?maxCount=abc", "400", "maxCount must be a whole number"),
                                  ("/components?maxCount=0", "400", "not '0'")):
            with pytest.raises(K0spyError) as info:
                get(d.socket, path)
            assert code in info.value.message and words in info.value.message, info.value.message


def test_status_command_stays_cheap() -> None:
    probe = run_k0spy(["status", "--help"])
    assert probe.returncode == 0
    import subprocess
    import sys

    code = ("import sys; from k0spy.cli import status; "
            "bad = [m for m in ('aiohttp', 'yaml', 'pydantic', 'cryptography', 'prometheus_client') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
