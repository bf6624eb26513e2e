"""Probe and event history for `status components --max-count`: bounded, newest first, rendered."""

from __future__ import annotations

import time

from k0spy.cli.status import render_history
from k0spy.supervisor.history import KEPT, History


def test_latest_is_newest_first_capped_and_bounded() -> None:
    history = History()
    for i in range(KEPT + 5):
        history.probe(i % 2 == 0, f"m{i}", float(i))
        history.event(float(i), "state", **{"from": "running", "to": "ready"}, reason=None)
    latest = history.latest(3)
    assert [p["message"] for p in latest["probes"]] == [f"m{KEPT + 4}", f"m{KEPT + 3}", f"m{KEPT + 2}"]
    assert latest["events"][0] == {"at": float(KEPT + 4), "event": "state", "from": "running", "to": "ready"}
    everything = history.latest(1000)  # more than is kept: what is kept
    assert len(everything["probes"]) == KEPT and everything["probes"][-1]["message"] == "m5"
    assert history.latest(0) == {"probes": [], "events": []}


def test_render_history_merges_probes_and_events_by_time() -> None:
    now = time.time()
    rows = [
        {"name": "kube-apiserver",
         "probes": [{"at": now, "ok": True, "message": ""},
                    {"at": now - 20, "ok": False, "message": "connection refused"}],
         "events": [{"at": now - 10, "event": "state", "from": "running", "to": "ready"},
                    {"at": now - 30, "event": "exited", "pid": 42, "how": "killed by SIGKILL"},
                    {"at": now - 29, "event": "state", "from": "ready", "to": "backing-off", "delay": 0.1}]},
        {"name": "worker-config"},  # no process of its own: no section
    ]
    lines = render_history(rows).splitlines()
    assert lines[:2] == ["", "kube-apiserver:"]
    assert [line.split("  ", 2)[2] for line in lines[2:]] == [
        "probe ok", "running -> ready", "probe failed: connection refused",
        "ready -> backing-off (delay=0.1)", "pid 42 killed by SIGKILL"]
    assert "worker-config" not in render_history(rows)
