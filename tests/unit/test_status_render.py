"""Text renderings of the status API documents (status, components table, timeline waterfall)."""

from __future__ import annotations

from k0spy.cli.status import render_components, render_status
from k0spy.status.timeline import Timeline, render_waterfall


def test_status_text_uses_k0s_labels() -> None:
    text = render_status({"Version": "v1", "Pid": 42, "Role": "controller", "Workloads": False,
                          "SingleNode": True})
    assert text.splitlines() == ["Version: v1", "Process ID: 42", "Role: controller", "Workloads: false",
                                 "SingleNode: true"]


def test_status_text_with_workloads_shows_probe() -> None:
    text = render_status({"Workloads": True, "WorkerToAPIConnectionStatus": {"Success": False,
                                                                             "Message": "refused"}})
    assert "Kube-api probing successful: false" in text
    assert "Kube-api probing last error: refused" in text


def test_components_table() -> None:
    now = 1000.0
    rows = [
        {"name": "etcd", "state": "ready", "pid": 10, "uptime": 3725.0, "restarts": 1,
         "lastExit": "killed by SIGKILL", "backoff": None, "probe": {"ok": True, "message": "ok", "at": 995},
         "rss": 50 * 2**20, "cpuPercent": 1.25},
        {"name": "kube-apiserver", "state": "backing-off", "pid": None, "uptime": None, "restarts": 4,
         "lastExit": "exited with code 1", "backoff": 0.8, "nextRestartAt": 1000.5, "probe": None,
         "rss": None, "cpuPercent": None},
    ]
    lines = render_components(rows, now).splitlines()
    assert lines[0].split() == ["NAME", "STATE", "PID", "UPTIME", "RESTARTS", "LAST", "EXIT", "BACKOFF",
                                "PROBE", "RSS", "CPU%"]
    assert "1h2m" in lines[1] and "killed by SIGKILL" in lines[1] and "ok (5s ago)" in lines[1]
    assert "50.0Mi" in lines[1] and "1.2" in lines[1]
    assert "backing-off" in lines[2] and "0.80s (in 0.50s)" in lines[2]


def test_timeline_first_mark_wins_and_waterfall() -> None:
    t = Timeline()
    t.mark("etcd", "start")
    t.mark("etcd", "spawned")
    t.mark("etcd", "ready")
    first = t.since("etcd", "ready")
    t.mark("etcd", "ready")
    assert t.since("etcd", "ready") == first
    doc = {"components": [
        {"name": "etcd", "init": 0.0, "start": 0.0, "spawned": 0.1, "ready": 1.0},
        {"name": "kube-apiserver", "init": 0.0, "start": 1.0, "spawned": 1.2, "ready": 2.0},
        {"name": "never-ready", "init": 0.0, "start": 2.0},
    ]}
    text = render_waterfall(doc, width=20)
    lines = text.splitlines()
    assert "2.00s" in lines[0]
    bar_etcd = lines[1].split("|")[1]
    bar_api = lines[2].split("|")[1]
    assert bar_etcd.startswith("=") and "#" in bar_etcd and bar_etcd.rstrip().endswith("#")
    assert bar_api.startswith(" " * 9) and bar_api.endswith("#")
    assert lines[3].split()[3:5] == ["-", "-"]


def test_empty_timeline() -> None:
    assert render_waterfall({"components": []}) == "no components recorded\n"
