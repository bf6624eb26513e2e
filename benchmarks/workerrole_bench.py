"""Time from `k0spy worker <token>` to Node Ready, split into k0spy's phases (the start-up timeline).

    .venv/bin/python benchmarks/workerrole_bench.py [--runs 5] [--write BENCHMARKS.md]

A controller (dev bundle: real etcd, contract doubles) runs in one network namespace, each worker in
another (a bridge in a hub namespace, 10.99.<n>.0/24; all removed at the end). Each run is a fresh worker
data dir joined with a new token ("first join": staging, CSR bootstrap, profile, containerd, kubelet),
then the same worker restarted without the token after its Node was deleted ("restart": binaries
staged, kubelet.conf present, the Node registered again).
Ready is polled every 50 ms through `kubectl get node` on the controller. The phases come from the
worker's own timeline (`k0spy status timeline -o json`); "process start" is from exec to the daemon's
timeline origin (interpreter, imports, CLI, pre-flight checks).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from tests.support.controller import PORT_NAMES, build_dev_bundle, free_ports, node_config  # noqa: E402
from tests.support.worker import remove_new_shim_sockets, shim_sockets  # noqa: E402
from tests.support.workerrole import Lab, NsNode, WorkerNode, ip  # noqa: E402

MARK_START, MARK_END = "<!-- workerrole_bench:start -->", "<!-- workerrole_bench:end -->"
PHASES = [("staging", "k0spy:staging"), ("bootstrap (CSR)", "k0spy:bootstrap"),
          ("profile", "k0spy:profile"), ("kernel set-up", "k0spy:kernel"), ("containerd", "containerd"),
          ("ocibundle", "ocibundle"), ("kubelet (render, spawn, /healthz)", "kubelet")]


def node_ready(controller: NsNode, name: str) -> bool:
    got = controller.k0spy("kubectl", "get", "node", name, "-o", "json", timeout=20)
    if got.returncode != 0:
        return False
    conditions = json.loads(got.stdout).get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def phase_times(worker: WorkerNode) -> dict[str, float]:
    """Phase name -> seconds (init/start to ready), from the worker's timeline."""
    got = subprocess.run(worker.argv("status", "timeline", "-o", "json"), capture_output=True, text=True,
                         env=worker.env(), check=True, timeout=20)
    doc = json.loads(got.stdout)
    rows = {row["name"]: row for row in doc["components"]}
    out = {"_origin": float(doc["startedAt"])}
    for label, name in PHASES:
        row = rows.get(name, {})
        begin = row.get("start", row.get("init"))
        if begin is not None and row.get("ready") is not None:
            out[label] = row["ready"] - begin
    return out


def one_start(controller: NsNode, worker: WorkerNode, name: str, *args: str) -> dict[str, float]:
    t0 = time.time()
    worker.start(*args, f"--kubelet-extra-args=--hostname-override={name}")
    while not node_ready(controller, name):
        if worker.proc is not None and worker.proc.poll() is not None:
            raise SystemExit(f"worker exited:\n{worker.tail()}")
        time.sleep(0.05)
    total = time.time() - t0
    phases = phase_times(worker)
    phases["process start"] = phases.pop("_origin") - t0
    phases["total"] = total
    worker.stop()
    return phases


def run(runs: int, bundle: Path) -> dict[str, list[dict[str, float]]]:
    lab = Lab(prefix="wb" + secrets.token_hex(3), net=secrets.randbelow(200) + 20)
    shims = shim_sockets()
    root = Path(tempfile.mkdtemp(prefix="k0b", dir="/tmp"))
    root.chmod(0o755)
    results: dict[str, list[dict[str, float]]] = {"first join": [], "restart": []}
    controller: NsNode | None = None
    try:
        ip("netns", "add", lab.hub)
        lab.namespaces.append(lab.hub)
        ip("-n", lab.hub, "link", "add", "br0", "type", "bridge")
        ip("-n", lab.hub, "link", "set", "br0", "up")
        cp_ns, address = lab.add("cp", 1)
        ports = free_ports(PORT_NAMES)
        (root / "cp").mkdir()
        config = node_config(ports, extra={"api": {"address": address}})
        controller = NsNode(root / "cp", bundle, ports, config)
        controller.ns = cp_ns
        controller.start()
        controller.wait_ready(timeout=120)
        w_ns, _ = lab.add("w", 2)
        for i in range(runs):
            token = controller.k0spy("token", "create", "--role", "worker").stdout.strip()
            worker_root = root / f"w{i}"
            worker_root.mkdir()
            worker = WorkerNode(worker_root, bundle, w_ns)
            name = f"bench-{i}"
            results["first join"].append(one_start(controller, worker, name, token))
            controller.k0spy("kubectl", "delete", "node", name)  # the restart must register it again
            results["restart"].append(one_start(controller, worker, name))
            print(f"run {i}: first join {results['first join'][-1]['total']:.2f} s, "
                  f"restart {results['restart'][-1]['total']:.2f} s", file=sys.stderr)
    finally:
        if controller is not None:
            controller.kill_all()
        lab.delete()
        remove_new_shim_sockets(shims)
        shutil.rmtree(root, ignore_errors=True)
    return results


def section(results: dict[str, list[dict[str, float]]]) -> str:
    labels = ["process start", *(label for label, _ in PHASES), "total"]
    lines = [MARK_START,
             "## Worker join: `k0spy worker <token>` to Node Ready (benchmarks/workerrole_bench.py)",
             "", f"Python {platform.python_version()}, {os.cpu_count()} CPUs; controller (dev bundle: etcd "
             "3.4 + doubles) and worker in two network namespaces; containerd 1.6 (Debian) and runc real, "
             "kubelet the contract double. Medians of "
             f"{len(results['first join'])} runs; seconds. Phases overlap where k0spy runs them "
             "concurrently (staging with bootstrap+profile), so they do not add up to the total; the rest "
             "of the total is the kubelet double registering its Node and the 50 ms Ready poll.", "",
             "| Phase | first join | restart (no token) |", "|---|---:|---:|"]
    for label in labels:
        cells = []
        for kind in ("first join", "restart"):
            values = [r[label] for r in results[kind] if label in r]
            cells.append(f"{statistics.median(values):.3f}" if values else "-")
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    lines += ["", MARK_END]
    return "\n".join(lines)


def write_section(target: Path, text: str) -> None:
    current = target.read_text() if target.exists() else "# Benchmarks\n"
    if MARK_START in current:
        head, rest = current.split(MARK_START, 1)
        current = head + text + rest.split(MARK_END, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + text + "\n"
    target.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", metavar="FILE", help="replace (or append) this benchmark's section")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="k0spy-wrbench-"))
    try:
        text = section(run(args.runs, build_dev_bundle(out)))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(text)
    if args.write:
        write_section(Path(args.write), text)


if __name__ == "__main__":
    main()
