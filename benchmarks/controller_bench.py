"""Controller start-up: `k0spy controller` from exec to every component ready, cold and warm, split
into k0spy's own phases, against the floor of a shell script spawning the same children directly.

Side by side in one run, interleaved round by round so machine noise hits all three alike:
  * cold:  empty data dir (CAs, leaves, staging, then the children);
  * warm:  restart on the same data dir (leaves renewed with keys from the spare-key reserve the cold
           run refilled once it was ready, nothing re-staged);
  * floor: bash starts the same binaries with the same arguments (taken from `--dry-run` of the warm
           node), in the same order, waiting for each one's health endpoint with curl before the next.
The control plane is the offline dev bundle: real etcd 3.4 and the contract doubles. k0spy's own share is
its total minus the floor; the phases come from `k0spy status timeline -o json`.

    .venv/bin/python benchmarks/controller_bench.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.controller import PORT_NAMES, Node, build_dev_bundle, free_ports, node_config
from tests.support.pki_spare import wait_for_event


def new_node(bundle: Path) -> Node:
    root = Path(tempfile.mkdtemp(prefix="k0b", dir="/tmp"))
    root.chmod(0o755)
    ports = free_ports(PORT_NAMES)
    return Node(root, bundle, ports, node_config(ports))


def timed_start(node: Node, settle: bool = False) -> tuple[float, dict[str, float]]:
    """Exec to all ready; `settle` then lets the idle-time spare-key refill finish before the stop, as
    it would on any node that ran for more than a second (the next, warm, start spends that reserve)."""
    t0 = time.time()
    node.start()
    node.wait_ready(timeout=120)
    # The daemon's own timestamp of daemon.ready, not when the (0.2 s) log poll noticed it: the floor is
    # timed exactly too.
    ready = next(e for e in node.events() if e.get("event") == "daemon.ready")
    total = dt.datetime.fromisoformat(str(ready["timestamp"]).replace("Z", "+00:00")).timestamp() - t0
    timeline = json.loads(node.k0spy("status", "timeline", "-o", "json").stdout)
    phases = {}
    for row in timeline["components"]:
        if row["name"].startswith("k0spy:"):
            phases[row["name"][6:]] = row.get("ready", 0) - row.get("init", 0)
    first_spawn = min(row["spawned"] for row in timeline["components"] if "spawned" in row)
    phases["to first spawn"] = first_spawn
    phases["children (first spawn to ready)"] = max(
        row["ready"] for row in timeline["components"] if "ready" in row) - first_spawn
    if settle:
        wait_for_event(node, "pki.spare_refilled", timeout=60)
    node.stop()
    return total, phases


def probe_command(probe: dict[str, object]) -> str:
    kind, url = probe["kind"], str(probe["url"])
    tls = " ".join(f"--{flag} {shlex.quote(str(probe[key]))}" for flag, key in
                   (("cacert", "caFile"), ("cert", "certFile"), ("key", "keyFile")) if probe.get(key))
    if kind == "etcd":
        return f"curl -sf {tls} -X POST -d '{{\"key\":\"aGVhbHRo\"}}' {url}/v3/kv/range"
    if kind == "https-insecure":
        return f"curl -sfk {url}"
    if kind == "kine":
        return "true"
    return f"curl -sf {tls} {shlex.quote(url)}"


def floor_script(specs: list[dict[str, object]], pid_dir: Path) -> str:
    lines = ["set -e"]
    for spec in specs:
        argv = " ".join(shlex.quote(str(a)) for a in [spec["binary"], *spec["args"]])  # type: ignore[misc]
        lines.append(f"{argv} >/dev/null 2>&1 & echo $! >> {pid_dir}/pids")
        if spec.get("probe"):
            lines.append(f"until {probe_command(spec['probe'])} >/dev/null 2>&1; do sleep 0.02; done")  # type: ignore[arg-type]
    return "\n".join(lines) + "\n"


def timed_floor(node: Node) -> float:
    specs = json.loads(node.k0spy(*node.controller_args(), "--dry-run").stdout)
    script = floor_script(specs, node.root)
    (node.root / "pids").unlink(missing_ok=True)
    t0 = time.monotonic()
    subprocess.run(["bash", "-c", script], check=True, timeout=120)
    took = time.monotonic() - t0
    for pid in (node.root / "pids").read_text().split():
        subprocess.run(["kill", pid], check=False)
    time.sleep(1.5)
    return took


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="k0bb"))
    bundle = build_dev_bundle(work)
    cold: list[float] = []
    warm: list[float] = []
    floor: list[float] = []
    cold_phases: list[dict[str, float]] = []
    warm_phases: list[dict[str, float]] = []
    nodes = []
    try:
        for _ in range(args.rounds):
            node = new_node(bundle)
            nodes.append(node)
            total, phases = timed_start(node, settle=True)
            cold.append(total)
            cold_phases.append(phases)
            total, phases = timed_start(node)
            warm.append(total)
            warm_phases.append(phases)
            floor.append(timed_floor(node))
    finally:
        for node in nodes:
            node.kill_all()
            shutil.rmtree(node.root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    med = statistics.median
    print(f"rounds: {args.rounds} (medians, seconds)")
    print(f"{'':34}{'cold':>8}{'warm':>8}{'floor':>8}")
    print(f"{'exec to all ready':34}{med(cold):8.3f}{med(warm):8.3f}{med(floor):8.3f}")
    print(f"{'k0spy share (total - floor)':34}{med(cold) - med(floor):8.3f}{med(warm) - med(floor):8.3f}")
    print(f"{'ratio to floor':34}{med(cold) / med(floor):8.2f}{med(warm) / med(floor):8.2f}")
    for name in cold_phases[0]:
        print(f"  {name:32}{med(p[name] for p in cold_phases):8.3f}"
              f"{med(p[name] for p in warm_phases):8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
